"""Replacing one file of the work tree in place, by a path checked again at the moment of writing.

``TreeFile(root, rel)`` walks ``rel`` down from the work tree's root one folder at a time with
``O_NOFOLLOW``, holding each folder open, so the file is read and replaced relative to a parent
folder that is known to lie inside the tree now, not when the model started. A relative path that
is absolute, walks up (``..``), enters ``.git``, or passes through a symlink or a non-folder is
refused: the paths fastapply writes (and records) are real paths, which contain no links, so a link
on the way means the tree changed underneath. The replace is atomic (a temporary file beside the
target, fsync, ``os.replace`` between the same folder descriptor) and keeps mode, owner and group
where the process may. Reads never wait on a FIFO nor follow a link put in the file's place
(``fastapply.regular``): anything but a regular file there is refused.

Every failure is a ``RefusedError`` naming the file, with the file as it was. The caller holds the
journal's lock around a read and the replace that depends on it.

This module knows paths, descriptors and bytes; not the journal, git or models.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from types import TracebackType

from fastapply.errors import RefusedError
from fastapply.regular import NotRegularFile, read_regular

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(slots=True)
class Held:
    """What the file holds now, and whose it is."""

    data: bytes
    mode: int
    uid: int
    gid: int


def _parts(rel: str) -> list[str]:
    parts = rel.split("/")
    if rel.startswith("/") or os.path.isabs(rel) or any(p in ("", ".", "..") for p in parts):
        raise RefusedError("not a path inside the work tree", path=rel)
    if parts[0] == ".git":
        raise RefusedError("inside .git/ (never written)", path=rel)
    return parts


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


class TreeFile:
    """One file of the work tree, opened through its parent folder (a context manager)."""

    def __init__(self, root: os.PathLike[str] | str, rel: str, *, display: str | None = None) -> None:
        self.root = os.fspath(root)
        self.rel = rel
        self.display = display or rel
        self.name = ""
        self._fds: list[int] = []

    @property
    def parent_fd(self) -> int:
        return self._fds[-1]

    def __enter__(self) -> TreeFile:
        parts = _parts(self.rel)
        try:
            self._fds.append(os.open(self.root, _DIR_FLAGS))
            for i, part in enumerate(parts[:-1]):
                try:
                    self._fds.append(os.open(part, _DIR_FLAGS, dir_fd=self.parent_fd))
                except OSError as exc:
                    folder = "/".join(parts[: i + 1])
                    raise self._refused(f"the folder {folder} is no longer a folder inside the work tree "
                                        f"(moved, or replaced by a link: {_describe(exc)})") from None
        except BaseException:
            self._close()
            raise
        self.name = parts[-1]
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._close()

    def _close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    def _refused(self, reason: str) -> RefusedError:
        return RefusedError(reason, path=self.display)

    def read(self) -> Held | None:
        """The file's bytes, mode and owner now; None when it is gone.

        Raises:
            RefusedError: a FIFO, socket, device, folder or link is in the file's place (looked
                at without waiting on it or following it), or it cannot be read.
        """
        try:
            found = read_regular(self.name, dir_fd=self.parent_fd)
        except NotRegularFile as exc:
            raise self._refused(f"is no longer a regular file ({exc.kind})") from None
        except OSError as exc:
            raise self._refused(f"cannot be read as a regular file now ({_describe(exc)})") from None
        if found is None:
            return None
        data, info = found
        return Held(data, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)

    def replace(self, data: bytes, mode: int, uid: int | None = None, gid: int | None = None) -> None:
        """Atomically make the file hold ``data``, with ``mode`` and, where permitted, that owner."""
        tmp = f".{self.name}.{secrets.token_hex(4)}.fastapply.tmp"
        created = False
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=self.parent_fd)
            created = True
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                _give_owner(fd, uid, gid)
                os.fchmod(fd, mode)  # after the chown, which clears set-id bits
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.name, src_dir_fd=self.parent_fd, dst_dir_fd=self.parent_fd)
            created = False
        except OSError as exc:
            raise self._refused(f"not written ({_describe(exc)}); the file is as it was") from None
        finally:
            if created:
                try:
                    os.unlink(tmp, dir_fd=self.parent_fd)
                except OSError:
                    pass  # the temporary name is ours alone; a leftover never shadows the file
        try:
            os.fsync(self.parent_fd)
        except OSError:
            pass  # some filesystems refuse fsync on folders; the data itself is synced


def _give_owner(fd: int, uid: int | None, gid: int | None) -> None:
    """Owner and group where permitted, else the group alone, else whatever the process gets."""
    if uid is None or gid is None:
        return
    for owner in ((uid, gid), (-1, gid)):
        try:
            os.fchown(fd, *owner)
            return
        except PermissionError:
            continue
