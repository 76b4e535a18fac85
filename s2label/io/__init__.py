"""Reading scenes and writing rasters."""

from s2label.io.read import MIN_BANDS, RASTER_SUFFIXES, SceneGrid, read_scene, scene_grid
from s2label.io.safe import SafeProduct, parse_safe
from s2label.io.stac import StacBand, stac_bands
from s2label.io.write import write_raster

__all__ = ["read_scene", "scene_grid", "SceneGrid", "parse_safe", "SafeProduct", "stac_bands", "StacBand",
           "write_raster", "MIN_BANDS", "RASTER_SUFFIXES"]
