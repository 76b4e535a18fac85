"""Static matplotlib figures of scenes, segments, labels, label spectra and method scores (for notebooks).

Every function draws into ``ax`` (a new figure when omitted) and returns the axes (or the figure, for
several panels), so figures can be combined and saved. Pixel grids are shown in the scene's own CRS
(no reprojection); the interactive map is :func:`s2label.explore`.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import s2label
>>> from s2label.evaluation import plot
>>> scene = s2label.sample_scene(window=((0, 96), (0, 96)))
>>> seg = s2label.segment(scene, segment_size=150)
>>> ax = plot.show_segments(scene, seg)
>>> ax.get_title()
'96 x 96 px, 54 segments'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from skimage.segmentation import find_boundaries

from s2label.display.colours import palette, stretch, to_rgb
from s2label.errors import SegmentationError
from s2label.io.bands import false_colour_bands
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from s2label.evaluation.compare import MethodScores
    from s2label.evaluation.summary import LabelSpectra
    from s2label.session.label_session import LabelSession

__all__ = ["scene_rgb", "show_scene", "show_segments", "show_labels", "show_label_map", "show_session",
           "show_segment_values", "plot_spectra", "plot_scores"]

#: Colour of noise / unlabelled segments in label maps (light grey; the explorer uses magenta on its map).
NOISE_COLOUR = (0.82, 0.82, 0.82)

_PRESETS = {"true": ("B04", "B03", "B02"), "false": ("B08", "B04", "B03")}  # "false": see false_colour_bands


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6, 6)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, layout="constrained")[1]


def _pixel_extent(shape: tuple[int, int]) -> tuple[float, float, float, float]:
    return (-0.5, shape[1] - 0.5, shape[0] - 0.5, -0.5)


def scene_rgb(scene: Scene, bands: str | Sequence[str] = "true", *,
              percentiles: tuple[float, float] = (2, 98)) -> np.ndarray:
    """Three bands as an RGBA image on the scene's grid, each stretched between two percentiles.

    Parameters
    ----------
    scene : Scene
    bands : "true", "false" or three band names
        ``"true"``: B04, B03, B02; ``"false"``: colour infrared (B08 or B8A, B04, B03).
    percentiles : (float, float)

    Returns
    -------
    ndarray, shape (H, W, 4), float in [0, 1]; alpha 0 where the scene has no data.
    """
    if isinstance(bands, str):
        if bands not in _PRESETS:
            raise ValueError(f"bands must be 'true', 'false' or three band names, got {bands!r}")
        names = list(false_colour_bands(scene.bands) if bands == "false" else _PRESETS[bands])
    else:
        names = list(bands)
        if len(names) != 3:
            raise ValueError(f"an RGB image needs 3 bands, got {len(names)}: {names}")
    rgba = np.zeros((*scene.shape, 4))
    valid = scene.valid
    for k, name in enumerate(names):
        rgba[..., k][valid] = stretch(scene.data[scene.band_index(name)][valid], percentiles) / 255.0
    rgba[..., 3] = valid
    return rgba


def show_scene(scene: Scene, bands: str | Sequence[str] = "true", *, ax: Axes | None = None,
               title: str | None = None) -> Axes:
    """Show a scene in true colour (or ``bands="false"``, or any three bands). Returns the axes.

    Parameters
    ----------
    scene : Scene
    bands : "true", "false" or three band names
        As :func:`scene_rgb`.
    ax : Axes, optional
        Draw here; default a new 6 x 6 in figure.
    title : str, optional
        Default the scene's size and number of bands.

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    ax.imshow(scene_rgb(scene, bands), interpolation="nearest")
    ax.set_title(title if title is not None else f"{scene.width} x {scene.height} px, {len(scene.bands)} bands")
    ax.set_axis_off()
    return ax


