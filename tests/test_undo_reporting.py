"""What undo tells its caller: files that already held their bytes from before, damaged journal
records it skipped, and a mode the user set after the apply, which it keeps."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from conftest import git
from fault_support import CODE, RENAMED, edit_one
from fault_support import repo  # noqa: F401  (the repository fixture)

from fastapply.apply import apply_results
from fastapply.cli import main as cli_main
from fastapply.repo import find_repo
from fastapply.undo import damaged_records, list_applies, undo_last


def _record_file(repo: Path, apply_id: str) -> Path:
    return find_repo(repo).git_dir / "fastapply" / "applies" / f"{apply_id}.json"


# (a) A file that already holds its bytes from before the apply.


def test_undo_after_git_stash_says_the_file_already_holds_its_old_bytes(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_results([edit_one(repo / "a.py")])
    git(repo, "stash", "-q")
    assert (repo / "a.py").read_text() == CODE
    monkeypatch.chdir(repo)
    assert cli_main(["undo"]) == 0
    out = capsys.readouterr().out
    assert out == "a.py: already holds its bytes from before the apply; nothing to restore\n"
    assert (repo / "a.py").read_text() == CODE and [r.undone for r in list_applies(repo)] == [True]


def test_the_report_names_restored_and_already_restored_files_apart(repo: Path) -> None:
    apply_results([edit_one(repo / "a.py"), edit_one(repo / "b.py")])
    (repo / "a.py").write_text(CODE)
    report = undo_last(repo)
    assert (report.status, report.restored, report.already) == ("undone", ["b.py"], ["a.py"])


# (b) Damaged journal records are named, never passed over in silence.


def test_a_truncated_record_is_reported_by_undo_and_by_the_listing(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    record = apply_results([edit_one(repo / "a.py")])
    path = _record_file(repo, record.id)
    path.write_bytes(path.read_bytes()[:40])
    line = f"fastapply: skipped a damaged journal record: {record.id}.json (not valid JSON"
    monkeypatch.chdir(repo)
    assert cli_main(["undo"]) == 0
    err = capsys.readouterr().err
    assert line in err and "nothing to undo" in err
    assert cli_main(["undo", "--list"]) == 0
    captured = capsys.readouterr()
    assert line in captured.err and captured.out == ""
    assert [name for name, _ in undo_last(repo).damaged] == [f"{record.id}.json"]
    assert [name for name, _ in damaged_records(repo)] == [f"{record.id}.json"]
    assert (repo / "a.py").read_bytes() == RENAMED


def test_a_damaged_newer_record_is_named_when_an_older_apply_is_undone(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_results([edit_one(repo / "a.py")])
    _record_file(repo, "99999999999999999999-abcdef").write_text('{"id": "99999999999999999999-abcdef"}')
    monkeypatch.chdir(repo)
    assert cli_main(["undo"]) == 0
    captured = capsys.readouterr()
    assert "skipped a damaged journal record: 99999999999999999999-abcdef.json (not an apply record" in captured.err
    assert captured.out == "restored a.py\n" and (repo / "a.py").read_text() == CODE


def test_a_record_under_another_apply_id_is_named(repo: Path) -> None:
    record = apply_results([edit_one(repo / "a.py")])
    _record_file(repo, "99999999999999999999-abcdef").write_bytes(_record_file(repo, record.id).read_bytes())
    assert damaged_records(repo) == [
        ("99999999999999999999-abcdef.json", f"it holds apply {record.id}, not the one its name says")
    ]


# (c) A mode set after the apply is the user's: undo keeps it, and says so.


def test_undo_keeps_an_executable_bit_set_after_the_apply_and_says_so(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "a.py").chmod(0o644)
    apply_results([edit_one(repo / "a.py")])
    (repo / "a.py").chmod(0o755)
    monkeypatch.chdir(repo)
    assert cli_main(["undo"]) == 0
    out = capsys.readouterr().out
    assert out == "restored a.py\na.py: kept its mode 0755, set since the apply (it was 0644 before the apply)\n"
    assert (repo / "a.py").read_text() == CODE
    assert stat.S_IMODE((repo / "a.py").stat().st_mode) == 0o755


def test_an_unchanged_mode_comes_back_with_no_note(repo: Path) -> None:
    (repo / "a.py").chmod(0o640)
    apply_results([edit_one(repo / "a.py")])
    report = undo_last(repo)
    assert (report.restored, report.kept_modes) == (["a.py"], [])
    assert stat.S_IMODE((repo / "a.py").stat().st_mode) == 0o640
