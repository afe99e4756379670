"""``python -m fastapply.cli``: the same command as ``fastapply`` (the git hook calls it so)."""

import sys

from fastapply.cli.dispatch import main

sys.exit(main())
