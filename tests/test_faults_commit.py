"""Committing exactly what fastapply wrote: a failing hook, a merge in progress, the user's edits.

A failed or refused commit leaves the index and HEAD as they were (defects 4 and 5).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FakeBackend, git, rename_rewrite
from fault_support import (
    CODE,
    RENAME,
    RENAMED,
    edit_one,
    repo,  # noqa: F401  (the repository fixture)
    snapshot,
    written_files,
)

from fastapply.apply import ApplySession, apply_results
from fastapply.cli import main as cli_main
from fastapply.errors import RefusedError
from fastapply.repo import find_repo
from fastapply.undo import undo_last

# 4 and 5: committing exactly what fastapply wrote, and a failed commit leaves the index alone.


def test_a_failing_pre_commit_hook_leaves_the_index_and_undo_restores_everything(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="hook says no"):
        apply_results([edit_one(repo / "a.py")], commit=True)
    after = snapshot(repo)
    assert written_files(before, after) == {"a.py": RENAMED}
    assert (after["index"], after["staged"], after["head"]) == (before["index"], before["staged"], before["head"])
    assert undo_last(repo).status == "undone"
    assert snapshot(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def _start_conflicted_merge(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "b.py").write_text("side\n")
    git(repo, "commit", "-qam", "side")
    git(repo, "checkout", "-q", "main")
    (repo / "b.py").write_text("main\n")
    git(repo, "commit", "-qam", "main")
    git(repo, "merge", "side", check=False)
    assert (repo / ".git" / "MERGE_HEAD").exists()


def test_a_merge_in_progress_refuses_a_commit_before_anything_is_written(repo: Path) -> None:
    _start_conflicted_merge(repo)
    result = edit_one(repo / "a.py")
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="merge"):
        apply_results([result], commit=True)
    assert snapshot(repo) == before
    assert (repo / ".git" / "MERGE_HEAD").exists()


def test_a_commit_that_git_refuses_mid_merge_leaves_the_index_as_it_was(repo: Path) -> None:
    _start_conflicted_merge(repo)
    session = ApplySession(find_repo(repo), RENAME)
    before = snapshot(repo)
    assert session.write(edit_one(repo / "a.py"))
    with pytest.raises(RefusedError):
        session.finish(commit=True)
    after = snapshot(repo)
    assert written_files(before, after) == {"a.py": RENAMED}
    assert (after["index"], after["staged"], after["head"]) == (before["index"], before["staged"], before["head"])
    assert undo_last(repo).status == "undone"
    assert snapshot(repo) == before


@pytest.mark.parametrize("state", ["staged", "unstaged", "staged-and-unstaged", "untracked"])
def test_commit_refuses_files_holding_changes_of_the_user(repo: Path, state: str) -> None:
    target = repo / "a.py"
    if state == "untracked":
        target = repo / "new.py"
        target.write_text(CODE)
    if state.startswith("staged"):
        target.write_text(CODE + "staged = 1\n")
        git(repo, "add", "a.py")
    if state.endswith("unstaged"):
        target.write_text(target.read_text() + "unstaged = 1\n")
    result = edit_one(target)
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="would carry your own changes") as caught:
        apply_results([result], commit=True)
    assert caught.value.path == target.name
    assert snapshot(repo) == before


def test_run_commit_never_commits_staged_and_unstaged_edits_of_the_user(
    repo: Path, monkeypatch: pytest.MonkeyPatch, use_backend, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    use_backend(FakeBackend(rewrite=rename_rewrite))
    (repo / "a.py").write_text(CODE + "staged = 1\n")
    git(repo, "add", "a.py")
    (repo / "a.py").write_text(CODE + "staged = 1\nunstaged = 1\n")
    before = snapshot(repo)
    assert cli_main(["run", "a.py", "-m", RENAME, "--commit"]) == 3
    assert "a.py" in capsys.readouterr().err
    after = snapshot(repo)
    assert (after["index"], after["staged"], after["head"]) == (before["index"], before["staged"], before["head"])
    assert cli_main(["undo"]) == 0  # whatever was written comes back out
    assert snapshot(repo) == before
