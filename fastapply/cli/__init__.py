"""The command line: one module per command, an explicit table of them in ``dispatch``.

``fastapply.cli:main`` is the console entry point; ``python -m fastapply.cli`` runs it too.
"""

from fastapply.cli.dispatch import build_parser, main

__all__ = ["build_parser", "main"]
