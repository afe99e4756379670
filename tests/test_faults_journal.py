"""Faults on the journal: a record that cannot be kept means no write, and undo trusts no record.

Defects 1, 9 and 10 of the write-path issue; the snapshot rule is fault_support's.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import FakeBackend, rename_rewrite
from fault_support import (
    CODE,
    RENAME,
    RENAMED,
    edit_one,
    repo,  # noqa: F401  (the repository fixture)
    snapshot,
    written_files,
)

from fastapply.apply import apply_results
from fastapply.cli import main as cli_main
from fastapply.errors import RefusedError
from fastapply.repo import find_repo
from fastapply.undo import list_applies, undo_last

# 1. A write with no undo: the journal cannot be written.


def test_a_blocked_journal_refuses_the_write_and_leaves_everything(repo: Path) -> None:
    (repo / ".git" / "fastapply").write_text("not a folder\n")
    result = edit_one(repo / "a.py")
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="fastapply") as caught:
        apply_results([result])
    assert caught.value.path == "a.py" and "undo" in caught.value.reason
    assert snapshot(repo) == before
    assert (repo / ".git" / "fastapply").read_text() == "not a folder\n"


def test_a_blocked_journal_through_the_cli_exits_3_without_a_traceback(
    repo: Path, monkeypatch: pytest.MonkeyPatch, use_backend, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    use_backend(FakeBackend(rewrite=rename_rewrite))
    (repo / ".git" / "fastapply").write_text("")
    before = snapshot(repo)
    assert cli_main(["run", "a.py", "-m", RENAME]) == 3
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out and "a.py: refused" in captured.out
    assert snapshot(repo) == before


def test_a_record_that_cannot_be_saved_means_no_write(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = edit_one(repo / "a.py")
    before = snapshot(repo)
    real_open = os.open

    def full_journal(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if "applies" in str(path) and flags & os.O_CREAT:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", full_journal)
    with pytest.raises(RefusedError, match="No space left"):
        apply_results([result])
    monkeypatch.undo()
    assert snapshot(repo) == before
    assert undo_last(repo).status == "nothing"


def test_the_record_and_both_blobs_are_saved_before_the_replace(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = edit_one(repo / "a.py")
    git_dir = find_repo(repo).git_dir
    seen: list[list[str]] = []
    real_replace = os.replace

    def observing(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if str(dst).endswith("a.py"):
            records = list_applies(repo)
            seen.append([f.path for r in records for f in r.files])
            for digest in (hashlib.sha256(CODE.encode()).hexdigest(), hashlib.sha256(RENAMED).hexdigest()):
                assert (git_dir / "fastapply" / "blobs" / digest).is_file()
        real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", observing)
    apply_results([result])
    assert seen == [["a.py"]]
    assert (repo / "a.py").read_bytes() == RENAMED


# 9. Undo trusts no path of its journal.


@pytest.mark.parametrize("kind", ["parent", "absolute", "through-link", "git-dir"])
def test_a_forged_journal_record_restores_nothing_outside_the_tree(repo: Path, tmp_path: Path, kind: str) -> None:
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    victim = victim_dir / "v.py"
    victim.write_text("precious\n")
    (repo / "out").symlink_to(victim_dir)
    git_dir = find_repo(repo).git_dir
    forged_path = {
        "parent": "../victim/v.py",
        "absolute": str(victim),
        "through-link": "out/v.py",
        "git-dir": ".git/config",
    }[kind]
    aimed = victim if kind != "git-dir" else repo / ".git" / "config"
    payload = b"owned\n"
    blobs = git_dir / "fastapply" / "blobs"
    blobs.mkdir(parents=True)
    digest = hashlib.sha256(payload).hexdigest()
    (blobs / digest).write_bytes(payload)
    record = {
        "id": "00000000000000000001-abcdef",
        "time": 1.0,
        "instruction": "forged",
        "repo_root": str(repo),
        "files": [
            {
                "path": forged_path,
                "before_sha256": digest,
                "after_sha256": hashlib.sha256(aimed.read_bytes()).hexdigest(),
                "mode": 0o644,
            }
        ],
        "commit": None,
        "undone": False,
    }
    (git_dir / "fastapply" / "applies").mkdir()
    (git_dir / "fastapply" / "applies" / f"{record['id']}.json").write_text(json.dumps(record))
    before = snapshot(repo, victim, repo / ".git" / "config")
    report = undo_last(repo)
    assert report.status == "refused" and report.restored == []
    assert "inside the work tree" in report.reason or "outside" in report.reason
    assert snapshot(repo, victim, repo / ".git" / "config") == before


# 10. One blocked apply does not block every older one.


def test_an_older_apply_is_undone_by_id_past_a_newer_one_that_is_blocked(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = apply_results([edit_one(repo / "a.py")], instruction=RENAME)
    apply_results([edit_one(repo / "b.py", "Rename add to sum")], instruction="Rename add to sum")
    (repo / "b.py").write_text("edited by hand\n")
    monkeypatch.chdir(repo)
    before = snapshot(repo)
    assert cli_main(["undo"]) == 3
    err = capsys.readouterr().err
    assert "b.py: changed since fastapply wrote it" in err and "undo ID" in err
    assert snapshot(repo) == before
    assert cli_main(["undo", "--list"]) == 0
    listing = capsys.readouterr().out
    assert first.id in listing and "blocked" in listing
    assert cli_main(["undo", first.id]) == 0
    assert "restored a.py" in capsys.readouterr().out
    assert written_files(before, snapshot(repo)) == {"a.py": CODE.encode()}
    assert (repo / "b.py").read_text() == "edited by hand\n"
