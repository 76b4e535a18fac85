"""Reading scenes and writing rasters."""

from .read import MIN_BANDS, RASTER_SUFFIXES, read_scene
from .safe import SafeProduct, parse_safe
from .write import write_raster

__all__ = ["read_scene", "parse_safe", "SafeProduct", "write_raster", "MIN_BANDS", "RASTER_SUFFIXES"]