def show_segments(scene: Scene, segmentation: Segmentation, *, ax: Axes | None = None,
                  colour: str = "#ffff00", window: Any = "auto", title: str | None = None) -> Axes:
    """Segment boundaries over the true-colour scene. Returns the axes.

    Parameters
    ----------
    scene, segmentation
        On the same grid.
    ax : Axes, optional
    colour : str
        Boundary colour, ``"#rrggbb"``.
    window : "auto", None or ((row_start, row_stop), (col_start, col_stop))
        The part to show. Boundaries one pixel wide cannot be seen on a whole large scene, so ``"auto"``
        shows the central 512 x 512 px of a scene over 768 px on a side (the title says so), and the whole
        of a smaller one; ``None`` shows everything.
    title : str, optional

    Returns
    -------
    Axes

    Raises
    ------
    SegmentationError
        The segmentation is not on the scene's grid.
    ValueError
        A ``window`` that is not one of the above, or holds no pixel of the scene.
    """
    if segmentation.ids.shape != scene.shape:
        raise SegmentationError(f"segmentation {segmentation.ids.shape} is not on the scene's grid "
                                f"{scene.shape}")
    h, w = scene.shape
    if isinstance(window, str):
        if window != "auto":
            raise ValueError(f"window must be 'auto', None or ((row_start, row_stop), (col_start, col_stop)), "
                             f"got {window!r}")
        window = None if max(h, w) <= 768 else ((h // 2 - 256, h // 2 + 256), (w // 2 - 256, w // 2 + 256))
    (r0, r1), (c0, c1) = window if window is not None else ((0, h), (0, w))
    r0, r1, c0, c1 = max(int(r0), 0), min(int(r1), h), max(int(c0), 0), min(int(c1), w)
    if r1 <= r0 or c1 <= c0:
        raise ValueError(f"window {window!r} holds no pixel of the {w} x {h} px scene")
    rgba = scene_rgb(scene, "true")[r0:r1, c0:c1]
    labels = segmentation.ids[r0:r1, c0:c1]
    edges = find_boundaries(labels, mode="inner") & (labels > 0)
    rgba[edges, :3] = np.array(to_rgb(colour)) / 255.0
    ax = _axes(ax)
    ax.imshow(rgba, interpolation="nearest")
    part = "" if (r1 - r0, c1 - c0) == (h, w) else f"rows {r0}-{r1}, columns {c0}-{c1} of "
    ax.set_title(title if title is not None else f"{part}{w} x {h} px, {segmentation.n_segments} segments")
    ax.set_axis_off()
    return ax


def _pixel_labels(segmentation: Segmentation, labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    n = segmentation.n_segments
    if labels.shape == segmentation.ids.shape:
        return labels.astype(np.int64)
    if labels.shape != (n,):
        raise SegmentationError(f"labels have shape {labels.shape}: expected ({n},) per segment or "
                                f"{segmentation.ids.shape} per pixel")
    return segmentation.to_raster(labels.astype(np.int64), fill=-2)


def show_labels(segmentation: Segmentation, labels: np.ndarray, *, names: Mapping[int, str] | None = None,
                colours: Mapping[int, str] | None = None, ax: Axes | None = None, legend: bool = True,
                max_legend: int = 20, title: str | None = None) -> Axes:
    """A label map of segments: each label in its colour, noise/unlabelled (-1) light grey, no data white.

    Parameters
    ----------
    segmentation : Segmentation
    labels : ndarray, shape (N,) per segment or (H, W) per pixel, int
    names, colours, ax, legend, max_legend, title
        As :func:`show_label_map`.

    Returns
    -------
    Axes
    """
    pix = _pixel_labels(segmentation, labels)
    return show_label_map(np.where(segmentation.ids > 0, pix, -2), names=names, colours=colours, ax=ax,
                          legend=legend, max_legend=max_legend, title=title)


def show_label_map(pixel_labels: np.ndarray, *, names: Mapping[int, str] | None = None,
                   colours: Mapping[int, str] | None = None, ax: Axes | None = None, legend: bool = True,
                   max_legend: int = 20, title: str | None = None) -> Axes:
    """A per-pixel label map (e.g. a reference land-cover raster): -1 light grey, below -1 white (no data).

    Parameters
    ----------
    pixel_labels : ndarray, shape (H, W), int
    names, colours : mapping, optional
        Label id to name / ``"#rrggbb"``; default ``"cluster <id>"`` and :func:`s2label.display.colours.palette`.
    ax : Axes, optional
    legend : bool
        A legend of the (up to ``max_legend`` largest) labels, beside the map.
    max_legend : int
        Most labels in the legend, the largest (in pixels) first.
    title : str, optional

    Returns
    -------
    Axes
    """
    pix = np.asarray(pixel_labels)
    if pix.ndim != 2:
        raise ValueError(f"pixel_labels must be (H, W), got shape {pix.shape}")
    labelled = pix >= 0
    ids, index = np.unique(pix[labelled], return_inverse=True)
    pal = palette(int(ids.max()) + 1 if ids.size else 0)
    names, colours = dict(names or {}), dict(colours or {})
    table = np.array([to_rgb(colours[lab]) if lab in colours else pal[lab] for lab in ids.tolist()],
                     dtype=np.float64).reshape(-1, 3) / 255.0
    rgb = np.ones((*pix.shape, 3))
    rgb[pix == -1] = NOISE_COLOUR
    rgb[labelled] = table[index]
    counts = np.bincount(index, minlength=ids.size)
    from matplotlib.patches import Patch

    handles = [(int(counts[i]), Patch(color=tuple(table[i].tolist()), label=names.get(lab, f"cluster {lab}")))
               for i, lab in enumerate(ids.tolist())]
    ax = _axes(ax)
    ax.imshow(rgb, interpolation="nearest", extent=_pixel_extent(pix.shape))
    ax.set_axis_off()
    noise = bool((pix == -1).any())
    ax.set_title(title if title is not None else f"{ids.size} labels" + (" (grey: noise)" if noise else ""))
    if legend and handles:
        shown = [h for _, h in sorted(handles, key=lambda t: -t[0])[:max_legend]]
        ax.legend(handles=shown, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    return ax


def show_session(session: LabelSession, *, ax: Axes | None = None, legend: bool = True,
                 title: str | None = None) -> Axes:
    """The labels of a :class:`~s2label.LabelSession` with their names and colours (hidden ones too).

    Parameters
    ----------
    session : LabelSession
    ax, legend, title
        As :func:`show_label_map` (the default title gives the number of labels).

    Returns
    -------
    Axes
    """
    names = {lab.id: lab.name for lab in session.labels}
    colours = {lab.id: lab.colour for lab in session.labels}
    return show_labels(session.segmentation, session.label_of_segment(), names=names, colours=colours, ax=ax,
                       legend=legend, title=title if title is not None else f"{len(names)} labels")


def show_segment_values(segmentation: Segmentation, values: np.ndarray, *, ax: Axes | None = None,
                        cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None,
                        label: str = "", title: str | None = None) -> Axes:
    """One number per segment as a colour map (e.g. find-similar scores), with a colour bar.

    Parameters
    ----------
    segmentation : Segmentation
    values : ndarray, shape (N,), float
        One value per segment (NaN: not drawn).
    ax : Axes, optional
    cmap : str
        A matplotlib colour map name.
    vmin, vmax : float, optional
        The colour map's range; default the values' range.
    label : str
        The colour bar's label.
    title : str, optional

    Returns
    -------
    Axes

    Raises
    ------
    SegmentationError
        ``values`` does not have one value per segment.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (segmentation.n_segments,):
        raise SegmentationError(f"values have shape {values.shape}, expected ({segmentation.n_segments},)")
    img = segmentation.to_raster(values, fill=np.nan)
    ax = _axes(ax)
    image = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label=label)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


def plot_spectra(spectra: LabelSpectra, *, ax: Axes | None = None, colours: Mapping[int, str] | None = None,
                 max_labels: int = 20) -> Axes:
    """Mean reflectance of each label against wavelength (the largest ``max_labels`` labels).

    Parameters
    ----------
    spectra : LabelSpectra
        E.g. of :func:`s2label.evaluation.summary.session_spectra`.
    ax : Axes, optional
        Draw here; default a new 7 x 4 in figure.
    colours : mapping, optional
        Label id to ``"#rrggbb"``; default :func:`s2label.display.colours.palette` (grey for ``-1``).
    max_labels : int
        Draw the labels with the most pixels, at most this many.

    Returns
    -------
    Axes
    """
    ax = _axes(ax, (7, 4))
    order = np.argsort(-spectra.n_pixels)[:max_labels]
    x = spectra.wavelengths_nm
    keep = np.isfinite(x)
    sort = np.argsort(x[keep])
    pal = palette(int(spectra.labels.max()) + 1 if spectra.labels.size and spectra.labels.max() >= 0 else 0)
    colours = dict(colours or {})
    for i in order.tolist():
        lab = int(spectra.labels[i])
        colour = (np.array(to_rgb(colours[lab])) / 255.0 if lab in colours else
                  np.array(NOISE_COLOUR) * 0.7 if lab < 0 else pal[lab] / 255.0)
        ax.plot(x[keep][sort], spectra.mean[i][keep][sort], marker="o", ms=3, color=colour,
                label=f"{spectra.names[i]} (NDVI {spectra.ndvi[i]:.2f}, NDWI {spectra.ndwi[i]:.2f})")
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("mean reflectance")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    return ax


#: The measures :func:`plot_scores` draws, with their axis titles and whether higher is better.
SCORE_PANELS: tuple[tuple[str, str, bool], ...] = (
    ("accuracy_assigned", "named-cluster accuracy\n(noise assigned)", True),
    ("ari", "ARI with the reference", True),
    ("fragmentation", "fragmentation", False),
    ("ssim", "SSIM of similar areas", True),
    ("spectral_angle", "spectral angle (rad)", False),
    ("rotation_ari", "rotation ARI (model)", True),
)
_RANDOM = {"ssim": "ssim_random", "spectral_angle": "spectral_angle_random"}


def plot_scores(scores: Sequence[MethodScores], *, measures: Sequence[str] | None = None,
                highlight: str = "cnn-gnn") -> Figure:
    """Bar charts of :func:`s2label.evaluation.compare.compare_methods` scores, one panel per measure.

    Measures that are NaN for every method (e.g. accuracy without a reference) are left out; random-pair
    levels of SSIM and spectral angle are drawn as dashed lines; ``highlight`` is drawn in colour, the
    baselines in grey. Each panel's title says whether higher or lower is better.

    Parameters
    ----------
    scores : sequence of MethodScores
        One bar each per panel.
    measures : sequence of str, optional
        Only these of the measures of ``SCORE_PANELS`` (``"accuracy_assigned"``, ``"ari"``, ``"fragmentation"``,
        ``"ssim"``, ``"spectral_angle"``, ``"rotation_ari"``); default all.
    highlight : str
        The method drawn in colour.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        No measure asked for has a value in ``scores``.
    """
    import matplotlib.pyplot as plt

    panels = [p for p in SCORE_PANELS if measures is None or p[0] in measures]
    panels = [p for p in panels if any(np.isfinite(getattr(s, p[0])) for s in scores)]
    if not panels:
        raise ValueError("no measure has a value in these scores")
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.2), layout="constrained",
                             squeeze=False)
    methods = [s.method for s in scores]
    colours = ["#1f77b4" if m == highlight else "#9a9a9a" for m in methods]
    for ax, (name, title, higher) in zip(axes[0], panels, strict=True):
        values = np.array([getattr(s, name) for s in scores], dtype=float)
        ax.bar(range(len(methods)), np.nan_to_num(values), color=colours)
        for i, v in enumerate(values):
            if np.isfinite(v):
                ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize="x-small")
        if name in _RANDOM:
            rnd = np.array([getattr(s, _RANDOM[name]) for s in scores], dtype=float)
            if np.isfinite(rnd).any():
                ax.axhline(float(np.nanmean(rnd)), color="k", ls="--", lw=0.8, label="random pairs")
                ax.legend(fontsize="x-small", frameon=False, loc="lower right")
        ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize="small")
        ax.set_title(f"{title}\n({'higher' if higher else 'lower'} is better)", fontsize="small")
    return fig
