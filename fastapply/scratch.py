"""A scratch copy of a work tree with one file replaced: where configured checks run.

``scratch_tree`` copies every file git does not ignore (tracked or not, as they are on disk now,
the user's uncommitted edits included) into a temporary folder, writes the candidate bytes at its
path, yields the folder and removes it. Files are copied, never linked, so a command that writes
(a formatter, a test run's caches) changes only the copy. Ignored files (virtual environments,
build output) and ``.git`` are not copied.

This module knows git's file listing and the file system, not what runs in the copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fastapply.errors import UsageError
from fastapply.repo import RepoInfo


def visible_files(repo: RepoInfo, under: Path | None = None) -> list[str]:
    """The files git does not ignore (tracked or not) that exist on disk now, below ``under``
    (default: the root) and relative to it, sorted.

    Raises:
        UsageError: git could not list them.
    """
    base = under or repo.root
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=base, capture_output=True, check=False,
    )
    if done.returncode != 0:
        raise UsageError(f"cannot list the repository's files: {done.stderr.decode(errors='replace').strip()}")
    names = sorted({os.fsdecode(p) for p in done.stdout.split(b"\0") if p})
    return [n for n in names if os.path.lexists(base / n)]


@contextlib.contextmanager
def scratch_tree(repo: RepoInfo, path: str, data: bytes) -> Iterator[Path]:
    """A temporary copy of the work tree holding ``data`` at the repo-relative ``path``."""
    with tempfile.TemporaryDirectory(prefix="fastapply-check-") as folder:
        root = Path(folder) / repo.root.name
        root.mkdir()
        for name in visible_files(repo):
            _copy(repo.root / name, root / name)
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()  # the candidate is the file's content, not a link's target
        target.write_bytes(data)
        yield root


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_file():
        shutil.copy2(source, target)
