"""The zoomed-in detail grid: where it goes and at which resolution for a map view, that its segment ids are
the native ones, that it reads only a window of the segmentation, how it is kept across map moves, and the
debouncing of map events; on a synthetic 2000 x 2000 px segmentation whose answer is known, and the real crop."""

from __future__ import annotations

import asyncio
import math
import threading

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.warp import Resampling, reproject

import s2label
from s2label.display import mercator
from s2label.display.detail import (
    EARTH_CIRCUMFERENCE,
    Debouncer,
    DetailTracker,
    MapView,
    detail_grid,
    detail_spec,
    screen_pixel_size,
    visible_bounds,
)
from s2label.display.imagery import band_limits, render_bands
from s2label.display.locate import SegmentLocator
from s2label.display.mercator import DisplayGrid, GridSpec, display_grid, mercator_frame
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation

UTM = CRS.from_epsg(32633)
ORIGIN = Affine(10, 0, 300000, 0, -10, 4000000)   # 36 degrees north, the UTM grid rotated ~1.5 degrees
SIZE = 2000
BLOCK = 10
_TO_LONLAT = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
_TO_MERC = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


@pytest.fixture(scope="module")
def blocks() -> Segmentation:
    """2000 x 2000 px at 10 m, 40,000 segments of 10 x 10 px numbered row by row."""
    r, c = np.mgrid[0:SIZE, 0:SIZE]
    return Segmentation(((r // BLOCK) * (SIZE // BLOCK) + c // BLOCK + 1).astype(np.int32), ORIGIN, UTM)


@pytest.fixture(scope="module")
def overview(blocks: Segmentation) -> DisplayGrid:
    """About 8 data pixels per display pixel."""
    return display_grid(blocks, max_size=250)


def zoom_for_pixel(pixel_size: float) -> float:
    """The (fractional) Leaflet zoom whose screen pixel is ``pixel_size`` Web-Mercator metres."""
    return math.log2(EARTH_CIRCUMFERENCE / (256 * pixel_size))


def view_of(frame: GridSpec, fx: tuple[float, float], fy: tuple[float, float], zoom: float) -> MapView:
    """The view of fractions ``fx`` (west to east) and ``fy`` (north to south) of the frame's Mercator extent."""
    left, bottom, right, top = frame.mercator_bounds
    xs = [left + f * (right - left) for f in fx]
    ys = [top - f * (top - bottom) for f in fy]
    (west, east), (north, south) = _TO_LONLAT.transform(xs, ys)
    return MapView(south, west, north, east, zoom)


def run_in_new_loop(main):
    """``asyncio.run(main())`` in a thread of its own (Playwright's sync API may be running a loop in this one)."""
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("result", asyncio.run(main())))
    thread.start()
    thread.join(timeout=60)
    return out["result"]


def leaflet_pixel_lonlat(grid: DisplayGrid) -> tuple[np.ndarray, np.ndarray]:
    """Where Leaflet puts each pixel centre of an overlay: a linear stretch in Web Mercator between its bounds."""
    (south, west), (north, east) = grid.bounds
    (x0, x1), (y0, y1) = _TO_MERC.transform([west, east], [north, south])
    h, w = grid.shape
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    lon, lat = _TO_LONLAT.transform(x0 + cols * (x1 - x0) / w, y0 + rows * (y1 - y0) / h)
    return np.asarray(lon), np.asarray(lat)


def assert_native_ids(grid: DisplayGrid, seg: Segmentation) -> None:
    """Each detail pixel, placed where Leaflet draws it, holds the native segment under its centre (but where
    the pixel straddles a segment edge)."""
    lon, lat = leaflet_pixel_lonlat(grid)
    truth = SegmentLocator(seg).locate_many(lat.ravel(), lon.ravel()).reshape(grid.shape)
    agree = truth == grid.segment_ids
    assert agree.mean() > 0.98, agree.mean()
    for r, c in zip(*np.nonzero(~agree), strict=True):
        assert len(np.unique(truth[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2])) > 1


# --- the view ------------------------------------------------------------------------------------------

def test_screen_pixel_size_is_leaflets() -> None:
    assert screen_pixel_size(0) * 256 == pytest.approx(40075016.686, abs=1e-3)   # the equator, 256 px
    assert screen_pixel_size(14) == pytest.approx(9.554628535647032, rel=1e-12)
    assert screen_pixel_size(13.5) / screen_pixel_size(14) == pytest.approx(math.sqrt(2), rel=1e-12)
    assert zoom_for_pixel(screen_pixel_size(12.3)) == pytest.approx(12.3, abs=1e-12)


def test_map_view_from_leaflet() -> None:
    view = MapView.from_leaflet(((36.0, 12.0), (36.1, 12.2)), 13)
    assert view == MapView(36.0, 12.0, 36.1, 12.2, 13.0)
    left, bottom, right, top = view.mercator_bounds
    assert right - left == pytest.approx(0.2 / 360 * EARTH_CIRCUMFERENCE, rel=1e-9)
    assert bottom == pytest.approx(_TO_MERC.transform(12.0, 36.0)[1], abs=1e-6)
    # what ipyleaflet reports before the map is drawn: no view
    for bounds, zoom in [((), 4), (((0.0, 0.0), (0.0, 0.0)), 4), (((36.0, 12.0), (36.1, 12.2)), None),
                         (((36.0, 12.0), (36.1, float("nan"))), 4)]:
        assert MapView.from_leaflet(bounds, zoom) is None
    with pytest.raises(ValueError, match="south < north"):
        MapView(36.1, 12.0, 36.0, 12.2, 13)


# --- where the detail goes -------------------------------------------------------------------------

def test_quarter_view_four_times_finer_than_the_overview(blocks: Segmentation, overview: DisplayGrid) -> None:
    frame = mercator_frame(blocks)
    assert overview.pixel_size / frame.pixel_size == pytest.approx(8.19, abs=0.01)
    zoom = zoom_for_pixel(overview.pixel_size / 4)              # the overview is 4x too coarse for the screen
    view = view_of(frame, (0.1, 0.6), (0.1, 0.6), zoom)         # a quarter of the scene (half by half)
    spec = detail_spec(frame, view, overview_pixel_size=overview.pixel_size, margin=0.2)
    assert spec is not None
    assert spec.pixel_size == pytest.approx(screen_pixel_size(zoom), rel=1e-9)
    assert spec.pixel_size == pytest.approx(overview.pixel_size / 4, rel=1e-9)
    # it covers the view, grown by 20% of the view on each side (to one pixel): x and y 0.0-0.7 of the frame
    left, bottom, right, top = spec.mercator_bounds
    vl, vb, vr, vt = view.mercator_bounds
    fl, fb, fr, ft = frame.mercator_bounds
    p = spec.pixel_size
    assert left <= vl and bottom <= vb and right >= vr and top >= vt
    assert left == pytest.approx(fl, abs=p) and top == pytest.approx(ft, abs=p)
    assert right == pytest.approx(fl + 0.7 * (fr - fl), abs=p) and bottom == pytest.approx(ft - 0.7 * (ft - fb), abs=p)
    # 0.7 of the frame at a quarter of the overview's pixel: 0.7 * 4 * the overview's pixels
    assert spec.shape[0] == pytest.approx(0.7 * 4 * overview.shape[0], abs=2)
    assert spec.shape[1] == pytest.approx(0.7 * 4 * overview.shape[1], abs=2)
    # pixel edges on the frame's lattice: the same zoom gives the same pixels wherever the view is
    offset = (np.array([spec.transform.c - frame.transform.c, frame.transform.f - spec.transform.f]) / p)
    np.testing.assert_allclose(offset, np.round(offset), atol=1e-6)

    grid = detail_grid(blocks, view, overview=overview, margin=0.2)
    assert grid is not None and grid.spec == spec and grid.n_segments == blocks.n_segments
    (south, west), (north, east) = grid.bounds
    assert south <= view.south and west <= view.west and north >= view.north and east >= view.east
    # the bounds lie in the view grown by its margin (one detail pixel of slack)
    grown_w, grown_e = view.west - 0.2 * (view.east - view.west), view.east + 0.2 * (view.east - view.west)
    slack = 360 * p / EARTH_CIRCUMFERENCE
    assert grown_w - slack <= west and east <= grown_e + slack


def test_no_detail_when_zoomed_out_or_off_the_scene(blocks: Segmentation, overview: DisplayGrid) -> None:
    frame = mercator_frame(blocks)
    o = overview.pixel_size

    def spec_at(pixel: float, fx=(0.3, 0.5), fy=(0.3, 0.5)):
        return detail_spec(frame, view_of(frame, fx, fy, zoom_for_pixel(pixel)), overview_pixel_size=o)

    assert spec_at(o) is None                  # the screen is no finer than the overview
    assert spec_at(o * 2) is None              # zoomed further out
    assert spec_at(o / 1.05) is None           # finer, but not enough to be worth a detail (min_gain 1.1)
    assert spec_at(o / 1.2).pixel_size == pytest.approx(o / 1.2, rel=1e-9)
    # a view beside the scene, or far away
    assert spec_at(o / 4, fx=(1.05, 1.3)) is None
    assert detail_spec(frame, MapView(-10.0, -60.0, -9.9, -59.9, zoom=15), overview_pixel_size=o) is None
    # a view straddling the scene's east edge: clipped to the scene
    spec = spec_at(o / 4, fx=(0.8, 1.3))
    assert spec is not None and spec.mercator_bounds[2] <= frame.mercator_bounds[2] + spec.pixel_size
    assert visible_bounds(frame, view_of(frame, (0.8, 1.3), (0.2, 0.4), 14))[2] == frame.mercator_bounds[2]


def test_never_finer_than_the_data_nor_larger_than_max_size(blocks: Segmentation, overview: DisplayGrid) -> None:
    frame = mercator_frame(blocks)
    o = overview.pixel_size
    deep = detail_spec(frame, view_of(frame, (0.40, 0.45), (0.40, 0.45), 19), overview_pixel_size=o)
    assert deep.pixel_size == pytest.approx(frame.pixel_size, rel=1e-12)      # zoom 19 is 0.3 m per pixel
    # the whole scene on a (very) large screen at a high zoom: coarsened to max_size, still 2.7x finer
    whole = view_of(frame, (0.0, 1.0), (0.0, 1.0), 16)
    spec = detail_spec(frame, whole, overview_pixel_size=o, max_size=600)
    assert max(spec.shape) <= 600 and max(spec.shape) >= 595
    assert o / spec.pixel_size == pytest.approx(600 / 250 * 1.0, rel=0.02)
    assert detail_spec(frame, whole, overview_pixel_size=o, max_size=260) is None   # no better than the overview
    with pytest.raises(ValueError):
        detail_spec(frame, whole, overview_pixel_size=o, min_gain=0.5)


# --- the detail's segment ids ------------------------------------------------------------------------

def test_detail_ids_are_the_native_ids(blocks: Segmentation, overview: DisplayGrid) -> None:
    frame = mercator_frame(blocks)
    for pixel, fx, fy in [(frame.pixel_size, (0.40, 0.50), (0.20, 0.30)),     # data resolution
                          (overview.pixel_size / 3, (0.6, 0.95), (0.6, 0.95))]:  # coarser, at the scene's corner
        grid = detail_grid(blocks, view_of(frame, fx, fy, zoom_for_pixel(pixel)), overview=overview)
        assert grid is not None and grid.pixel_size == pytest.approx(pixel, rel=1e-9)
        assert_native_ids(grid, blocks)
        # exactly what reprojecting the whole raster onto the same grid gives
        whole = np.zeros(grid.shape, np.int32)
        reproject(blocks.ids, whole, src_transform=blocks.transform, src_crs=blocks.crs, src_nodata=0,
                  dst_transform=grid.transform, dst_crs="EPSG:3857", dst_nodata=0, resampling=Resampling.nearest)
        np.testing.assert_array_equal(grid.segment_ids, whole)
    # at the data's resolution every 10 x 10 px segment in the view is there: 5% of 200 x 200 segments
    view = view_of(frame, (0.45, 0.5), (0.45, 0.5), 18)
    grid = detail_grid(blocks, view, overview=overview, margin=0.0)
    rng = np.random.default_rng(0)
    lats, lons = rng.uniform(view.south, view.north, 5000), rng.uniform(view.west, view.east, 5000)
    under_view = np.unique(SegmentLocator(blocks).locate_many(lats, lons))
    assert under_view.size > 0.8 * (0.05 * SIZE / BLOCK) ** 2
    assert (~np.isin(under_view, grid.segment_ids)).sum() <= 2     # all but slivers at the corners


def test_detail_reads_only_a_window(blocks: Segmentation, overview: DisplayGrid, monkeypatch) -> None:
    sources = []
    real = mercator.reproject

    def spy(source, destination, **kwargs):
        sources.append(source.shape)
        return real(source, destination, **kwargs)

    monkeypatch.setattr(mercator, "reproject", spy)
    frame = mercator_frame(blocks)
    grid = detail_grid(blocks, view_of(frame, (0.40, 0.45), (0.50, 0.55), 18), overview=overview, margin=0.2)
    (shape,) = sources
    # 7% of the frame a side (5% + 2 x 20% margin), rotated by ~1.5 degrees, plus 2 px of padding
    assert shape[0] <= 0.07 * SIZE * 1.05 + 6 and shape[1] <= 0.07 * SIZE * 1.05 + 6
    assert shape[0] * shape[1] < 0.01 * blocks.ids.size
    assert grid.shape[0] * grid.shape[1] >= 0.9 * shape[0] * shape[1] / 1.05 ** 2   # data resolution


def test_detail_on_the_real_crop(real_crop: Scene) -> None:
    seg = s2label.segment(real_crop, segment_size=150)
    small = display_grid(seg, max_size=64)
    frame = mercator_frame(seg)
    grid = detail_grid(seg, view_of(frame, (0.2, 0.6), (0.3, 0.7), 14), overview=small, n_segments=seg.n_segments)
    assert grid is not None
    assert grid.pixel_size == pytest.approx(frame.pixel_size, rel=1e-9)      # zoom 14: 9.6 m < 12.6 m native
    assert small.pixel_size / grid.pixel_size == pytest.approx(4.05, abs=0.05)
    assert_native_ids(grid, seg)
    assert np.unique(grid.segment_ids).size > 0.2 * seg.n_segments


# --- the photo layers ---------------------------------------------------------------------------------

def test_detail_photo_is_stretched_like_the_overview(quadrant_scene: Scene, quadrants) -> None:
    scene, seg = quadrants
    bands = ("B04", "B03", "B02")
    limits = band_limits(scene, bands, percentiles=(2, 98))
    for k, band in enumerate(bands):
        values = scene.band(band)[scene.valid]
        np.testing.assert_allclose(limits[k], np.percentile(values, [2, 98]), rtol=1e-6)
    big = display_grid(seg, max_size=15)
    frame = mercator_frame(seg)
    part = GridSpec(frame.transform * Affine.translation(5, 5), (20, 20))      # inside the top-left quadrant
    overview_rgba = render_bands(scene, big, bands, limits=limits)
    detail_rgba = render_bands(scene, part, bands, limits=limits)
    # one colour all over the detail, the overview's colour of that quadrant
    assert np.unique(detail_rgba.reshape(-1, 4), axis=0).tolist() == [overview_rgba[2, 2].tolist()]
    # stretched on its own (percentiles of the detail only), the constant detail would be black
    assert render_bands(scene, part, bands)[..., :3].max() == 0
    # nothing of the scene under a grid beside it: transparent, and no error
    away = GridSpec(frame.transform * Affine.translation(500, 0), (10, 10))
    assert render_bands(scene, away, bands, limits=limits).max() == 0


def test_detail_photo_equals_a_whole_scene_reprojection(real_crop: Scene) -> None:
    seg = Segmentation(np.ones(real_crop.shape, np.int32), real_crop.transform, real_crop.crs)
    frame = mercator_frame(seg)
    part = GridSpec(frame.transform * Affine.translation(100, 80) * Affine.scale(0.5), (120, 150))
    bands = ("B08", "B04", "B03")
    limits = band_limits(real_crop, bands)
    rgba = render_bands(real_crop, part, bands, limits=limits)
    assert (rgba[..., 3] == 255).all()
    for k, band in enumerate(bands):
        whole = np.full(part.shape, np.nan, np.float32)
        reproject(real_crop.band(band), whole, src_transform=real_crop.transform, src_crs=real_crop.crs,
                  dst_transform=part.transform, dst_crs="EPSG:3857", dst_nodata=np.nan,
                  resampling=Resampling.bilinear)
        expected = s2label.display.colours.stretch(whole, limits=tuple(limits[k]))
        assert np.abs(rgba[..., k].astype(int) - expected).max() <= 1


# --- following the map --------------------------------------------------------------------------------

def test_tracker_recomputes_only_when_the_view_leaves_the_grid(blocks: Segmentation, overview: DisplayGrid) -> None:
    tracker = DetailTracker(blocks, overview_pixel_size=overview.pixel_size, margin=0.2, n_segments=40_000)
    frame = tracker.frame
    zoom = zoom_for_pixel(overview.pixel_size / 4)
    assert tracker.update(None) is False and tracker.grid is None              # the map is not drawn yet
    assert tracker.update(view_of(frame, (0.4, 0.6), (0.4, 0.6), zoom)) is True
    first = tracker.grid
    assert first is not None and first.n_segments == 40_000
    assert tracker.update(view_of(frame, (0.4, 0.6), (0.4, 0.6), zoom)) is False   # the same view again
    assert tracker.update(view_of(frame, (0.43, 0.63), (0.38, 0.58), zoom)) is False  # a small pan: in the margin
    assert tracker.grid is first
    assert tracker.update(view_of(frame, (0.5, 0.7), (0.4, 0.6), zoom)) is True    # half a view east: a new grid
    assert tracker.grid is not first
    assert tracker.grid.spec.mercator_bounds[2] > first.spec.mercator_bounds[2]
    second = tracker.grid
    assert tracker.update(view_of(frame, (0.52, 0.62), (0.45, 0.55), zoom + 1)) is True   # zoomed in: finer
    assert tracker.grid.pixel_size == pytest.approx(second.pixel_size / 2, rel=1e-9)
    assert tracker.plan(view_of(frame, (0.52, 0.62), (0.45, 0.55), zoom + 1)) == tracker.grid.spec
    assert tracker.update(view_of(frame, (0.0, 1.0), (0.0, 1.0), zoom - 3)) is True     # zoomed out: none
    assert tracker.grid is None
    assert tracker.update(view_of(frame, (0.0, 1.0), (0.0, 1.0), zoom - 3)) is False


def test_debouncer_runs_once_after_a_burst() -> None:
    runs: list[str] = []
    timers: list[list] = []

    def later(delay, fn):
        timer = [delay, fn, False]
        timers.append(timer)

        class Handle:
            def cancel(self) -> None:
                timer[2] = True

        return Handle()

    debounce = Debouncer(lambda: runs.append("x"), 0.25, call_later=later)
    for _ in range(4):
        debounce()
    assert [t[2] for t in timers] == [True, True, True, False] and timers[-1][0] == 0.25
    assert runs == [] and debounce.pending
    timers[-1][1]()
    assert runs == ["x"] and not debounce.pending
    debounce()
    debounce.flush()
    assert runs == ["x", "x"] and not debounce.pending and timers[-1][2]
    debounce()
    debounce.cancel()
    debounce.flush()
    assert runs == ["x", "x"]
    Debouncer(lambda: runs.append("now"), 0.0, call_later=later)()        # no delay: at once, no timer
    assert runs[-1] == "now" and len(timers) == 6
    with pytest.raises(ValueError):
        Debouncer(lambda: None, -1)


def test_debouncer_uses_the_running_event_loop() -> None:
    runs: list[float] = []

    async def burst() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        debounce = Debouncer(lambda: runs.append(loop.time()), 0.05)
        start = loop.time()
        for _ in range(5):
            debounce()
            await asyncio.sleep(0.01)
        during = len(runs)
        await asyncio.sleep(0.2)
        return during, int((runs[0] - start) * 1000) if runs else -1

    during, after_ms = run_in_new_loop(burst)
    assert during == 0 and len(runs) == 1
    assert after_ms >= 90            # 4 x 10 ms of burst, then 50 ms of quiet


def test_coarse_detail_photo_averages_valid_pixels_only(real_crop: Scene, scene_factory) -> None:
    """A detail coarser than the data (a wide view of a big scene) averages k x k blocks before warping: about
    GDAL's own (slower) downsampling, and no-data pixels never darken the average."""
    seg = Segmentation(np.ones(real_crop.shape, np.int32), real_crop.transform, real_crop.crs)
    frame = mercator_frame(seg)
    bands = ("B08", "B04", "B03")
    limits = band_limits(real_crop, bands)
    spec = GridSpec(frame.transform * Affine.translation(20, 20) * Affine.scale(3), (66, 73))
    rgba = render_bands(real_crop, spec, bands, limits=limits)
    diffs = []
    for k, band in enumerate(bands):
        whole = np.full(spec.shape, np.nan, np.float32)
        reproject(real_crop.band(band), whole, src_transform=real_crop.transform, src_crs=real_crop.crs,
                  dst_transform=spec.transform, dst_crs="EPSG:3857", dst_nodata=np.nan,
                  resampling=Resampling.bilinear)
        diffs.append(np.abs(rgba[..., k].astype(int) - s2label.display.colours.stretch(whole, limits=tuple(limits[k]))))
    assert np.median(diffs) <= 2 and np.percentile(diffs, 95) <= 12
    # a constant scene whose left third is no data (zeros): every shown pixel has the constant's colour
    valid = np.ones((90, 90), bool)
    valid[:, :31] = False                                                          # not on a block edge
    data = np.where(valid, np.float32(0.1), np.float32(0))[None].repeat(3, 0)
    flat = scene_factory(data, ("B02", "B03", "B04"), valid)
    flat_frame = mercator_frame(Segmentation(np.ones((90, 90), np.int32), flat.transform, flat.crs))
    coarse = flat_frame.coarsened(30)                                              # 3 data pixels a side
    out = render_bands(flat, coarse, ("B04", "B03", "B02"), limits=np.array([[0.0, 0.2]] * 3))
    shown = out[..., 3] == 255
    assert 0.6 < shown.mean() < 0.72                                               # two thirds of the scene
    assert (out[shown][:, :3] == 128).all()
    assert not shown[:, :8].any() and shown[10:20, 12:28].all()
