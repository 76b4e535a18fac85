"""What the map shows, computed without any widget: display grids, colours, images, the detail a view needs,
locating clicks and polygons, small SVG figures.
"""

import lazy_loader as _lazy

# the names and submodules are listed in __init__.pyi (for type checkers too), loaded on first use
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
