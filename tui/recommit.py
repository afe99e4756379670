"""Applying again after an undo that left its commit in history: does HEAD already hold it?

Undo restores the files but never rewrites history, so after undoing a committed apply the
commit is still HEAD and the restored files differ from it. Writing the same rewrite again puts
back exactly HEAD's bytes: a commit would be empty, and the core's check calls the undo's
changes "yours". ``held_by_head`` finds that case before anything is written, so the apply
screen writes the files and says which commit already holds them. It reads results and asks
git; it writes nothing.
"""

from __future__ import annotations

from typing import Any


def held_by_head(results: list[Any], accepted: dict[str, set[int]]) -> str | None:
    """HEAD's sha when every file the apply would write would then hold exactly what HEAD holds
    (and the index holds HEAD's entry); None otherwise, or when nothing would be written.

    ``results`` and ``accepted`` are what ``fastapply.apply.apply_results`` is given.
    """
    from fastapply.apply import final_bytes
    from fastapply.repo import find_repo, uncommitted_changes

    planned = [
        (result, final_bytes(result, accepted.get(result.path, set())))
        for result in results
        if result.status == "changed" and result.source is not None
    ]
    written = {result.source.real_rel: data for result, data in planned if data is not None}
    roots = {result.source.repo_root for result, data in planned if data is not None}
    if not written or len(roots) != 1:
        return None
    repo = find_repo(roots.pop())
    if repo.head is None:
        return None
    # judged as if the written bytes were the files' old ones: no problem means they equal HEAD's
    if uncommitted_changes(repo, list(written), before=dict(written)):
        return None
    return repo.head


def undo_note(repo_root: Any, undone: str | None) -> str:
    """Why a commit was refused after an undo, when the undone apply's commit is still HEAD."""
    from fastapply.errors import FastapplyError
    from fastapply.repo import find_repo

    if not undone:
        return ""
    try:
        head = find_repo(repo_root).head
    except (FastapplyError, OSError):
        return ""
    if head != undone:
        return ""
    short = undone[:10]
    return (
        f" (the undo put back the files as they were before commit {short}, which is still HEAD: those"
        f" are the changes; untick commit to write only, or git revert {short} first)"
    )
