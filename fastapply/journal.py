"""The undo journal under the git dir: apply records, content blobs, and the lock writers share.

``<git dir>/fastapply/`` holds ``applies/<id>.json`` (one record per apply: which files, their
bytes before and after by sha256, mode and owner), ``blobs/<sha256>`` (the bytes themselves) and
``lock``, a file every writer of the work tree flocks, so that a fingerprint check and the replace
after it are one step across processes. ``journal_dir(git_dir)`` is the one place the folder's
name is spelled; other state under it (batch progress, TUI history) should be placed through it.

Every journal file is read through ``fastapply.regular``: never a FIFO waited on, a link followed
or more bytes read than a record may hold (``MAX_RECORD_BYTES``) or a blob was recorded to hold
(its file's recorded size; ``MAX_UNSIZED_BLOB_BYTES`` for records from before sizes were kept). A
record read back is checked field by field: a damaged or forged one is skipped, never guessed at,
and ``scan`` names each one skipped, with why, for the caller to report. Whether a recorded path
lies inside the work tree is ``fastapply.writer``'s check, made at the moment of each write.
Failures to keep the journal become ``RefusedError``: no write happens without its record.

This module knows the journal's files, not git, the work tree or models.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import stat
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from fastapply.errors import RefusedError, UsageError
from fastapply.files import sha256, write_atomic
from fastapply.regular import read_regular

JOURNAL_DIRNAME = "fastapply"
_ID = re.compile(r"[0-9]{20}-[0-9a-f]{6}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_RECORD_BYTES = 64 << 20  # a record names files and an instruction; far more is not one of ours
MAX_UNSIZED_BLOB_BYTES = 256 << 20  # the cap on a saved copy whose record kept no size


def journal_dir(git_dir: Path) -> Path:
    """The folder of fastapply's own state for the work tree whose git dir is ``git_dir``."""
    return git_dir / JOURNAL_DIRNAME


def new_apply_id() -> str:
    """Sortable by time, unique across processes."""
    return f"{time.time_ns():020d}-{secrets.token_hex(3)}"


@dataclass(slots=True)
class AppliedFile:
    path: str  # repo-relative path of the file written
    before_sha256: str
    after_sha256: str
    mode: int
    uid: int | None = None  # the owner found at write time; None in records from before owners were kept
    gid: int | None = None
    before_size: int | None = None  # bytes of each saved copy; None in records from before sizes were kept
    after_size: int | None = None


@dataclass(slots=True)
class JournalScan:
    """The readable records, newest first, and the record files skipped: ``(name, why)``."""

    records: list[ApplyRecord]
    damaged: list[tuple[str, str]]

    def find(self, apply_id: str) -> ApplyRecord:
        """The record whose id is (or starts with) ``apply_id``.

        Raises:
            UsageError: no record, or several, match.
        """
        matches = [r for r in self.records if r.id.startswith(apply_id)] if apply_id else []
        if len(matches) != 1:
            what = "no apply" if not matches else f"{len(matches)} applies"
            raise UsageError(f"{what} with id {apply_id!r} (`fastapply undo --list` shows them)")
        return matches[0]


@dataclass(slots=True)
class ApplyRecord:
    id: str
    time: float
    instruction: str
    repo_root: str
    files: list[AppliedFile] = field(default_factory=list)
    commit: str | None = None
    undone: bool = False

    @property
    def paths(self) -> list[str]:
        """The files written, each once, in the order first written."""
        return list(dict.fromkeys(f.path for f in self.files))

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ApplyRecord:
        """A record from its JSON form.

        Raises:
            ValueError: a field is missing or of the wrong kind.
        """
        if not isinstance(data, dict) or not isinstance(data.get("files"), list):
            raise ValueError("not an apply record")
        record = cls(
            id=_typed(data, "id", str),
            time=float(_typed(data, "time", (int, float))),
            instruction=_typed(data, "instruction", str),
            repo_root=_typed(data, "repo_root", str),
            files=[_applied_file(f) for f in data["files"]],
            commit=_typed(data, "commit", (str, type(None))),
            undone=_typed(data, "undone", bool),
        )
        if not _ID.fullmatch(record.id):
            raise ValueError(f"bad apply id {record.id!r}")
        return record


