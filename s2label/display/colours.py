"""Label colours: a deterministic palette of distinct, readable colours, and hex/RGB conversion.

Examples
--------
>>> palette(3).tolist()
[[31, 119, 180], [255, 127, 14], [44, 160, 44]]
>>> to_hex((31, 119, 180)), to_rgb("#1f77b4")
('#1f77b4', (31, 119, 180))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from s2label.io.styles import is_hex_colour, to_rgb  # below display: the exported files use them too

__all__ = ["palette", "to_hex", "to_rgb", "is_hex_colour", "stretch", "UNLABELLED_COLOUR"]

#: matplotlib's tab10 without its grey and its pink: a pale grey reads as "no label", a pink as unlabelled
_STRONG = ("1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "bcbd22", "17becf")
#: Unlabelled segments on the map and in the legend: a magenta no label of :func:`palette` comes near.
UNLABELLED_COLOUR = "#ff00ff"
_PINK_HUES = (0.78, 0.99)  # hues (0..1) of magenta and pink: palette colours stay out of them
_GOLDEN = 0.6180339887498949
_SQRT2 = 0.41421356237309515  # fractional parts of sqrt(2), sqrt(3)
_SQRT3 = 0.7320508075688772


def stretch(values: np.ndarray, percentiles: tuple[float, float] = (2, 98), *,
            limits: tuple[float, float] | None = None) -> np.ndarray:
    """Stretch values linearly from their low to their high percentile onto 0-255 (an image's contrast).

    Parameters
    ----------
    values : ndarray, any shape, float
        Valid values only (no NaN).
    percentiles : (float, float)
        Low and high percentiles mapped to 0 and 255, ``0 <= low < high <= 100``.
    limits : (float, float), optional
        The values mapped to 0 and 255, instead of the percentiles of ``values``: stretches several images
        (an overview and a detail of it) alike.

    Returns
    -------
    ndarray, same shape, uint8 (all 0 when the values are constant or empty, or the limits equal)

    Examples
    --------
    >>> stretch(np.array([0.0, 0.1, 0.2]), (0, 100)).tolist()
    [0, 128, 255]
    >>> stretch(np.array([0.0, 0.1, 0.2]), limits=(0.0, 0.4)).tolist()
    [0, 64, 128]
    """
    low, high = (float(p) for p in percentiles)
    if not 0 <= low < high <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles!r}")
    values = np.asarray(values, dtype=np.float64)
    if limits is not None:
        lo, hi = (float(v) for v in limits)
    elif values.size == 0:
        return np.zeros(values.shape, np.uint8)
    else:
        lo, hi = np.percentile(values, [low, high])
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return np.rint(np.clip((values - lo) * scale, 0, 255)).astype(np.uint8)


def to_hex(rgb: Sequence[int] | np.ndarray) -> str:
    """``(r, g, b)`` in 0..255 -> ``"#rrggbb"``.

    Parameters
    ----------
    rgb : sequence of int or ndarray (3,) or (4,)
        Red, green, blue in 0..255; a fourth value (alpha) is ignored.

    Returns
    -------
    str
        ``"#rrggbb"``, lower case.
    """
    r, g, b = (int(v) for v in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack([r, g, b], axis=-1)


def palette(n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` distinct, saturated colours for labels, none of them grey or near the unlabelled magenta.

    The first 8 are matplotlib's ``tab10`` without its grey and pink; beyond that hues step by the golden
    ratio (skipping magenta and pink, :data:`UNLABELLED_COLOUR`'s hues) while saturation (0.65-0.95) and
    brightness (0.6-0.95) step by other irrational fractions, so consecutive colours differ and none is pale,
    near-black or grey. All ``n`` colours are distinct, the result is deterministic, and (with ``seed=0``)
    colour ``i`` does not depend on ``n``.

    Parameters
    ----------
    n : int
    seed : int
        0 keeps the order above; any other seed shuffles the same ``n`` colours deterministically.

    Returns
    -------
    ndarray, shape (n, 3), uint8

    Examples
    --------
    >>> palette(2).tolist()
    [[31, 119, 180], [255, 127, 14]]
    >>> p = palette(300); len({tuple(c) for c in p.tolist()})
    300
    """
    if not 0 <= n <= 1 << 24:
        raise ValueError(f"n must be within 0..{1 << 24} (the number of 24-bit colours), got {n}")
    tab = np.array([[int(c[i: i + 2], 16) for i in (0, 2, 4)] for c in _STRONG], np.uint8)
    m = max(n - len(tab), 0)
    k = np.arange(int(m / (1 - (_PINK_HUES[1] - _PINK_HUES[0]))) + 8)  # enough left after skipping pinks
    # a 3-d Kronecker sequence: hue by the golden ratio, saturation and brightness by other irrationals
    hue = (0.07 + k * _GOLDEN) % 1.0
    k = k[(hue < _PINK_HUES[0]) | (hue > _PINK_HUES[1])]
    while k.size < m:  # (never, by the count above; kept for safety)
        extra = np.arange(k[-1] + 1, k[-1] + 1 + m)
        h = (0.07 + extra * _GOLDEN) % 1.0
        k = np.concatenate([k, extra[(h < _PINK_HUES[0]) | (h > _PINK_HUES[1])]])
    k = k[:m]
    hue = (0.07 + k * _GOLDEN) % 1.0
    sat = 0.65 + 0.3 * ((0.5 + k * _SQRT2) % 1.0)
    val = 0.6 + 0.35 * ((0.25 + k * _SQRT3) % 1.0)
    more = np.rint(_hsv_to_rgb(hue, sat, val) * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.concatenate([tab, more])[:n]
    # beyond a few thousand colours some round to one already used: step those through RGB space. Only
    # earlier colours are looked at, so colour i does not depend on n (a cluster keeps its colour).
    packed = (colours.astype(np.int64) @ np.array([65536, 256, 1])).tolist()
    seen: set[int] = set()
    for i, code in enumerate(packed):
        if code in seen:
            while code in seen:
                code = (code + 0x010101 * 3 + 2) & 0xFFFFFF   # an odd step: visits every colour
            colours[i] = ((code >> 16) & 0xFF, (code >> 8) & 0xFF, code & 0xFF)
        seen.add(code)
    if seed:
        colours = colours[np.random.default_rng(seed).permutation(n)]
    return colours
