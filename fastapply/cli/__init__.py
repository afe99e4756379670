"""The command line: one module per command, an explicit table of them in ``main``.

``fastapply.cli.main`` is the console entry point; ``python -m fastapply.cli`` runs it too.
"""

from fastapply.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
