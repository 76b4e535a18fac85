"""The coordinate systems of the map: Web Mercator (what Leaflet shows), WGS84, and cached transformers."""

from __future__ import annotations

from functools import lru_cache

from pyproj import Transformer
from rasterio.crs import CRS

__all__ = ["WEB_MERCATOR", "WGS84", "crs_transformer"]

#: The CRS of the display rasters (what Leaflet shows).
WEB_MERCATOR = CRS.from_epsg(3857)
#: Longitude and latitude (what Leaflet reports).
WGS84 = CRS.from_epsg(4326)


@lru_cache(maxsize=32)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    """A cached ``always_xy`` transformer (building one costs milliseconds; using one, microseconds)."""
    return Transformer.from_crs(src_wkt, dst_wkt, always_xy=True)


def crs_transformer(src: CRS, dst: CRS) -> Transformer:
    """An ``always_xy`` transformer from ``src`` to ``dst``, cached."""
    return _transformer(src.to_wkt(), dst.to_wkt())
