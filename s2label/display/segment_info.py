"""What the explorer says about one segment: a table for the Inspect tab and a summary line that stays visible.

Both take :meth:`LabelSession.segment_info`'s dict and, optionally, where the researcher clicked.

Examples
--------
>>> info = {"segment": 7, "label": 2, "name": "water", "cluster": 2, "probability": 0.93, "outlier_score": 0.1,
...         "area_px": 120, "manual": False, "ndvi": -0.21, "ndwi": 0.44}
>>> summary_html(info, lat=37.7, lon=-75.6)
'<small>segment 7 · <b>water</b> · p 0.93 · NDVI -0.21 · NDWI 0.44 · 37.70000° N, 75.60000° W</small>'
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["lonlat_text", "info_table_html", "summary_html"]


def lonlat_text(lat: float | None, lon: float | None) -> str:
    """``"37.69639° N, 75.65289° W"`` (empty without coordinates).

    Parameters
    ----------
    lat, lon : float or None
        Degrees; ``None`` when not known.

    Returns
    -------
    str
        Five decimals and a hemisphere letter each; ``""`` when either is ``None``.
    """
    if lat is None or lon is None:
        return ""
    return f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° {'E' if lon >= 0 else 'W'}"


def _indices(info: Mapping[str, Any]) -> list[tuple[str, float]]:
    return [(k.upper(), float(info[k])) for k in ("ndvi", "ndwi") if info.get(k) is not None]


def info_table_html(info: Mapping[str, Any], *, lat: float | None = None, lon: float | None = None) -> str:
    """Every field of a segment's info as an HTML table (label, cluster, probability, indices, area, lon/lat).

    Parameters
    ----------
    info : mapping
        :meth:`LabelSession.segment_info`'s dict (``segment``, ``label``, ``name``, ``cluster``, ``probability``,
        ``outlier_score``, ``area_px``, ``manual``, and ``ndvi``/``ndwi`` when known).
    lat, lon : float, optional
        Where the researcher clicked, in degrees; the row "lon/lat" is shown only with both.

    Returns
    -------
    str
        A ``<table class="s2label-info-table">``, its values HTML-escaped.
    """
    rows = [("segment", info["segment"]), ("label", f"{info['name']} ({info['label']})"),
            ("HDBSCAN cluster", info["cluster"] if info["cluster"] >= 0 else "noise"),
            ("probability", f"{info['probability']:.3f}"), ("outlier score", f"{info['outlier_score']:.3f}"),
            *((k, f"{v:.3f}") for k, v in _indices(info)),
            ("area", f"{info['area_px']} px"), ("set by hand", "yes" if info["manual"] else "no")]
    where = lonlat_text(lat, lon)
    if where:
        rows.append(("lon/lat", where))
    body = "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(str(v))}</b></td></tr>" for k, v in rows)
    return f'<table class="s2label-info-table">{body}</table>'


def summary_html(info: Mapping[str, Any], *, lat: float | None = None, lon: float | None = None) -> str:
    """One line: segment, label, probability, NDVI/NDWI and where.

    Parameters
    ----------
    info : mapping
        :meth:`LabelSession.segment_info`'s dict, as for :func:`info_table_html`.
    lat, lon : float, optional
        Where the researcher clicked, in degrees.

    Returns
    -------
    str
        A ``<small>`` HTML line, its parts separated by ``·``.
    """
    parts = [f"segment {info['segment']}", f"<b>{html.escape(str(info['name']))}</b>",
             f"p {info['probability']:.2f}", *(f"{k} {v:.2f}" for k, v in _indices(info))]
    where = lonlat_text(lat, lon)
    if where:
        parts.append(where)
    return f"<small>{' · '.join(parts)}</small>"
