"""Writing edit results into the work tree (ARCHITECTURE.md, "The write pipeline", steps 5-9).

The accepted hunks are merged in memory, re-encoded in each file's original style, and every
fingerprint is checked before anything is written (all or nothing). Each file is then written
under the journal's lock: its path is walked again from the work tree's root, its bytes are read
and compared with what was read before generation, the apply is recorded (both blobs and the
record) and only then is the file replaced. A commit is made only when asked for, and only of
files whose sole change is fastapply's. Only results with status ``changed`` are ever written.

This module knows files, the journal and git commits, not models.
"""

from __future__ import annotations

import time

from fastapply.diff import merge_hunks
from fastapply.edit import EditResult
from fastapply.errors import RefusedError, UsageError
from fastapply.files import disk_change, read_only, sha256
from fastapply.journal import AppliedFile, ApplyRecord, Journal, new_apply_id
from fastapply.repo import RepoInfo, find_repo, index_locked, operation_in_progress, uncommitted_changes
from fastapply.repo import commit as git_commit
from fastapply.writer import TreeFile

__all__ = [
    "ApplyRecord",
    "ApplySession",
    "apply_results",
    "default_commit_message",
    "final_bytes",
    "refuse_uncommittable",
]


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


def refuse_uncommittable(repo: RepoInfo, paths: list[str]) -> None:
    """Refuse a commit of ``paths`` that would carry anything but fastapply's own rewrite.

    Call it before writing: a commit is refused while a merge, rebase, cherry-pick or revert is in
    progress, while the index is locked, and when a file holds changes of the user's against
    HEAD (staged or not) or is not in HEAD at all.

    Raises:
        RefusedError: naming the state or the files, and saying what to do instead.
    """
    busy = operation_in_progress(repo)
    if busy is not None:
        raise RefusedError(f"a {busy} is in progress; finish it before committing with fastapply; nothing written")
    if index_locked(repo):
        raise RefusedError(
            f"{repo.git_dir / 'index.lock'} exists: another git process is running; nothing written"
        )
    problems = uncommitted_changes(repo, paths)
    if problems:
        advice = (
            "a commit would carry your own changes under fastapply's name; commit them first, or run "
            "without --commit; nothing written"
        )
        if len(problems) == 1:
            raise RefusedError(f"{problems[0][1]}; {advice}", path=problems[0][0])
        raise RefusedError("; ".join(f"{path} {why}" for path, why in problems) + f"; {advice}")