def _typed(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    value = data.get(key)
    if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
        raise ValueError(f"{key}: {value!r}")  # bool is an int to isinstance, never to a record
    return value


def _applied_file(data: Any) -> AppliedFile:
    if not isinstance(data, dict):
        raise ValueError("not a file entry")
    entry = AppliedFile(
        path=_typed(data, "path", str),
        before_sha256=_typed(data, "before_sha256", str),
        after_sha256=_typed(data, "after_sha256", str),
        mode=_typed(data, "mode", int),
        uid=_typed(data, "uid", (int, type(None))),
        gid=_typed(data, "gid", (int, type(None))),
        before_size=_typed(data, "before_size", (int, type(None))),
        after_size=_typed(data, "after_size", (int, type(None))),
    )
    if any(size is not None and size < 0 for size in (entry.before_size, entry.after_size)):
        raise ValueError("bad size")
    if not (_DIGEST.fullmatch(entry.before_sha256) and _DIGEST.fullmatch(entry.after_sha256)):
        raise ValueError("bad digest")
    return entry


class Journal:
    """The journal of one work tree (``git_dir`` is that work tree's own git dir)."""

    def __init__(self, git_dir: Path) -> None:
        self.root = journal_dir(git_dir)

    def _refuse(self, exc: OSError, what: str) -> RefusedError:
        why = exc.strerror or str(exc)
        return RefusedError(f"cannot {what} in {self.root} ({why}), so nothing is written without its undo")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the journal's lock (exclusive, across processes) for one check-and-write."""
        try:
            for folder in (self.root / "applies", self.root / "blobs"):
                folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         0o644)
        except OSError as exc:
            raise self._refuse(exc, "keep the undo journal") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._refuse(OSError(f"{self.root / 'lock'} is not a regular file"), "keep the undo journal")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def store_blob(self, data: bytes) -> str:
        digest = sha256(data)
        path = self.root / "blobs" / digest
        if self.load_blob(digest, len(data)) is None:
            try:
                write_atomic(path, data, 0o600)  # a copy of a private file stays private
            except OSError as exc:
                raise self._refuse(exc, "save a copy for undo") from None
        return digest

    def load_blob(self, digest: str, size: int | None = None) -> bytes | None:
        """The bytes with this sha256 (and ``size``, where the record kept it), or None when
        missing, damaged, not a regular file, larger than recorded, or not a digest at all."""
        if not _DIGEST.fullmatch(digest):
            return None
        try:
            found = read_regular(self.root / "blobs" / digest,
                                 max_bytes=MAX_UNSIZED_BLOB_BYTES if size is None else size)
        except OSError:
            return None
        if found is None or sha256(found[0]) != digest:
            return None
        return found[0]

    def save(self, record: ApplyRecord) -> None:
        path = self.root / "applies" / f"{record.id}.json"
        data = json.dumps(record.to_dict(), indent=1).encode()
        if len(data) > MAX_RECORD_BYTES:  # one that could never be read back would be a write without undo
            raise self._refuse(OSError(f"the record would be over {MAX_RECORD_BYTES} bytes"), "record the apply")
        try:
            write_atomic(path, data, 0o644)
        except OSError as exc:
            raise self._refuse(exc, "record the apply") from None

    def discard(self, record: ApplyRecord) -> None:
        """Remove a record that names no file (its only write failed)."""
        assert not record.files
        try:
            (self.root / "applies" / f"{record.id}.json").unlink(missing_ok=True)
        except OSError:
            pass  # an empty record restores nothing; undo passes over it

    def records(self) -> list[ApplyRecord]:
        """Every readable record, newest first; damaged or forged ones are skipped."""
        return self.scan().records

    def scan(self) -> JournalScan:
        """Every readable record, newest first, and each record file skipped as damaged, with why."""
        folder = self.root / "applies"
        scan = JournalScan([], [])
        if not folder.is_dir():
            return scan
        for path in sorted(folder.glob("*.json"), reverse=True):
            try:
                record = _read_record(path)
            except (ValueError, TypeError, OSError, RecursionError) as exc:
                scan.damaged.append((path.name, _damage(exc)))
                continue
            if record is None:
                continue  # discarded while the folder was listed: an empty record, not damage
            if path.stem != record.id:
                scan.damaged.append((path.name, f"it holds apply {record.id}, not the one its name says"))
                continue
            scan.records.append(record)
        return scan

    def find(self, apply_id: str) -> ApplyRecord:
        """The record whose id is (or starts with) ``apply_id`` (``JournalScan.find``)."""
        return self.scan().find(apply_id)


def _read_record(path: Path) -> ApplyRecord | None:
    """One record file, read safely and checked; None when it is gone.

    Raises:
        OSError: not a regular file, over ``MAX_RECORD_BYTES``, unreadable.
        ValueError: not UTF-8, not JSON, or not an apply record (``UnicodeDecodeError`` included).
        RecursionError: JSON nested too deep.
    """
    found = read_regular(path, max_bytes=MAX_RECORD_BYTES)
    if found is None:
        return None
    return ApplyRecord.from_dict(json.loads(found[0].decode("utf-8")))


def _damage(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg})"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, RecursionError):
        return "JSON nested too deep"
    return f"not an apply record ({exc})"
