"""Reading a regular file without waiting on it, following a final link, or reading without end.

``read_regular`` opens a name with ``O_NOFOLLOW | O_NONBLOCK``, checks by ``fstat`` on the open
descriptor that it is a regular file, and reads it up to a size cap. A FIFO, a socket, a device, a
folder or a symlink in its place is ``NotRegularFile``, whose ``kind`` names what is there. The
work tree's files (``fastapply.writer``, ``fastapply.files``), the journal's
(``fastapply.journal``) and the config file (``fastapply.config_file``) are read through it, so nothing a user or another process puts at a path
can hang a reader holding the journal's lock or fill memory.

This module knows names, descriptors and bytes; not the work tree, the journal, git or models.
"""

from __future__ import annotations

import errno
import os
import stat


class NotRegularFile(OSError):
    """What a name holds is not a regular file; ``kind`` says what it is ("a FIFO", "a symlink")."""

    def __init__(self, kind: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file ({kind})")
        self.kind = kind


class FileTooLarge(OSError):
    """A regular file holds more bytes than its reader accepts."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"too large ({size} bytes > limit {limit})")
        self.size = size
        self.limit = limit


def file_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words, for a refusal."""
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symlink"),
        (stat.S_ISREG, "a regular file"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


# O_NONBLOCK: opening a FIFO for reading waits for a writer otherwise (and it changes nothing for a
# regular file); O_NOFOLLOW: a final symlink (to /dev/zero, say) is refused, not read.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def read_regular(
    name: str | os.PathLike[str], *, dir_fd: int | None = None, max_bytes: int | None = None
) -> tuple[bytes, os.stat_result] | None:
    """The bytes of the regular file ``name`` (relative to ``dir_fd`` when given) and its fstat.

    Never blocks on a FIFO, never follows a final symlink, never reads past ``max_bytes``. None
    when the name is gone.

    Raises:
        NotRegularFile: a FIFO, socket, device, folder or symlink is there.
        FileTooLarge: more than ``max_bytes`` bytes (by fstat, or by reading a file that grew).
        OSError: it cannot be opened or read (permissions, I/O).
    """
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError:
        # a symlink fails with ELOOP and a socket with ENXIO: say what is there when that is why
        try:
            kind = os.lstat(name, dir_fd=dir_fd).st_mode
        except OSError:
            kind = stat.S_IFREG
        if not stat.S_ISREG(kind):
            raise NotRegularFile(file_kind(kind)) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(file_kind(info.st_mode))
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileTooLarge(info.st_size, max_bytes)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise FileTooLarge(total, max_bytes)
    finally:
        os.close(fd)
    return b"".join(chunks), info
