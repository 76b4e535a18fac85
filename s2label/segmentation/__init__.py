"""Cutting a scene into segments: superpixels, the segment adjacency graph, the window grid and the stitching of a
scene segmented by windows, and per-segment values painted on the raster or as polygons.
"""

import lazy_loader as _lazy

# the names and submodules are listed in __init__.pyi (for type checkers too), loaded on first use
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
