"""Undo of an apply: put back the exact bytes every file held before fastapply wrote it.

Undo is all or nothing per apply, under the journal's lock: every path of the record is walked
again inside the work tree (``fastapply.writer``; a forged ``../x``, an absolute path or a path
through a link is refused), every file must still hold exactly what fastapply wrote (or already
hold its bytes from before, as after an interrupted write) and still be writable (a file made
read-only since is the user's to free), and every saved copy must be intact;
otherwise it refuses, says which file and why, and writes nothing. Mode, owner and group are put
back with the bytes. An undone apply is marked as such, so the next ``undo_last`` goes one apply
further back; ``undo_apply`` takes back a chosen one, past a newer one that is blocked. A commit
made by the apply is left alone: undo changes the work tree only, never history or the index.

This module stands on the journal and the writer; it knows no models and no git beyond the
repository's location.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapply.errors import RefusedError
from fastapply.files import read_only, sha256
from fastapply.journal import AppliedFile, ApplyRecord, Journal
from fastapply.repo import RepoInfo, find_repo
from fastapply.writer import Held, TreeFile

UndoStatus = Literal["undone", "refused", "nothing"]


@dataclass(slots=True)
class UndoReport:
    status: UndoStatus
    apply_id: str | None = None
    restored: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    reason: str = ""
    instruction: str = ""


@dataclass(slots=True)
class _Restore:
    target: TreeFile
    applied: AppliedFile
    held: Held
    data: bytes


def list_applies(repo_root: str | Path) -> list[ApplyRecord]:
    """The applies recorded in this work tree, newest first (undone ones included, marked)."""
    return Journal(find_repo(repo_root).git_dir).records()


def blocked_applies(repo_root: str | Path) -> dict[str, list[tuple[str, str]]]:
    """For each apply not yet undone that cannot be undone now, its ``(path, reason)`` list."""
    repo = find_repo(repo_root)
    journal = Journal(repo.git_dir)
    blocked = {}
    for record in journal.records():
        if record.undone:
            continue
        with ExitStack() as stack:
            refused = _plan(repo, journal, record, stack)[1]
        if refused:
            blocked[record.id] = refused
    return blocked


def undo_last(repo_root: str | Path) -> UndoReport:
    """Restore the files of the newest apply not yet undone."""
    repo = find_repo(repo_root)
    journal = Journal(repo.git_dir)
    pending = [r for r in journal.records() if not r.undone and r.files]
    if not pending:
        return UndoReport(status="nothing", reason="no apply to undo")
    return _undo(repo, journal, pending[0].id)


def undo_apply(repo_root: str | Path, apply_id: str) -> UndoReport:
    """Restore the files of the apply whose id is (or starts with) ``apply_id``.

    Raises:
        UsageError: no recorded apply, or several, match ``apply_id``.
    """
    repo = find_repo(repo_root)
    journal = Journal(repo.git_dir)
    record = journal.find(apply_id)
    if record.undone:
        return UndoReport(status="nothing", apply_id=record.id, reason=f"apply {record.id} is already undone",
                          instruction=record.instruction)
    return _undo(repo, journal, record.id)


def _undo(repo: RepoInfo, journal: Journal, apply_id: str) -> UndoReport:
    with journal.locked(), ExitStack() as stack:
        record = journal.find(apply_id)  # read again under the lock: another undo may have won
        report = UndoReport(status="undone", apply_id=record.id, instruction=record.instruction)
        if record.undone:
            return UndoReport(status="nothing", apply_id=record.id, reason=f"apply {record.id} is already undone")
        restores, report.refused = _plan(repo, journal, record, stack)
        if report.refused:
            report.status = "refused"
            report.reason = "; ".join(f"{path}: {why}" for path, why in report.refused)
            return report
        done: list[_Restore] = []
        for restore in restores:
            try:
                _put(restore.target, restore.data, restore.applied, restore.held)
            except RefusedError as exc:
                for back in reversed(done):
                    _put(back.target, back.held.data, back.applied, back.held)
                report.status, report.reason = "refused", f"{exc}; nothing restored"
                report.refused = [(restore.applied.path, exc.reason)]
                return report
            done.append(restore)
            report.restored.append(restore.applied.path)
        record.undone = True
        journal.save(record)
    return report


def _plan(
    repo: RepoInfo, journal: Journal, record: ApplyRecord, stack: ExitStack
) -> tuple[list[_Restore], list[tuple[str, str]]]:
    """The restores an undo of ``record`` makes, newest write of each file first, or why not."""
    restores: list[_Restore] = []
    refused: list[tuple[str, str]] = []
    current: dict[str, str] = {}  # path -> what the file holds once the later entries are undone
    for applied in reversed(record.files):
        try:
            target = stack.enter_context(TreeFile(repo.root, applied.path))
            held = target.read()
        except RefusedError as exc:
            refused.append((applied.path, f"{exc.reason}; not restored (undo writes only inside the work tree)"))
            continue
        if held is None:
            refused.append((applied.path, "file no longer exists"))
            continue
        now = current.get(applied.path, sha256(held.data))
        current[applied.path] = applied.before_sha256
        if now == applied.before_sha256:
            continue  # already holds its bytes from before (the write never happened)
        if now != applied.after_sha256:
            refused.append((applied.path, "changed since fastapply wrote it"))
            continue
        if read_only(held.mode):
            refused.append((applied.path, "made read-only since fastapply wrote it (chmod u+w, then undo)"))
            continue
        data = journal.load_blob(applied.before_sha256)
        if data is None:
            refused.append((applied.path, "the saved copy is missing or damaged"))
            continue
        restores.append(_Restore(target, applied, held, data))
    return restores, refused


def _put(target: TreeFile, data: bytes, applied: AppliedFile, held: Held) -> None:
    uid = applied.uid if applied.uid is not None else held.uid
    gid = applied.gid if applied.gid is not None else held.gid
    target.replace(data, applied.mode, uid, gid)
