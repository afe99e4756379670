"""Writing edit results into the work tree (ARCHITECTURE.md, "The write pipeline", steps 5-9).

The accepted hunks are merged in memory, re-encoded in each file's original style, every
fingerprint is checked before anything is written (all or nothing), each file is checked again
just before its atomic write, the apply is recorded under the git dir for ``undo``, and a commit is
made only when asked for. Only results with status ``changed`` are ever written.

This module knows files, the apply journal and git commits, not models.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fastapply.diff import merge_hunks
from fastapply.edit import EditResult
from fastapply.errors import RefusedError, UsageError
from fastapply.files import current_sha256, sha256, write_atomic
from fastapply.repo import commit as git_commit
from fastapply.repo import RepoInfo, find_repo, index_locked

JOURNAL = "fastapply"


@dataclass(slots=True)
class AppliedFile:
    path: str  # repo-relative path of the file written
    before_sha256: str
    after_sha256: str
    mode: int


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
        return [f.path for f in self.files]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ApplyRecord:
        files = [AppliedFile(**f) for f in data.get("files", [])]  # type: ignore[arg-type, union-attr]
        rest = {k: v for k, v in data.items() if k != "files"}
        return cls(files=files, **rest)  # type: ignore[arg-type]


def journal_dir(git_dir: Path) -> Path:
    return git_dir / JOURNAL


def store_blob(git_dir: Path, data: bytes) -> str:
    digest = sha256(data)
    path = journal_dir(git_dir) / "blobs" / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data, 0o644)
    return digest


def load_blob(git_dir: Path, digest: str) -> bytes | None:
    path = journal_dir(git_dir) / "blobs" / digest
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return data if sha256(data) == digest else None


def save_record(git_dir: Path, record: ApplyRecord) -> None:
    path = journal_dir(git_dir) / "applies" / f"{record.id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(record.to_dict(), indent=1).encode(), 0o644)


def default_commit_message(instruction: str) -> str:
    """The commit subject when none is given: the instruction's first line, 72 characters at most."""
    lines = instruction.strip().splitlines()
    return f"fastapply: {lines[0] if lines else 'apply'}"[:72]


def final_bytes(result: EditResult, accepted: set[int] | None) -> bytes | None:
    """What the file will hold: the accepted hunks encoded in the file's style, or None for none."""
    assert result.source is not None
    text = result.after if accepted is None else merge_hunks(result.before, result.after, accepted)
    if text == result.before:
        return None
    return result.source.encode(text)


class ApplySession:
    """One apply, written file by file into a single journal record (what ``undo`` restores).

    Each ``write`` re-checks that file's fingerprint right before its atomic write and saves the
    record at once, so an interrupted run still leaves an undoable journal of what it wrote.
    """

    def __init__(self, repo: RepoInfo, instruction: str = "") -> None:
        self.repo = repo
        self.record = ApplyRecord(
            id=f"{time.time_ns():020d}-{secrets.token_hex(3)}",
            time=time.time(),
            instruction=instruction,
            repo_root=str(repo.root),
        )

    def write(self, result: EditResult, accepted: set[int] | None = None, *, merge: bool = False) -> bool:
        """Write one ``changed`` result; False when there was nothing to write.

        With ``merge``, a file that changed since it was read is merged three ways (``git
        merge-file``: the bytes read as base, the file now, the rewrite) and written only when
        that merge is clean.

        Raises:
            RefusedError: the file changed on disk since it was read (and, with ``merge``, the
                merge conflicts); it is left as it is.
            UsageError: the file is in another repository.
        """
        source = result.source
        if result.status != "changed" or source is None:
            return False
        if source.repo_root != self.repo.root:
            raise UsageError(f"{result.path}: not in {self.repo.root}; one apply, one repository")
        data = final_bytes(result, accepted)
        if data is None:
            return False
        before = source.data
        # Checked right before this write, so the window is this one file, not the whole run.
        if current_sha256(source.real_path) != source.sha256:
            if not merge:
                raise RefusedError(f"{result.path}: changed on disk since it was read")
            before = source.real_path.read_bytes()
            merged = merge_three_way(source.data, before, data)
            if merged is None:
                raise RefusedError(
                    f"{result.path}: changed on disk since it was read, and the three-way merge conflicts"
                )
            data = merged
        store_blob(self.repo.git_dir, before)
        store_blob(self.repo.git_dir, data)
        write_atomic(source.real_path, data, source.mode)
        self.record.files.append(AppliedFile(source.real_rel, sha256(before), sha256(data), source.mode))
        if not self.record.instruction:
            self.record.instruction = result.instruction
        save_record(self.repo.git_dir, self.record)
        return True

    def finish(self, *, commit: bool = False, message: str | None = None) -> ApplyRecord:
        """Commit the written files when asked (running hooks) and return the record.

        Raises:
            RefusedError: the index is locked by another git process (files stay written).
            UsageError: git refused the commit.
        """
        if commit and self.record.files:
            text = message or default_commit_message(self.record.instruction)
            self.record.commit = git_commit(self.repo, self.record.paths, text)
            save_record(self.repo.git_dir, self.record)
        return self.record


