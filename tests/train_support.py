"""Shared by the `fastapply train` CLI tests: a held-out set of two edits of one small file (a
no-op and a rename the default model does not perform), and the CLI run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CODE = "def add(a, b):\n    return a + b\n\n\ndef twice(x):\n    return add(x, x)\n"


def write_heldout(folder: Path) -> Path:
    """``folder/heldout.jsonl`` with a no-op and the rename of ``add`` to ``plus``; returns ``folder``."""
    rows = [{"kind": "noop", "instruction": "Make no changes.", "before": CODE, "after": CODE, "path": "m.py", "meta": {}},
            {"kind": "rename-function", "instruction": "Rename add to plus.", "before": CODE,
             "after": CODE.replace("add", "plus"), "path": "m.py", "meta": {}}]
    (folder / "heldout.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def run_train(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``fastapply train ARGS...`` in a subprocess, output captured."""
    return subprocess.run([sys.executable, "-m", "fastapply.cli", "train", *args],
                          capture_output=True, text=True, timeout=timeout)
