"""Undo of the last apply: put back the exact bytes every file held before fastapply wrote it.

Undo is all or nothing: it restores only when every file of the apply still holds exactly what
fastapply wrote (checked by fingerprint) and the saved blobs are intact; otherwise it refuses and
says which file and why, and writes nothing. An undone apply is marked as such, so the next undo
goes one apply further back. A commit made by the apply is left alone: undo changes the work tree
only, never history.

This module knows the apply journal and files, not models or the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapply.apply import ApplyRecord, list_records, load_blob, save_record
from fastapply.files import current_sha256, write_atomic
from fastapply.repo import find_repo

UndoStatus = Literal["undone", "refused", "nothing"]


@dataclass(slots=True)
class UndoReport:
    status: UndoStatus
    apply_id: str | None = None
    restored: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    reason: str = ""
    instruction: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "refused"


def list_applies(repo_root: str | Path) -> list[ApplyRecord]:
    """The applies recorded in this work tree, newest first (undone ones included, marked)."""
    return list_records(find_repo(repo_root).git_dir)


def undo_last(repo_root: str | Path) -> UndoReport:
    """Restore the files of the newest apply not yet undone."""
    repo = find_repo(repo_root)
    pending = [r for r in list_records(repo.git_dir) if not r.undone]
    if not pending:
        return UndoReport(status="nothing", reason="no apply to undo")
    record = pending[0]
    report = UndoReport(status="undone", apply_id=record.id, instruction=record.instruction)
    restores: list[tuple[Path, bytes, int]] = []
    for applied in record.files:
        target = repo.root / applied.path
        now = current_sha256(target)
        if now is None:
            report.refused.append((applied.path, "file no longer exists"))
            continue
        if now != applied.after_sha256:
            report.refused.append((applied.path, "changed since fastapply wrote it"))
            continue
        data = load_blob(repo.git_dir, applied.before_sha256)
        if data is None:
            report.refused.append((applied.path, "the saved copy is missing or damaged"))
            continue
        restores.append((target, data, applied.mode))
    if report.refused:
        report.status = "refused"
        report.reason = "; ".join(f"{path}: {why}" for path, why in report.refused)
        return report
    for target, data, mode in restores:
        write_atomic(target, data, mode)
        report.restored.append(target.relative_to(repo.root).as_posix())
    record.undone = True
    save_record(repo.git_dir, record)
    return report
