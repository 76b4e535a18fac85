"""Running s2label: the whole pipeline on one scene or many (one flow, the scene held whole or by tiles, on any
executor), its options, the saved model, the memory a run by tiles needs, opening the explorer on a run, and the
command line.
"""

import lazy_loader as _lazy

# the names and submodules are listed in __init__.pyi (for type checkers too), loaded on first use
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
