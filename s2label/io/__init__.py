"""Reading scenes and writing rasters."""

from .read import MIN_BANDS, RASTER_SUFFIXES, SceneGrid, read_scene, scene_grid
from .safe import SafeProduct, parse_safe
from .stac import StacBand, stac_bands
from .write import write_raster

__all__ = ["read_scene", "scene_grid", "SceneGrid", "parse_safe", "SafeProduct", "stac_bands", "StacBand",
           "write_raster", "MIN_BANDS", "RASTER_SUFFIXES"]
