"""fastapply: rewrite whole source files with a local model, fast, and apply them safely through git.

This package is the core: edit requests and results, safe file I/O, diffs and hunks, git, the CLI,
batch, the hook and training. It imports no torch, transformers or textual at import time; the
engine (``fastapply.engine``) and the TUI (``fastapply.tui``) are loaded only when used.
"""

__version__ = "0.1.0"
