"""One-line descriptions of what an apply or an undo did, for notifications and result panels.

Reads ``fastapply.apply.ApplyRecord`` and ``fastapply.undo.UndoReport`` by attribute only.
"""

from __future__ import annotations

from typing import Any


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe_apply(record: Any, held_by: str | None = None) -> str:
    """``held_by``: the commit that already held the written files (a commit was asked for)."""
    files = [f.path for f in getattr(record, "files", [])]
    if not files:
        return "nothing to write: no accepted hunk changes a file"
    text = f"wrote {_plural(len(files), 'file')}: {', '.join(files)}"
    commit = getattr(record, "commit", None)
    if commit:
        text += f" · committed {commit[:10]}"
    elif held_by:
        text += f" · not committed again: HEAD {held_by[:10]} already holds these changes"
    return text + " · ctrl+z undoes"


def describe_undo(report: Any, commit: str | None = None) -> str:
    """What an undo did; ``commit`` is the undone apply's commit, which undo leaves in history."""
    status = getattr(report, "status", "")
    if status == "undone":
        restored = list(getattr(report, "restored", []))
        text = f"restored {_plural(len(restored), 'file')}: {', '.join(restored)}"
        if commit:
            text += f" · commit {commit[:10]} stays in history (git revert {commit[:10]} takes it back)"
        return text
    if status == "nothing":
        return "nothing to undo"
    return f"undo refused: {getattr(report, 'reason', '') or status}"
