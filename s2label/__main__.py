"""``python -m s2label`` is the ``s2label`` command."""

import sys

from .cli import main

sys.exit(main())
