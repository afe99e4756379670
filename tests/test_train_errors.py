"""`fastapply train errors`: teacher-forced errors sorted by where they fall. On token lists the
places follow from the edit and the file; on the default model a no-op has no error and an
unperformed rename's errors are on the edit, not on the copy."""

from __future__ import annotations

import json

import pytest
from train_support import run_train, write_heldout

from fastapply.train.errors import classify, edit_marks

FILE = list(range(100, 140))  # 40 distinct tokens: every context of 8 is unique


def _wrong_at(target: list[int], *positions: int) -> list[int]:
    return [-1 if i in positions else t for i, t in enumerate(target)]


def test_a_perfect_prediction_has_no_error() -> None:
    assert classify(FILE, FILE, FILE) == {}


def test_an_insertion_is_edited_and_the_tokens_after_it_are_after_edit() -> None:
    target = FILE[:20] + [7, 8] + FILE[20:]
    edited, seams = edit_marks(FILE, target)
    assert [i for i, e in enumerate(edited) if e] == [20, 21] and not seams
    assert classify(FILE, target, _wrong_at(target, 20, 23, 29, 30)) == {"edited": 1, "after-edit": 2, "copy-unique": 1}


def test_the_first_token_after_a_deletion_is_a_seam() -> None:
    target = FILE[:20] + FILE[25:]
    assert edit_marks(FILE, target) == ([False] * len(target), {20})
    assert classify(FILE, target, _wrong_at(target, 20, 21)) == {"edit-seam": 1, "after-edit": 1}


def test_a_context_the_file_holds_twice_is_a_tie() -> None:
    twice = FILE[:10] + [1, 2] + FILE[:10] + [3, 4]  # the same 10 tokens, then different ones
    assert classify(twice, twice, _wrong_at(twice, 22, 5)) == {"copy-tie": 1, "copy-start": 1}
    assert classify(twice, twice, _wrong_at(twice, 11)) == {"copy-unique": 1}


def test_the_default_models_errors_are_on_the_rename_not_on_the_copy(tmp_path) -> None:
    pytest.importorskip("torch")
    done = run_train("errors", "--data", str(write_heldout(tmp_path)), "--out", str(tmp_path / "errors.json"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "errors.json").read_text())
    assert report["edits"] == 2 and sum(report["kinds"]["noop"][p] for p in report["errors"]) == 0
    rename = report["kinds"]["rename-function"]
    assert rename["edited"] >= 2  # both uses of the name keep `add`
    assert rename["copy-tie"] + rename["copy-unique"] + rename["copy-absent"] == 0
    assert "rename-function" in done.stdout and "Traceback" not in done.stderr


def test_a_context_under_one_is_refused(tmp_path) -> None:
    (tmp_path / "heldout.jsonl").write_text("")
    done = run_train("errors", "--data", str(tmp_path), "--context", "0", timeout=60)
    assert done.returncode == 2 and "--context" in done.stderr and "Traceback" not in done.stderr
