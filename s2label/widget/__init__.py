"""The explorer widget: an ipyleaflet map and a side panel over a :class:`~s2label.session.LabelSession` (only the
ipywidgets and ipyleaflet code; what it shows is computed in :mod:`s2label.display`).
"""

import lazy_loader as _lazy

# the names and submodules are listed in __init__.pyi (for type checkers too), loaded on first use
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
