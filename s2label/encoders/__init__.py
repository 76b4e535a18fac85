"""Turning segments into vectors: spectral features, a self-supervised U-Net, a GNN over the segment graph, and
encoding by windows.
"""

import lazy_loader as _lazy

# the names and submodules are listed in __init__.pyi (for type checkers too), loaded on first use
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