def apply_results(
    results: list[EditResult],
    *,
    accepted: dict[str, set[int]] | None = None,
    commit: bool = False,
    message: str | None = None,
    instruction: str = "",
    merge: bool = False,
) -> ApplyRecord:
    """Write the ``changed`` results (``accepted`` hunks only, where given) and record the apply.

    All or nothing up front: every fingerprint is checked before the first write. With ``merge``
    a changed file is merged three ways instead (see ``ApplySession.write``); a conflict refuses
    that file after earlier files were written (they stay recorded, so undo takes them back).

    Raises:
        RefusedError: a file changed on disk since it was read, or the index is locked when a
            commit was asked for. Nothing is written in either case.
        UsageError: the results span several repositories, or the commit failed (files are
            written and recorded by then).
    """
    chosen = [
        r
        for r in results
        if r.status == "changed"
        and r.source is not None
        and final_bytes(r, None if accepted is None else accepted.get(r.path, set())) is not None
    ]
    roots = {r.source.repo_root for r in chosen if r.source is not None}
    if len(roots) > 1:
        raise UsageError("one apply can only write into one repository")
    if not chosen:
        return ApplyRecord(id="", time=time.time(), instruction=instruction, repo_root="")
    repo = find_repo(roots.pop())
    for result in chosen:
        if result.changed_on_disk() and not merge:
            raise RefusedError(f"{result.path}: changed on disk since it was read; nothing written")
    if commit and index_locked(repo):
        raise RefusedError(
            f"{repo.git_dir / 'index.lock'} exists: another git process is running; nothing written"
        )
    session = ApplySession(repo, instruction)
    for result in chosen:
        session.write(result, None if accepted is None else accepted.get(result.path, set()), merge=merge)
    return session.finish(commit=commit, message=message)


def merge_three_way(base: bytes, current: bytes, rewrite: bytes) -> bytes | None:
    """``git merge-file`` of the rewrite into the current bytes; None when the merge conflicts."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fastapply-merge-") as folder:
        paths = []
        for name, data in (("current", current), ("base", base), ("rewrite", rewrite)):
            path = Path(folder) / name
            path.write_bytes(data)
            paths.append(str(path))
        done = subprocess.run(["git", "merge-file", "-p", "--quiet", *paths], capture_output=True)
    return done.stdout if done.returncode == 0 else None


def list_records(git_dir: Path) -> list[ApplyRecord]:
    """Every recorded apply, newest first."""
    folder = journal_dir(git_dir) / "applies"
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.glob("*.json"), reverse=True):
        try:
            records.append(ApplyRecord.from_dict(json.loads(path.read_text())))
        except (ValueError, TypeError, OSError):
            continue  # a damaged record is skipped, never guessed at
    return records


def current_matches(repo_root: Path, applied: AppliedFile) -> bool:
    return current_sha256(Path(os.path.join(repo_root, applied.path))) == applied.after_sha256
