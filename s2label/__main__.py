"""``python -m s2label`` is the ``s2label`` command."""

import sys

from s2label.pipeline.cli import main

sys.exit(main())
