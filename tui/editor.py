"""The ``$EDITOR`` round trip: open a rewrite in the user's editor and take the text back.

``edit_in_editor`` writes the text to a temporary file (with the file's suffix, so the editor
highlights it), runs ``$VISUAL`` or ``$EDITOR`` on it and reads it back. ``with_text`` makes the
result the edited text describes: the same file and read, new hunks and fingerprint, to be
reviewed like any other rewrite. Neither knows about screens; the caller suspends the terminal.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any


class EditorError(Exception):
    """No editor is configured, it could not be started, or it failed."""


def editor_command() -> list[str]:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or ""
    words = shlex.split(command)
    if not words:
        raise EditorError("set $EDITOR (or $VISUAL) to open the rewrite in an editor")
    return words


def edit_in_editor(text: str, suffix: str) -> str:
    """The text after the editor closes.

    Raises:
        EditorError: no editor, it could not be run, it exited with an error, or the file went.
    """
    command = editor_command()
    with tempfile.TemporaryDirectory(prefix="fastapply-edit-") as folder:
        path = Path(folder) / f"rewrite{suffix}"
        path.write_text(text, encoding="utf-8", newline="")
        try:
            done = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            raise EditorError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
        if done.returncode != 0:
            raise EditorError(f"{command[0]} exited with status {done.returncode}; the rewrite is kept as it was")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EditorError(f"cannot read the edited text back: {exc}") from None


def with_text(result: Any, text: str) -> Any:
    """A copy of ``result`` whose rewrite is ``text`` (hunks, diff and fingerprint made anew)."""
    from fastapply.diff import format_hunks, split_hunks
    from fastapply.files import sha256

    source = result.source
    assert source is not None, "only a result read from a file can be edited"
    after = source.normalized(text)
    if after == result.before:
        return replace(result, after=after, hunks=[], diff="", after_sha256=source.sha256, status="unchanged",
                       reason="edited back to the original")
    hunks = split_hunks(result.before, after)
    return replace(
        result,
        after=after,
        hunks=hunks,
        diff=format_hunks(hunks, result.path),
        after_sha256=sha256(source.encode(after)),
        status="changed",
        reason="edited in $EDITOR",
    )
