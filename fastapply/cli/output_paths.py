"""Where a command will write (`train`'s steps, `bench --save-cases`), checked before any work
starts: a folder to create or fill, or a report file to write. A path that cannot be written is a usage error (exit 2) that
names the option, rather than a system error after minutes of work.

Knows paths and permissions; nothing about what is written there. The checks leave nothing
behind (a folder is tried with a temporary file, gone at once).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapply.errors import UsageError


def _existing_ancestor(path: Path) -> Path:
    """The nearest folder (or file) above ``path`` that exists; the path itself when it does."""
    for candidate in (path, *path.absolute().parents):
        if candidate.exists():
            return candidate
    return Path(path.absolute().anchor)


def _cannot_create_in(folder: Path) -> str | None:
    """Why no file can be made in ``folder``, or None. A real try, since permission bits do not tell
    for root, a read-only mount or a pseudo file system; the file is gone when it returns."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def _writable_under(path: Path, option: str) -> None:
    """``path`` (absent) can be created: the nearest existing thing above it is a writable folder."""
    above = _existing_ancestor(path)
    if not above.is_dir():
        raise UsageError(f"{option} {path}: {above} is a file, not a folder")
    why = _cannot_create_in(above)
    if why:
        raise UsageError(f"{option} {path}: cannot write under {above} ({why})")


def output_folder(path: Path, option: str) -> None:
    """``path`` is a folder that can be written to, or can be created (with its parents)."""
    try:
        _folder(path, option)
    except OSError as exc:  # a folder above it that cannot be searched
        raise UsageError(f"{option} {path}: {exc.strerror or exc}") from exc


def output_file(path: Path, option: str) -> None:
    """``path`` is a file that can be (over)written, in a folder that already exists."""
    try:
        _file(path, option)
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror or exc}") from exc


def _folder(path: Path, option: str) -> None:
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{option} {path} is a file, not a folder")
        why = _cannot_create_in(path)
        if why:
            raise UsageError(f"{option} {path}: cannot write in it ({why})")
        return
    _writable_under(path, option)


def _file(path: Path, option: str) -> None:
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder, not a file")
    parent = path.absolute().parent
    if not parent.exists():
        raise UsageError(f"{option} {path}: no folder {parent}")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is a file, not a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write it (permission denied)")
    why = None if path.exists() else _cannot_create_in(parent)
    if why:
        raise UsageError(f"{option} {path}: cannot write in {parent} ({why})")
