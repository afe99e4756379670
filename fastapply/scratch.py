"""A scratch copy of a work tree with one file replaced: where configured checks run.

``scratch_tree`` copies every file git does not ignore (tracked or not, as they are on disk now,
the user's uncommitted edits included) into a temporary folder, writes the candidate bytes at its
path, yields the folder and removes it. Files are copied, never hard-linked, so a command that
writes (a formatter, a test run's caches) changes only the copy. Ignored files (virtual
environments, build output) and ``.git`` are not copied.

Symbolic links are where a copy could reach back into the user's files, so they are copied by
where they lead (ARCHITECTURE.md, "The write pipeline", step 6):

- a link whose target lies inside the work tree becomes a link to the same place in the copy
  (its own text is kept when that already says so, else a relative link is made), so reading and
  writing through it stay in the copy;
- a link to a file outside the work tree is copied as that file's content;
- a link to a folder outside the work tree stays a link to it (the folder is not copied, it may be
  large): a check reads it as in the user's tree, and a check that writes into it reaches it, as
  it would when run there by hand;
- a link whose target outside the work tree does not exist is left out.

The tool's own writes never leave the copy: every folder on the way to a copied file or to the
candidate is a real folder inside the copy (a link that leads out of the copy, or to no folder,
is replaced by a real folder first) and the last step refuses a link (``O_NOFOLLOW``). Removal is
best effort: a check's leftover process may still be writing, so it is tried twice and then the
folder is left; it never fails a result.

This module knows git's file listing and the file system, not what runs in the copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

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
    """A temporary copy of the work tree holding ``data`` at the repo-relative ``path``.

    The folder yielded is a real path (no link on the way), named like the work tree.

    Raises:
        UsageError: git could not list the files.
        ValueError: ``path`` is not a plain repo-relative path.
    """
    holder = tempfile.TemporaryDirectory(prefix="fastapply-check-", ignore_cleanup_errors=True)
    try:
        root = Path(os.path.realpath(holder.name)) / repo.root.name
        root.mkdir()
        source_root = Path(os.path.realpath(repo.root))
        folders: dict[tuple[str, ...], Path] = {}  # made or checked already: copying changes none
        for name in visible_files(repo):
            _copy(source_root, root, name, folders)
        write_inside(root, path, data)
        yield root
    finally:
        _remove(holder)


def write_inside(root: Path, path: str, data: bytes) -> Path:
    """Write ``data`` at the relative ``path`` below ``root`` (a real path) and return the file
    written; never anywhere outside ``root``.

    A final link that leads to a regular file inside ``root`` is written through, as the real
    write pipeline writes a link's target; any other final link is replaced by the file.

    Raises:
        ValueError: ``path`` is empty, absolute or holds ``.`` or ``..``.
    """
    parts = _parts(path)
    target = _folder(root, parts[:-1]) / parts[-1]
    if target.is_symlink():
        resolved = Path(os.path.realpath(target))
        if _inside(resolved, root) and resolved.is_file():
            target = resolved
        else:
            target.unlink()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return target


def _parts(path: str) -> tuple[str, ...]:
    pure = PurePosixPath(path)
    if pure.is_absolute() or not pure.parts or any(p in (".", "..") for p in path.split("/")):
        raise ValueError(f"not a plain repo-relative path: {path!r}")
    return pure.parts


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _folder(root: Path, parts: tuple[str, ...]) -> Path:
    """The real folder at ``parts`` below ``root``, made where missing; never outside ``root``."""
    current = root
    for part in parts:
        step = current / part
        if step.is_symlink():
            resolved = Path(os.path.realpath(step))
            if _inside(resolved, root) and resolved.is_dir():
                current = resolved  # a real path inside the copy: later steps start from it
                continue
            step.unlink()  # it leads out of the copy (or nowhere): a real folder takes its place
        elif step.exists() and not step.is_dir():
            step.unlink()  # a name listed both as a file and as a folder: the folder wins
        if not step.is_dir():
            step.mkdir()
        current = step
    return current


def _copy(source_root: Path, root: Path, name: str, folders: dict[tuple[str, ...], Path]) -> None:
    parts = _parts(name)
    source = source_root / name
    if parts[:-1] not in folders:
        folders[parts[:-1]] = _folder(root, parts[:-1])
    target = folders[parts[:-1]] / parts[-1]
    if source.is_symlink():
        _copy_link(source, target, source_root, root)
    elif source.is_file():
        shutil.copy2(source, target, follow_symlinks=False)


def _copy_link(source: Path, target: Path, source_root: Path, root: Path) -> None:
    text = os.readlink(source)
    resolved = Path(os.path.realpath(source))
    if _inside(resolved, source_root):
        mirrored = root / resolved.relative_to(source_root)
        lexical = Path(os.path.normpath(target.parent / text))
        if os.path.isabs(text) or lexical != mirrored:
            # absolute (it would name the user's tree) or reached through other links: point at
            # the copy's own place directly
            text = os.path.relpath(mirrored, target.parent)
        os.symlink(text, target)
    elif resolved.is_file():
        shutil.copy2(resolved, target)
    elif resolved.is_dir():
        os.symlink(resolved, target)


def _remove(holder: tempfile.TemporaryDirectory[str]) -> None:
    """Remove the scratch folder, best effort: a check's leftover process may race the removal."""
    for attempt in range(2):
        with contextlib.suppress(OSError):
            holder.cleanup()
        if not os.path.lexists(holder.name):
            return
        if attempt == 0:
            time.sleep(0.05)
