"""Undo restores the exact bytes of the last apply, and only over what fastapply itself wrote."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from conftest import FakeBackend, make_repo, rename_rewrite
from fastapply.apply import apply_results
from fastapply.cli import main as cli_main
from fastapply.edit import EditRequest, edit_file
from fastapply.undo import list_applies, undo_last

ORIGINALS = {
    "crlf.py": b"def add(a):\r\n    return a\r\n",
    "bom.py": b"\xef\xbb\xbfadd = 1\n",
    "bare.py": b"x = add",
    "mixed.py": b"add\r\nadd\nadd\r",
}


def _apply(repo: Path, instruction: str, names: list[str]):
    backend = FakeBackend(rewrite=rename_rewrite)
    results = [edit_file(backend, EditRequest(str(repo / n), instruction)) for n in names]
    return apply_results(results, instruction=instruction)


def test_undo_round_trips_every_file_byte_for_byte(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", ORIGINALS)
    (repo / "crlf.py").chmod(0o755)
    record = _apply(repo, "Rename add to plus", list(ORIGINALS))
    assert sorted(record.paths) == sorted(ORIGINALS)
    assert all(b"plus" in (repo / n).read_bytes() for n in ORIGINALS)
    report = undo_last(repo)
    assert report.status == "undone" and sorted(report.restored) == sorted(ORIGINALS)
    for name, data in ORIGINALS.items():
        assert (repo / name).read_bytes() == data
    assert stat.S_IMODE((repo / "crlf.py").stat().st_mode) == 0o755


def test_undo_refuses_when_a_file_changed_after_the_apply_and_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "add\n", "b.py": "add\n"})
    _apply(repo, "Rename add to plus", ["a.py", "b.py"])
    (repo / "b.py").write_text("plus  # edited by hand\n")
    report = undo_last(repo)
    assert report.status == "refused" and "b.py" in report.reason and "changed since" in report.reason
    assert (repo / "a.py").read_text() == "plus\n"
    assert (repo / "b.py").read_text() == "plus  # edited by hand\n"


def test_undo_refuses_when_a_file_was_deleted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "add\n"})
    _apply(repo, "Rename add to plus", ["a.py"])
    (repo / "a.py").unlink()
    assert "no longer exists" in undo_last(repo).reason
    assert not (repo / "a.py").exists()


def test_successive_undos_walk_back_through_applies(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "add\n"})
    _apply(repo, "Rename add to plus", ["a.py"])
    _apply(repo, "Rename plus to sum", ["a.py"])
    assert [r.instruction for r in list_applies(repo)] == ["Rename plus to sum", "Rename add to plus"]
    assert undo_last(repo).status == "undone" and (repo / "a.py").read_text() == "plus\n"
    assert undo_last(repo).status == "undone" and (repo / "a.py").read_text() == "add\n"
    assert undo_last(repo).status == "nothing"
    assert all(r.undone for r in list_applies(repo))


def test_undo_cli_exit_codes_and_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "add\n"})
    monkeypatch.chdir(repo)
    assert cli_main(["undo"]) == 0
    assert "nothing to undo" in capsys.readouterr().err
    _apply(repo, "Rename add to plus", ["a.py"])
    assert cli_main(["undo", "--list"]) == 0
    assert "Rename add to plus" in capsys.readouterr().out
    (repo / "a.py").write_text("mine\n")
    assert cli_main(["undo"]) == 3
    assert "a.py: changed since fastapply wrote it" in capsys.readouterr().err
    (repo / "a.py").write_text("plus\n")
    assert cli_main(["undo"]) == 0
    assert "restored a.py" in capsys.readouterr().out
    assert (repo / "a.py").read_text() == "add\n"


def test_undo_by_id_prefix_and_an_unknown_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "add\n", "b.py": "add\n"})
    first = _apply(repo, "Rename add to plus", ["a.py"])
    _apply(repo, "Rename add to sum", ["b.py"])
    monkeypatch.chdir(repo)
    assert cli_main(["undo", "no-such-id"]) == 2
    assert "no apply with id 'no-such-id'" in capsys.readouterr().err
    assert cli_main(["undo", first.id[:24]]) == 0
    assert (repo / "a.py").read_text() == "add\n" and (repo / "b.py").read_text() == "sum\n"
    assert cli_main(["undo", first.id]) == 0
    assert "already undone" in capsys.readouterr().err
    assert [r.undone for r in list_applies(repo)] == [False, True]


def test_a_file_already_holding_its_bytes_from_before_counts_as_undone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "add\n", "b.py": "add\n"})
    _apply(repo, "Rename add to plus", ["a.py", "b.py"])
    (repo / "a.py").write_text("add\n")  # as after a write that was recorded and then never made
    report = undo_last(repo)
    assert (report.status, report.restored) == ("undone", ["b.py"])
    assert (repo / "a.py").read_text() == "add\n" and (repo / "b.py").read_text() == "add\n"


def test_damaged_records_are_skipped_and_never_restored_from(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "add\n"})
    record = _apply(repo, "Rename add to plus", ["a.py"])
    applies = repo / ".git" / "fastapply" / "applies"
    (applies / "99999999999999999999-ffffff.json").write_text("{not json")
    forged = (applies / f"{record.id}.json").read_text().replace(record.id, "99999999999999999998-ffffff")
    (applies / "99999999999999999998-ffffff.json").write_text(forged.replace('"mode": 420', '"mode": "rwx"'))
    assert [r.id for r in list_applies(repo)] == [record.id]
    assert undo_last(repo).status == "undone" and (repo / "a.py").read_text() == "add\n"


def test_saved_copies_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"secret.py": "add = 'key'\n"})
    (repo / "secret.py").chmod(0o600)
    _apply(repo, "Rename add to plus", ["secret.py"])
    blobs = sorted((repo / ".git" / "fastapply" / "blobs").iterdir())
    assert len(blobs) == 2 and {stat.S_IMODE(b.stat().st_mode) for b in blobs} == {0o600}
    assert stat.S_IMODE((repo / "secret.py").stat().st_mode) == 0o600
