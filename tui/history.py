"""Instruction history: load and save the list of past instructions, newest last.

Stored as JSON lines so multi-line instructions survive. Reading a missing or damaged file gives
an empty history; nothing here knows about widgets.
"""

from __future__ import annotations

import json
from pathlib import Path

MAX_ENTRIES = 200


def load(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    entries: list[str] = []
    for line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, str) and value.strip():
            entries.append(value)
    return entries[-MAX_ENTRIES:]


def remember(entries: list[str], instruction: str, path: Path | None) -> None:
    """Append ``instruction`` (moving an equal older entry to the end) and save when a path is set."""
    if not instruction.strip():
        return
    if instruction in entries:
        entries.remove(instruction)
    entries.append(instruction)
    del entries[:-MAX_ENTRIES]
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    except OSError:
        pass  # history is a convenience; failing to save it must not stop an edit