class ApplySession:
    """One apply, written file by file into a single journal record (what ``undo`` restores).

    Each ``write`` is a compare-and-swap under the journal's lock, and the record naming the file
    is saved before the file is replaced, so every write, even an interrupted run's, can be undone.
    """

    def __init__(self, repo: RepoInfo, instruction: str = "") -> None:
        self.repo = repo
        self.journal = Journal(repo.git_dir)
        self.record = ApplyRecord(id=new_apply_id(), time=time.time(), instruction=instruction, repo_root=str(repo.root))

    def write(self, result: EditResult, accepted: set[int] | None = None) -> bool:
        """Write one ``changed`` result; False when there was nothing to write.

        Raises:
            RefusedError: with ``path`` and ``reason``: the file changed on disk since it was read,
                its folder moved out of the tree, the journal cannot be kept, or the write failed
                (a full disk, an immutable file). The file is left as it was.
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
        try:
            with self.journal.locked(), TreeFile(self.repo.root, source.real_rel, display=result.path) as target:
                held = target.read()
                if held is None or sha256(held.data) != source.sha256:
                    raise RefusedError("changed on disk since it was read", path=result.path)
                if read_only(held.mode):
                    raise RefusedError("made read-only since it was read", path=result.path)
                entry = AppliedFile(source.real_rel, source.sha256, sha256(data), held.mode, held.uid, held.gid,
                                    before_size=len(held.data), after_size=len(data))
                self._record(entry, held.data, data, result.instruction)
                try:
                    target.replace(data, held.mode, held.uid, held.gid)
                except RefusedError:
                    self._forget(entry)
                    raise
        except RefusedError as exc:
            if exc.path is None:
                raise RefusedError(exc.reason, path=result.path) from None
            raise
        return True

    def _record(self, entry: AppliedFile, before: bytes, after: bytes, instruction: str) -> None:
        self.journal.store_blob(before)
        self.journal.store_blob(after)
        self.record.files.append(entry)
        if not self.record.instruction:
            self.record.instruction = instruction
        try:
            self.journal.save(self.record)
        except RefusedError:
            self.record.files.pop()
            raise

    def _forget(self, entry: AppliedFile) -> None:
        """Take back the entry of a replace that failed, so no record claims it."""
        self.record.files.remove(entry)
        if not self.record.files:
            self.journal.discard(self.record)
            return
        try:
            self.journal.save(self.record)
        except RefusedError:
            pass  # the record still names the file, which holds its before bytes: undo accepts that

    def finish(self, *, commit: bool = False, message: str | None = None) -> ApplyRecord:
        """Commit the written files when asked (running hooks) and return the record.

        Only files whose bytes before the apply were HEAD's (and whose index entry is HEAD's) are
        committed, so the commit holds fastapply's rewrite and nothing of the user's.

        Raises:
            RefusedError: the index is locked, a file holds more than fastapply's change or
                changed since fastapply wrote it, or git refused the commit (files stay written;
                ``undo`` takes them back; the index is left as it was).
        """
        if commit and self.record.files:
            self._check_committable()
            text = message or default_commit_message(self.record.instruction)
            self.record.commit = git_commit(self.repo, self.record.paths, text)
            self.journal.save(self.record)
        return self.record

    def _check_committable(self) -> None:
        firsts: dict[str, AppliedFile] = {}
        lasts: dict[str, AppliedFile] = {}
        for entry in self.record.files:
            firsts.setdefault(entry.path, entry)
            lasts[entry.path] = entry
        for path, entry in lasts.items():
            with TreeFile(self.repo.root, path) as target:
                held = target.read()
            if held is None or sha256(held.data) != entry.after_sha256:
                raise RefusedError("changed since fastapply wrote it; not committed", path=path)
        before = {
            path: self.journal.load_blob(entry.before_sha256, entry.before_size) for path, entry in firsts.items()
        }
        problems = uncommitted_changes(self.repo, list(firsts), before=before)
        if problems:
            named = "; ".join(f"{path} {why}" for path, why in problems)
            raise RefusedError(
                f"not committed: {named}, and a commit would carry those changes under fastapply's "
                "name (the files stay written; `fastapply undo` takes them back)"
            )


def apply_results(
    results: list[EditResult],
    *,
    accepted: dict[str, set[int]] | None = None,
    commit: bool = False,
    message: str | None = None,
    instruction: str = "",
) -> ApplyRecord:
    """Write the ``changed`` results (``accepted`` hunks only, where given) and record the apply.

    All or nothing up front: every fingerprint is checked, and with ``commit`` the repository's
    state and every file's changes (``refuse_uncommittable``), before the first write.

    Raises:
        RefusedError: a file changed on disk since it was read, or a commit was asked for and
            cannot hold only fastapply's rewrite; nothing is written. Also a write refused by
            ``ApplySession.write``, or a commit git refused; files written before stay recorded,
            so undo takes them back (the index as it was).
        UsageError: the results span several repositories.
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
        assert result.source is not None
        try:  # a FIFO in the file's place is refused, never waited on
            changed = disk_change(result.source)
        except OSError as exc:
            changed = f"cannot be read now ({exc.strerror or exc})"
        if changed is not None:
            raise RefusedError(f"{changed}; nothing written", path=result.path)
    if commit:
        refuse_uncommittable(repo, [r.source.real_rel for r in chosen if r.source is not None])
    session = ApplySession(repo, instruction)
    for result in chosen:
        session.write(result, None if accepted is None else accepted.get(result.path, set()))
    return session.finish(commit=commit, message=message)
