"""Zoom-dependent detail for the map: which part of the scene, at which resolution, the current view needs.

The explorer shows a whole scene as one overview image (:func:`~.overlays.display_grid`, at most ``max_size``
pixels on a side): on a 10980 x 10980 px Sentinel-2 tile that is about seven times coarser than the data.
When the map is zoomed in beyond the overview's resolution, a *detail* grid is laid over it: only the visible
part of the scene (plus a margin, so that small pans need nothing new), at about one display pixel per
screen pixel for the zoom, never finer than the data. Its segment ids come from a window of the native
segmentation (:func:`~.overlays.reproject_segments`), so its cost follows the view, not the scene; it is
painted through the same lookup tables as the overview. No tile server is involved.

Everything here is pure (no widget): :func:`detail_spec` decides and places the grid, :class:`DetailTracker`
keeps it across map moves, :class:`Debouncer` coalesces bursts of map events.

Examples
--------
>>> import numpy as np
>>> from affine import Affine
>>> from rasterio.crs import CRS
>>> from s2label.segmentation.superpixels import Segmentation
>>> seg = Segmentation(np.arange(1, 1001, dtype=np.int32).reshape(40, 25).repeat(50, 0).repeat(80, 1),
...                    Affine(10, 0, 300000, 0, -10, 4000000), CRS.from_epsg(32633))      # 2000 x 2000 px
>>> overview = display_grid(seg, max_size=250)                        # about 8 data pixels per display pixel
>>> tracker = DetailTracker(seg, overview_pixel_size=overview.pixel_size)
>>> (south, west), (north, east) = overview.bounds
>>> far = MapView(south, west, north, east, zoom=9)                  # the whole scene: the overview is enough
>>> tracker.update(far), tracker.grid is None
(False, True)
>>> near = MapView(south + 0.4 * (north - south), west + 0.4 * (east - west),
...                south + 0.5 * (north - south), west + 0.5 * (east - west), zoom=15)
>>> tracker.update(near), round(tracker.grid.pixel_size / tracker.frame.pixel_size, 3)   # data resolution
(True, 1.0)
>>> tracker.update(near), tracker.update(far), tracker.grid is None  # nothing new; then zoomed out again
(False, True, True)
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from affine import Affine
from pyproj import Transformer

from s2label.display.mercator import DisplayGrid, GridSpec, display_grid, mercator_frame, reproject_segments
from s2label.segmentation.superpixels import Segmentation

__all__ = [
    "EARTH_CIRCUMFERENCE",
    "MapView",
    "screen_pixel_size",
    "visible_bounds",
    "detail_spec",
    "detail_grid",
    "DetailTracker",
    "Debouncer",
]

#: Web-Mercator metres around the equator (2 pi times the WGS84 semi-major axis): Leaflet's world at zoom z is
#: 256 * 2**z screen pixels wide.
EARTH_CIRCUMFERENCE = 2 * math.pi * 6378137.0
#: Web Mercator stops here (Leaflet clamps latitudes to it).
_MAX_LAT = 85.0511287798066
_TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)

_Bounds = tuple[float, float, float, float]


def screen_pixel_size(zoom: float) -> float:
    """Web-Mercator metres per screen (CSS) pixel at a Leaflet zoom level.

    Parameters
    ----------
    zoom : float
        Leaflet zoom level (fractional ones too).

    Returns
    -------
    float
        The Earth's circumference over ``256 * 2 ** zoom``.

    Examples
    --------
    >>> round(screen_pixel_size(0), 2), round(screen_pixel_size(14), 4), round(screen_pixel_size(13.5), 4)
    (156543.03, 9.5546, 13.5123)
    """
    return EARTH_CIRCUMFERENCE / (256.0 * 2.0 ** float(zoom))


@dataclass(frozen=True)
class MapView:
    """What the map shows: its latitude/longitude bounds and zoom, as ipyleaflet's ``Map`` reports them.

    Attributes
    ----------
    south, west, north, east : float
        Degrees.
    zoom : float
        Leaflet zoom level (fractional with ``zoom_snap`` < 1).

    Examples
    --------
    >>> view = MapView.from_leaflet(((45.0, 7.0), (45.1, 7.2)), 12)
    >>> view.zoom, round(view.pixel_size, 2), [round(v) for v in view.mercator_bounds]
    (12.0, 38.22, [779236, 5621521, 801500, 5637278])
    >>> MapView.from_leaflet((), 4), MapView.from_leaflet(((0.0, 0.0), (0.0, 0.0)), 4)   # not drawn yet
    (None, None)
    """

    south: float
    west: float
    north: float
    east: float
    zoom: float

    def __post_init__(self) -> None:
        values = (self.south, self.west, self.north, self.east, self.zoom)
        if not all(math.isfinite(float(v)) for v in values):
            raise ValueError(f"a map view needs finite bounds and zoom, got {values}")
        if not (self.south < self.north and self.west < self.east):
            raise ValueError(f"a map view needs south < north and west < east, got {values[:4]}")
        for name in ("south", "west", "north", "east", "zoom"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @classmethod
    def from_leaflet(cls, bounds: Sequence[Sequence[float]], zoom: float | None) -> MapView | None:
        """From ``Map.bounds`` (``((south, west), (north, east))``) and ``Map.zoom``; ``None`` until the front end
        has drawn the map (empty or zero-size bounds)."""
        try:
            (south, west), (north, east) = bounds
            view = cls(float(south), float(west), float(north), float(east), float(zoom))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return view

    @property
    def pixel_size(self) -> float:
        """Web-Mercator metres per screen pixel (:func:`screen_pixel_size`)."""
        return screen_pixel_size(self.zoom)

    @property
    def mercator_bounds(self) -> _Bounds:
        """(left, bottom, right, top) in EPSG:3857 metres (latitudes clamped to Web Mercator's +-85.05)."""
        south, north = (min(max(v, -_MAX_LAT), _MAX_LAT) for v in (self.south, self.north))
        (left, right), (bottom, top) = _TO_MERCATOR.transform([self.west, self.east], [south, north])
        return (float(left), float(bottom), float(right), float(top))


def visible_bounds(frame: GridSpec, view: MapView, *, margin: float = 0.0) -> _Bounds | None:
    """The part of a scene's Web-Mercator frame that a view shows, grown by ``margin`` view sizes on each side.

    Parameters
    ----------
    frame : GridSpec
        The scene's Web-Mercator grid (:func:`~s2label.display.mercator.mercator_frame`).
    view : MapView
        What the map shows.
    margin : float
        Grow the view by this share of its width (height) on the left and right (bottom and top) before
        clipping it to the frame.

    Returns
    -------
    (left, bottom, right, top) or None
        EPSG:3857 metres, or ``None`` when the view misses the frame.

    Examples
    --------
    >>> from affine import Affine
    >>> frame = GridSpec(Affine(10, 0, 0, 0, -10, 1000), (100, 100))      # x 0..1000, y 0..1000
    >>> view = MapView(0.0, 0.0, 0.0045, 0.0045, zoom=16)                  # x, y 0..501 m
    >>> [round(v) for v in visible_bounds(frame, view)], [round(v) for v in visible_bounds(frame, view, margin=0.5)]
    ([0, 0, 501, 501], [0, 0, 751, 751])
    >>> visible_bounds(frame, MapView(10.0, 10.0, 10.1, 10.1, zoom=16)) is None
    True
    """
    left, bottom, right, top = view.mercator_bounds
    dx, dy = margin * (right - left), margin * (top - bottom)
    fl, fb, fr, ft = frame.mercator_bounds
    left, bottom, right, top = max(left - dx, fl), max(bottom - dy, fb), min(right + dx, fr), min(top + dy, ft)
    if right <= left or top <= bottom:
        return None
    return (left, bottom, right, top)


def _aligned(frame: GridSpec, bounds: _Bounds, pixel_size: float) -> GridSpec:
    """The grid of ``pixel_size`` pixels covering ``bounds``, its pixel edges on a lattice anchored at the frame's
    top-left corner (so that views at one zoom share pixel edges)."""
    fx, fy = float(frame.transform.c), float(frame.transform.f)
    left, bottom, right, top = bounds
    c0, c1 = math.floor((left - fx) / pixel_size + 1e-9), math.ceil((right - fx) / pixel_size - 1e-9)
    r0, r1 = math.floor((fy - top) / pixel_size + 1e-9), math.ceil((fy - bottom) / pixel_size - 1e-9)
    return GridSpec(Affine(pixel_size, 0, fx + c0 * pixel_size, 0, -pixel_size, fy - r0 * pixel_size),
                    (max(r1 - r0, 1), max(c1 - c0, 1)))


def detail_spec(frame: GridSpec, view: MapView, *, overview_pixel_size: float, max_size: int = 1600,
                margin: float = 0.2, min_gain: float = 1.1) -> GridSpec | None:
    """Where the detail grid of a view goes, or ``None`` when the overview is enough.

    The detail pixel is the screen pixel of the view's zoom (:func:`screen_pixel_size`), but never finer than
    the data (``frame``'s pixel) and large enough for the grid to have at most ``max_size`` pixels on a side.
    The grid covers the view grown by ``margin`` view sizes on each side, clipped to the scene.

    Parameters
    ----------
    frame : GridSpec
        The scene's Web-Mercator grid at native resolution (:func:`~.overlays.mercator_frame`).
    view : MapView
    overview_pixel_size : float
        Web-Mercator pixel size of the overview shown under the detail (the coarsest, if several).
    max_size : int
        Longest side of the detail grid, in pixels.
    margin : float
        Share of the view's width and height added on each side.
    min_gain : float
        How many times coarser than the detail pixel the overview's must be for a detail to be worth it.

    Returns
    -------
    GridSpec or None
        ``None`` when zoomed out (the overview is at most ``min_gain`` times coarser than the detail would be)
        or when the view misses the scene.

    Examples
    --------
    >>> from affine import Affine
    >>> frame = GridSpec(Affine(10, 0, 0, 0, -10, 20000), (2000, 2000))   # 20 x 20 km at 10 m
    >>> view = MapView(0.09, 0.04, 0.13, 0.1, zoom=14)                    # 9.55 m per screen pixel
    >>> spec = detail_spec(frame, view, overview_pixel_size=80.0)
    >>> spec.pixel_size, spec.shape                                       # data resolution: never finer
    (10.0, (625, 936))
    >>> detail_spec(frame, view, overview_pixel_size=10.5) is None        # the overview is fine enough
    True
    """
    if max_size < 1 or margin < 0 or min_gain < 1:
        raise ValueError(f"need max_size >= 1, margin >= 0, min_gain >= 1; got {max_size}, {margin}, {min_gain}")
    pixel = max(view.pixel_size, frame.pixel_size)
    if overview_pixel_size < pixel * min_gain:
        return None
    bounds = visible_bounds(frame, view, margin=margin)
    if bounds is None:
        return None
    spec = _aligned(frame, bounds, pixel)
    for _ in range(8):  # lattice alignment may add a pixel: coarsen until it fits
        if max(spec.shape) <= max_size:
            break
        pixel *= max(spec.shape) / max_size * (1 + 1e-6)
        spec = _aligned(frame, bounds, pixel)
    if max(spec.shape) > max_size or overview_pixel_size < spec.pixel_size * min_gain:
        return None
    return spec


def detail_grid(segmentation: Segmentation, view: MapView, *, overview: DisplayGrid | None = None,
                overview_pixel_size: float | None = None, max_size: int = 1600, margin: float = 0.2,
                min_gain: float = 1.1, n_segments: int | None = None) -> DisplayGrid | None:
    """The detail grid of a view: :func:`detail_spec` with the segment ids of a window of the segmentation.

    Parameters
    ----------
    segmentation : Segmentation
    view : MapView
    overview : DisplayGrid, optional
        The overview under the detail (default: :func:`~.overlays.display_grid` with ``max_size``).
    overview_pixel_size : float, optional
        Its pixel size instead (e.g. the coarsest of several overviews).
    max_size, margin, min_gain
        See :func:`detail_spec`.
    n_segments : int, optional
        ``segmentation.n_segments`` if known (saves a pass over the whole raster).

    Returns
    -------
    DisplayGrid or None

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.arange(1, 401, dtype=np.int32).reshape(20, 20).repeat(20, 0).repeat(20, 1),
    ...                    Affine(10, 0, 500000, 0, -10, 4000000), CRS.from_epsg(32633))
    >>> overview = display_grid(seg, max_size=100)
    >>> (south, west), (north, east) = overview.bounds
    >>> view = MapView(south, west, (south + north) / 2, (west + east) / 2, zoom=15)   # the south-west quarter
    >>> grid = detail_grid(seg, view, overview=overview)
    >>> grid.shape, int(grid.segment_ids.max()) <= 400, overview.pixel_size / grid.pixel_size > 3.9
    ((241, 241), True, True)
    """
    frame = mercator_frame(segmentation)
    if overview_pixel_size is None:
        overview_pixel_size = (overview if overview is not None else display_grid(segmentation, max_size=max_size)
                               ).pixel_size
    spec = detail_spec(frame, view, overview_pixel_size=overview_pixel_size, max_size=max_size, margin=margin,
                       min_gain=min_gain)
    return None if spec is None else reproject_segments(segmentation, spec, n_segments=n_segments)


class DetailTracker:
    """The detail grid the map needs, kept across map moves.

    A new grid is computed only when the zoom asks for another resolution or the visible part of the scene
    leaves the current grid (whose margin absorbs small pans); zooming out below the overview's resolution, or
    leaving the scene, drops it.

    Parameters
    ----------
    segmentation : Segmentation
    overview_pixel_size : float
        Web-Mercator pixel size of the (coarsest) overview under the detail.
    max_size, margin, min_gain
        See :func:`detail_spec`.
    n_segments : int, optional
        ``segmentation.n_segments``, if known.

    Attributes
    ----------
    frame : GridSpec
        The scene's native Web-Mercator grid.
    grid : DisplayGrid or None
        The current detail grid; ``None`` while the overview is enough.
    """

    def __init__(self, segmentation: Segmentation, *, overview_pixel_size: float, max_size: int = 1600,
                 margin: float = 0.2, min_gain: float = 1.1, n_segments: int | None = None) -> None:
        self.segmentation = segmentation
        self.frame = mercator_frame(segmentation)
        self.overview_pixel_size = float(overview_pixel_size)
        self.max_size, self.margin, self.min_gain = int(max_size), float(margin), float(min_gain)
        self.n_segments = segmentation.n_segments if n_segments is None else int(n_segments)
        self.grid: DisplayGrid | None = None

    def plan(self, view: MapView | None) -> GridSpec | None:
        """The grid :meth:`update` would compute for a view (nothing is computed)."""
        if view is None:
            return None
        return detail_spec(self.frame, view, overview_pixel_size=self.overview_pixel_size, max_size=self.max_size,
                           margin=self.margin, min_gain=self.min_gain)

    def update(self, view: MapView | None) -> bool:
        """Follow the map to ``view`` (``None``: not drawn yet); whether :attr:`grid` changed."""
        spec = self.plan(view)
        if spec is None:
            changed = self.grid is not None
            self.grid = None
            return changed
        assert view is not None
        seen = visible_bounds(self.frame, view)
        if (self.grid is not None and seen is not None and self.grid.spec.contains(seen)
                and math.isclose(self.grid.pixel_size, spec.pixel_size, rel_tol=1e-6)):
            return False
        self.grid = reproject_segments(self.segmentation, spec, n_segments=self.n_segments)
        return True


class _Handle(Protocol):
    def cancel(self) -> Any: ...


class Debouncer:
    """Run an action once a burst of calls has been quiet for ``delay`` seconds.

    Leaflet reports a zoom and its new bounds as separate changes, and a scroll-wheel zoom as several steps;
    the detail layer is recomputed once, for the view the map ends at.

    Parameters
    ----------
    action : callable
        Called without arguments.
    delay : float
        Seconds of quiet before ``action`` runs; 0 runs it on every call.
    call_later : callable ``(delay, fn) -> handle with .cancel()``, optional
        The timer (default: the running asyncio loop's ``call_later``, which Jupyter's kernel has). Without a
        running loop (a script, a test) every call runs ``action`` at once.

    Examples
    --------
    >>> runs, timers = [], []
    >>> class Timer:
    ...     def __init__(self, fn): self.fn, self.cancelled = fn, False
    ...     def cancel(self): self.cancelled = True
    >>> def later(delay, fn):
    ...     timers.append(Timer(fn)); return timers[-1]
    >>> debounce = Debouncer(lambda: runs.append(1), 0.2, call_later=later)
    >>> debounce(); debounce(); debounce()
    >>> [t.cancelled for t in timers], debounce.pending, runs
    ([True, True, False], True, [])
    >>> timers[-1].fn(); runs, debounce.pending
    ([1], False)
    >>> Debouncer(lambda: runs.append(2), 0)(); runs                   # no delay: at once
    [1, 2]
    """

    def __init__(self, action: Callable[[], Any], delay: float = 0.15, *,
                 call_later: Callable[[float, Callable[[], None]], _Handle] | None = None) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay}")
        self.action = action
        self.delay = float(delay)
        self._call_later = call_later
        self._handle: _Handle | None = None

    @property
    def pending(self) -> bool:
        """Whether a run is scheduled."""
        return self._handle is not None

    def __call__(self) -> None:
        self.cancel()
        schedule = self._call_later or _loop_call_later()
        if self.delay == 0 or schedule is None:
            self.action()
            return
        self._handle = schedule(self.delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self.action()

    def flush(self) -> None:
        """Run a scheduled action now."""
        if self._handle is not None:
            self.cancel()
            self.action()

    def cancel(self) -> None:
        """Forget a scheduled action."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _loop_call_later() -> Callable[[float, Callable[[], None]], _Handle] | None:
    try:
        return asyncio.get_running_loop().call_later
    except RuntimeError:
        return None
