"""The labelling session: edits over a clustering with undo and redo, their rules, the store that keeps them, who
made them, pixel-level labels, propagation, and the exports.
"""

import lazy_loader as _lazy

# the names and submodules are listed in __init__.pyi (for type checkers too), loaded on first use
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
