"""Small inline SVG figures for the explorer's panel: a histogram of scores with a threshold, a mean spectrum.

They are plain strings for an ``ipywidgets.HTML`` value, so (unlike bqplot figures) they cost nothing to
draw in a hidden tab and log no errors there. Every text is escaped and ASCII (non-ASCII characters become
character references), and no rect ever gets a negative width or height, whatever the sizes asked for.

Examples
--------
>>> import xml.etree.ElementTree as ET
>>> svg = histogram_svg([0.1, 0.2, 0.2, 0.9], threshold=0.5, bins=4, value_range=(0, 1))
>>> root = ET.fromstring(svg)
>>> root.get("width"), root.get("height"), len(root.findall(f"{{{SVG_NS}}}rect"))
('280', '70', 2)
>>> "<polyline" in spectrum_svg({"B02": 0.05, "B03": 0.08, "B04": 0.06})
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["SVG_NS", "HIGHLIGHT", "BAR_GREY", "histogram_svg", "spectrum_svg"]

#: The SVG namespace of the root element (``xml.etree`` spells the tags ``{SVG_NS}rect``).
SVG_NS = "http://www.w3.org/2000/svg"
#: Fill of the histogram bars at or above the threshold.
HIGHLIGHT = "#e6a100"
#: Fill of the other bars.
BAR_GREY = "#9e9e9e"

_TEXT = "#555555"
_AXIS = "#888888"
_LINE = "#1f77b4"
_FONT = "font-family:sans-serif"


def _text(value: object) -> str:
    """``value`` as escaped, ASCII-only SVG text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _num(x: float) -> str:
    """A coordinate with at most two decimals (``-0`` written as ``0``)."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _label(x: float) -> str:
    """A tick or range label: three significant digits."""
    return _text(f"{x:.3g}")


def _check_size(width: float, height: float) -> tuple[float, float]:
    w, h = float(width), float(height)
    if not (math.isfinite(w) and w > 0 and math.isfinite(h) and h > 0):
        raise ValueError(f"width and height must be positive pixel sizes, got {width!r} x {height!r}")
    return w, h


def _svg_open(width: float, height: float, css_class: str) -> str:
    return (f'<svg xmlns="{SVG_NS}" class="{css_class}" width="{_num(width)}" height="{_num(height)}" '
            f'viewBox="0 0 {_num(width)} {_num(height)}" style="{_FONT}">')


def _message_svg(width: float, height: float, css_class: str, message: str) -> str:
    font = max(min(11.0, height * 0.5), 1.0)
    return (_svg_open(width, height, css_class)
            + f'<text class="message" x="{_num(width / 2)}" y="{_num(height / 2)}" text-anchor="middle" '
              f'dominant-baseline="middle" font-size="{_num(font)}" fill="{_TEXT}">{_text(message)}</text></svg>')


def histogram_svg(values: Iterable[float] | np.ndarray, *, threshold: float | None = None, bins: int = 40,
                  width: float = 280, height: float = 70,
                  value_range: tuple[float, float] | None = None) -> str:
    """A histogram of scores as an inline ``<svg>``, the bars at or above a threshold highlighted.

    Parameters
    ----------
    values : array-like, any shape, float
        The scores; NaN and infinite values are dropped, values outside ``value_range`` are not counted.
    threshold : float, optional
        Bars whose bin centre is at or above it (to a billionth of the range) are filled :data:`HIGHLIGHT`,
        the others :data:`BAR_GREY`; a vertical ``<line class="threshold">`` marks it, clipped to the plot's
        edge (with ``data-clipped="true"``, dashed) when it is outside the range.
    bins : int
        Number of equal bins over the range (>= 1).
    width, height : float
        Size of the figure in pixels (> 0); the lowest ~14 px hold the range's labels.
    value_range : (float, float), optional
        (min, max) of the bins (default: those of the finite values). A range of zero width (constant
        values) is widened to ``(v - 0.5, v + 0.5)``, as :func:`numpy.histogram` does.

    Returns
    -------
    str
        ``<svg>`` with ``width``, ``height`` and ``viewBox``: one ``<rect class="bar">`` per non-empty bin (the
        tallest as high as the plot), a ``<line class="axis">``, the threshold line if any, and the range's
        min and max as ``<text class="range-min">`` / ``<text class="range-max">`` (3 significant digits).
        With no finite value, an svg saying "no scores".

    Raises
    ------
    ValueError
        If ``bins < 1``, a size is not positive, the threshold or the range is not finite, or min > max.

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> svg = histogram_svg([0.0, 0.3, 0.6, 0.6, 0.9, float("nan")], threshold=0.5, bins=4, width=104,
    ...                     value_range=(0, 1))
    >>> bars = ET.fromstring(svg).findall(f"{{{SVG_NS}}}rect")
    >>> [(b.get("x"), b.get("height"), b.get("fill")) for b in bars]     # doctest: +NORMALIZE_WHITESPACE
    [('2', '27', '#9e9e9e'), ('27', '27', '#9e9e9e'), ('52', '54', '#e6a100'), ('77', '27', '#e6a100')]
    >>> ET.fromstring(svg).find(f"{{{SVG_NS}}}line[@class='threshold']").get("x1")
    '52'
    >>> "no scores" in histogram_svg([])
    True
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
    w, h = _check_size(width, height)
    if threshold is not None and not math.isfinite(float(threshold)):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if value_range is not None:
        lo, hi = (float(v) for v in value_range)
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise ValueError(f"value_range must be finite (min, max) with min <= max, got {value_range!r}")

    data = np.asarray(values, dtype=np.float64).ravel()
    data = data[np.isfinite(data)]
    if data.size == 0:
        return _message_svg(w, h, "s2label-histogram", "no scores")
    if value_range is None:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(data, bins=int(bins), range=(lo, hi))

    pad = min(2.0, w * 0.05)
    top = min(2.0, h * 0.05)
    band = min(14.0, h * 0.4)                       # room for the range labels under the axis
    plot_w, plot_h = w - 2 * pad, h - band - top
    base = top + plot_h
    step = plot_w / bins
    gap = 1.0 if step >= 3 else 0.0
    tallest = int(counts.max())
    centres = (edges[:-1] + edges[1:]) / 2
    cut = None if threshold is None else float(threshold) - 1e-9 * (hi - lo)   # a centre on it is "at" it

    parts = [_svg_open(w, h, "s2label-histogram")]
    for i in np.flatnonzero(counts):
        bar_h = plot_h * int(counts[i]) / tallest if tallest else 0.0
        hot = cut is not None and centres[i] >= cut
        parts.append(f'<rect class="bar{" highlight" if hot else ""}" x="{_num(pad + i * step)}" '
                     f'y="{_num(base - bar_h)}" width="{_num(max(step - gap, 0.0))}" height="{_num(bar_h)}" '
                     f'fill="{HIGHLIGHT if hot else BAR_GREY}"><title>{_label(edges[i])} to {_label(edges[i + 1])}: '
                     f'{int(counts[i])}</title></rect>')
    parts.append(f'<line class="axis" x1="{_num(pad)}" y1="{_num(base)}" x2="{_num(pad + plot_w)}" '
                 f'y2="{_num(base)}" stroke="{_AXIS}" stroke-width="1"/>')
    if threshold is not None:
        t = float(threshold)
        frac = (t - lo) / (hi - lo)
        clipped = not 0 <= frac <= 1
        x = pad + plot_w * min(max(frac, 0.0), 1.0)
        dash = ' stroke-dasharray="3,2" data-clipped="true"' if clipped else ' data-clipped="false"'
        parts.append(f'<line class="threshold" x1="{_num(x)}" y1="{_num(top)}" x2="{_num(x)}" y2="{_num(base)}" '
                     f'stroke="#333333" stroke-width="1.5"{dash}><title>threshold {_label(t)}</title></line>')
    font = max(min(10.0, band - 3), 1.0)
    y_text = _num(min(base + font + 1, h))
    parts.append(f'<text class="range-min" x="{_num(pad)}" y="{y_text}" font-size="{_num(font)}" '
                 f'fill="{_TEXT}" text-anchor="start">{_label(lo)}</text>')
    parts.append(f'<text class="range-max" x="{_num(pad + plot_w)}" y="{y_text}" font-size="{_num(font)}" '
                 f'fill="{_TEXT}" text-anchor="end">{_label(hi)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def spectrum_svg(spectrum: Mapping[str, float], *, width: float = 280, height: float = 120,
                 y_max: float | None = None) -> str:
    """A mean spectrum (reflectance per band) as an inline ``<svg>`` line with a marker per band.

    Parameters
    ----------
    spectrum : mapping of str to float
        Band name to mean reflectance, drawn left to right in the mapping's order. Non-finite values get
        no marker (the line joins the finite ones); values outside ``[0, y top]`` are drawn at the edge.
    width, height : float
        Size of the figure in pixels (> 0).
    y_max : float, optional
        Top of the y axis (>= 0; default: the largest value). The axis runs from 0 to
        ``max(y_max or data max, 1e-6)``, with tick labels at 0, the middle and the top.

    Returns
    -------
    str
        ``<svg>`` with ``width``, ``height`` and ``viewBox``: a ``<polyline class="spectrum">``, one
        ``<circle class="marker">`` per finite band, the band names as ``<text class="band">`` x tick labels
        (rotated when they would not fit side by side) and ``<text class="ytick">`` labels; no title.
        An empty mapping gives an svg saying "no spectrum".

    Raises
    ------
    ValueError
        If a size is not positive or ``y_max`` is negative or not finite.

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> root = ET.fromstring(spectrum_svg({"B02": 0.05, "B03": 0.08, "B<4>": 0.1}))
    >>> [t.text for t in root.iter(f"{{{SVG_NS}}}text") if t.get("class") == "band"]
    ['B02', 'B03', 'B<4>']
    >>> [t.text for t in root.iter(f"{{{SVG_NS}}}text") if t.get("class") == "ytick"]
    ['0', '0.05', '0.1']
    >>> "no spectrum" in spectrum_svg({})
    True
    """
    w, h = _check_size(width, height)
    if y_max is not None and not (math.isfinite(float(y_max)) and float(y_max) >= 0):
        raise ValueError(f"y_max must be a finite number >= 0, got {y_max!r}")
    if not spectrum:
        return _message_svg(w, h, "s2label-spectrum", "no spectrum")
    names = [str(k) for k in spectrum]
    vals = np.array([float(v) for v in spectrum.values()], dtype=np.float64)
    finite = np.isfinite(vals)
    data_max = float(vals[finite].max()) if finite.any() else 0.0
    y_top = max(float(y_max) if y_max else data_max, 1e-6)

    n = len(names)
    font = 9.0
    left = min(30.0, w * 0.25)
    right = min(8.0, w * 0.05)
    top = min(6.0, h * 0.05)
    longest = max(len(s) for s in names)
    step_guess = (w - left - right) / n
    rotate = longest * font * 0.6 + 6 > step_guess      # labels side by side would (nearly) touch
    wanted = (longest * font * 0.6 * 0.72 + font + 4) if rotate else font + 5   # sin 46 deg of the label
    bottom = min(wanted, h * 0.45)
    plot_w, plot_h = w - left - right, h - top - bottom
    base = top + plot_h
    step = plot_w / n
    xs = left + step * (np.arange(n) + 0.5)
    ys = base - plot_h * np.clip(vals, 0.0, y_top) / y_top

    parts = [_svg_open(w, h, "s2label-spectrum")]
    parts.append(f'<line class="axis" x1="{_num(left)}" y1="{_num(base)}" x2="{_num(left + plot_w)}" '
                 f'y2="{_num(base)}" stroke="{_AXIS}" stroke-width="1"/>')
    parts.append(f'<line class="axis" x1="{_num(left)}" y1="{_num(top)}" x2="{_num(left)}" y2="{_num(base)}" '
                 f'stroke="{_AXIS}" stroke-width="1"/>')
    for value in (0.0, y_top / 2, y_top):
        y = base - plot_h * value / y_top
        parts.append(f'<line class="grid" x1="{_num(left)}" y1="{_num(y)}" x2="{_num(left + plot_w)}" '
                     f'y2="{_num(y)}" stroke="#e0e0e0" stroke-width="1"/>')
        parts.append(f'<text class="ytick" x="{_num(max(left - 3, 0.0))}" y="{_num(y)}" font-size="{_num(font)}" '
                     f'fill="{_TEXT}" text-anchor="end" dominant-baseline="middle">{_label(value)}</text>')
    points = " ".join(f"{_num(x)},{_num(y)}" for x, y in zip(xs[finite], ys[finite], strict=True))
    parts.append(f'<polyline class="spectrum" points="{points}" fill="none" stroke="{_LINE}" '
                 f'stroke-width="1.5"/>')
    for name, x, y, v, ok in zip(names, xs, ys, vals, finite, strict=True):
        if ok:
            parts.append(f'<circle class="marker" cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="{_LINE}">'
                         f'<title>{_text(name)}: {_label(v)}</title></circle>')
    y_label = base + 3
    for name, x in zip(names, xs, strict=True):
        if rotate:
            parts.append(f'<text class="band" x="{_num(x)}" y="{_num(y_label)}" font-size="{_num(font)}" '
                         f'fill="{_TEXT}" text-anchor="end" dominant-baseline="hanging" '
                         f'transform="rotate(-45 {_num(x)} {_num(y_label)})">{_text(name)}</text>')
        else:
            parts.append(f'<text class="band" x="{_num(x)}" y="{_num(y_label)}" font-size="{_num(font)}" '
                         f'fill="{_TEXT}" text-anchor="middle" dominant-baseline="hanging">{_text(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
