"""Reading scenes and writing rasters: band names, the :class:`Scene`, the bundled sample scene, files, ``.SAFE``
products and STAC items, and a scene read part by part.
"""

import lazy_loader as _lazy

# the names and submodules are listed in __init__.pyi (for type checkers too), loaded on first use
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
