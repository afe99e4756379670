"""Undo of an apply: put back the exact bytes every file held before fastapply wrote it.

Undo is all or nothing per apply, under the journal's lock: every path of the record is walked
again inside the work tree (``fastapply.writer``; a forged ``../x``, an absolute path or a path
through a link is refused), every file must still hold exactly what fastapply wrote (or already
hold its bytes from before, as after an interrupted write) and still be writable (a file made
read-only since is the user's to free), and every saved copy must be intact;
otherwise it refuses, says which file and why, and writes nothing. A FIFO, socket, device or link
in a file's place is refused, looked at and never waited on (``fastapply.writer``). Owner and
group are put back with the bytes. The mode is the one exception: an apply keeps a file's mode, so
a mode that differs from the recorded one was set by the user after the apply (``chmod +x``), and
undo keeps it and says so (``UndoReport.kept_modes``) rather than silently take it back; the one
mode change that blocks an undo is a file made read-only, as above. The report also names files
that already held their bytes from before (``already``: after ``git stash``, say), so an undo that
restored nothing says why, and the journal's damaged records that were skipped (``damaged``), so a
damaged newest record is never silently passed over. An undone apply is marked as such, so the
next ``undo_last`` goes one apply further back; ``undo_apply`` takes back a chosen one, past a
newer one that is blocked. A commit made by the apply is left alone: undo changes the work tree
only, never history or the index.

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
    already: list[str] = field(default_factory=list)  # held their bytes from before; nothing to restore
    kept_modes: list[tuple[str, int, int]] = field(default_factory=list)  # (path, mode kept, mode recorded)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # journal records skipped: (name, why)


@dataclass(slots=True)
class _Restore:
    target: TreeFile
    applied: AppliedFile
    held: Held
    data: bytes
    mode: int  # the mode the file gets back (the user's own, where changed since the apply)


def list_applies(repo_root: str | Path) -> list[ApplyRecord]:
    """The applies recorded in this work tree, newest first (undone ones included, marked)."""
    return Journal(find_repo(repo_root).git_dir).records()


def damaged_records(repo_root: str | Path) -> list[tuple[str, str]]:
    """The journal's record files that cannot be read as applies, ``(file name, why)``, newest first."""
    return Journal(find_repo(repo_root).git_dir).scan().damaged


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
    scan = journal.scan()
    pending = [r for r in scan.records if not r.undone and r.files]
    if not pending:
        return UndoReport(status="nothing", reason="no apply to undo", damaged=scan.damaged)
    return _undo(repo, journal, pending[0].id)


def undo_apply(repo_root: str | Path, apply_id: str) -> UndoReport:
    """Restore the files of the apply whose id is (or starts with) ``apply_id``.

    Raises:
        UsageError: no recorded apply, or several, match ``apply_id``.
    """
    repo = find_repo(repo_root)
    journal = Journal(repo.git_dir)
    scan = journal.scan()
    record = scan.find(apply_id)
    if record.undone:
        return UndoReport(status="nothing", apply_id=record.id, reason=f"apply {record.id} is already undone",
                          instruction=record.instruction, damaged=scan.damaged)
    return _undo(repo, journal, record.id)


def _undo(repo: RepoInfo, journal: Journal, apply_id: str) -> UndoReport:
    with journal.locked(), ExitStack() as stack:
        scan = journal.scan()  # read again under the lock: another undo may have won
        record = scan.find(apply_id)
        report = UndoReport(status="undone", apply_id=record.id, instruction=record.instruction,
                            damaged=scan.damaged)
        if record.undone:
            report.status, report.reason = "nothing", f"apply {record.id} is already undone"
            return report
        restores, report.refused = _plan(repo, journal, record, stack)
        if report.refused:
            report.status = "refused"
            report.reason = "; ".join(f"{path}: {why}" for path, why in report.refused)
            return report
        done: list[_Restore] = []
        for restore in restores:
            try:
                _put(restore.target, restore.data, restore.mode, restore.applied, restore.held)
            except RefusedError as exc:
                for back in reversed(done):
                    back.target.replace(back.held.data, back.held.mode, back.held.uid, back.held.gid)
                report.status, report.reason = "refused", f"{exc}; nothing restored"
                report.refused = [(restore.applied.path, exc.reason)]
                report.restored, report.kept_modes = [], []
                return report
            done.append(restore)
            if restore.applied.path not in report.restored:
                report.restored.append(restore.applied.path)
            kept = (restore.applied.path, restore.mode, restore.applied.mode)
            if restore.mode != restore.applied.mode and kept not in report.kept_modes:
                report.kept_modes.append(kept)
        report.already = [path for path in record.paths if path not in report.restored]
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
        except RefusedError as exc:
            refused.append((applied.path, f"{exc.reason}; not restored (undo writes only inside the work tree)"))
            continue
        try:
            held = target.read()
        except RefusedError as exc:
            refused.append((applied.path, f"{exc.reason}; not restored"))
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
        data = journal.load_blob(applied.before_sha256, applied.before_size)
        if data is None:
            refused.append((applied.path, "the saved copy is missing or damaged"))
            continue
        # an apply keeps the mode it found, so a different one now is the user's, set since
        restores.append(_Restore(target, applied, held, data, held.mode))
    return restores, refused


def _put(target: TreeFile, data: bytes, mode: int, applied: AppliedFile, held: Held) -> None:
    uid = applied.uid if applied.uid is not None else held.uid
    gid = applied.gid if applied.gid is not None else held.gid
    target.replace(data, mode, uid, gid)
