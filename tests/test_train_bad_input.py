"""`fastapply train` refuses bad input cleanly: a number out of range at parse time, an output path
that cannot be written, a truncated or malformed held-out set, an empty one, and a malformed
`compare` report are each exit 2 with a message, before any work starts and with no traceback.

The steps' work (drawing data, training, evaluating) is replaced by a stub that fails the test if
it is reached, so a check that comes too late shows as a failure rather than minutes of work.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from train_support import write_heldout

from fastapply.cli import main

WORK = [("fastapply.train.tokenizer", "train_tokenizer"), ("fastapply.train.build_data", "build"),
        ("fastapply.train.build_data", "write_heldout"), ("fastapply.train.phase_data", "build_phase"),
        ("fastapply.train.loop", "train"), ("fastapply.train.evaluate", "evaluate"),
        ("fastapply.train.errors", "count_errors"), ("fastapply.train.export", "export_model")]


@pytest.fixture()
def no_work(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every step's work is a stub that fails the test; the working directory is ``tmp_path``."""
    import importlib

    def reached(*args: object, **kwargs: object) -> None:
        raise AssertionError("the step's work started")

    for module, name in WORK:
        monkeypatch.setattr(importlib.import_module(module), name, reached)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``fastapply train ARGS...`` in this process: (exit code, stderr)."""
    try:
        code = main(["train", *args])
    except SystemExit as exc:  # argparse refuses a value by exiting
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def _refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Exit 2 with one line of stderr, no traceback; returns that line."""
    code, err = _train(capsys, *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("fastapply: ") and "Traceback" not in err, err
    return err.strip()


@pytest.mark.parametrize(("step", "option", "value"), [
    ("data", "--max-files", "0"), ("data", "--max-files", "-5"), ("data", "--max-tokens", "0"),
    ("data", "--per-source", "0"), ("data", "--eval-per-kind", "-1"),
    ("windows", "--max-files", "0"), ("windows", "--max-windows", "0"), ("windows", "--workers", "0"),
    ("windows", "--heldout-windows", "-1"), ("windows", "--max-minutes", "0"), ("windows", "--max-minutes", "-1"),
    ("model", "--size", "huge"), ("model", "--threads", "0"), ("model", "--lr", "-1"), ("model", "--lr", "nan"),
    ("model", "--tokens-per-batch", "0"), ("model", "--total-steps", "0"), ("model", "--warmup-steps", "-1"),
    ("model", "--probe-every", "-1"), ("model", "--max-minutes", "0"), ("model", "--max-minutes", "-1"),
    ("model", "--edit-weight", "0"), ("model", "--edit-weight", "-1"),
    ("eval", "--limit", "-1"), ("eval", "--bench", "-1"), ("errors", "--context", "0"),
    ("export", "--learned-scale", "1.5"), ("export", "--learned-scale", "nan"),
])
def test_a_number_out_of_range_is_refused_while_parsing(no_work: Path, capsys: pytest.CaptureFixture[str],
                                                        step: str, option: str, value: str) -> None:
    write_heldout(no_work)
    where = {"data": ["--out", "d"], "windows": ["--out", "w"], "export": ["--to", "x", "--data", str(no_work)]}
    code, err = _train(capsys, step, *where.get(step, ["--data", str(no_work)]), option, value)
    assert code == 2 and f"argument {option}:" in err.splitlines()[-1], err
    assert sorted(p.name for p in no_work.iterdir()) == ["heldout.jsonl"]


@pytest.fixture()
def a_file(no_work: Path) -> Path:
    """A regular file where a folder is wanted, and a tiny ``train.pt`` so ``model`` finds its data."""
    from fastapply.train.dataset import Example
    from fastapply.train.phase_data import save_examples

    save_examples([Example(ids=[1, 2, 3], prompt_len=1, kind="noop")], no_work / "train.pt")
    (no_work / "taken").write_text("not a folder\n")
    return no_work / "taken"


@pytest.mark.parametrize("args", [
    ["tokenizer", "--out", "{f}"], ["data", "--max-files", "1", "--out", "{f}"], ["data", "--out", "{f}/sub"],
    ["windows", "--out", "{f}"], ["model", "--data", ".", "--run", "{f}"], ["model", "--data", ".", "--run", "{f}/r"],
])
def test_an_output_folder_that_is_a_file_is_a_usage_error_before_any_work(
        a_file: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    message = _refused(capsys, *(a.replace("{f}", str(a_file)) for a in args))
    assert str(a_file) in message and "is a file, not a folder" in message
    assert a_file.read_text() == "not a folder\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_output_folder_under_a_read_only_one_is_a_usage_error(no_work: Path, capsys) -> None:
    locked = no_work / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert "permission denied" in _refused(capsys, "data", "--out", str(locked / "d"))
    finally:
        locked.chmod(0o700)


UNWRITABLE = Path("/sys/fastapply-test")  # refused even to root, unlike a folder without write permission


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="no /sys to be refused by")
@pytest.mark.parametrize("args", [["tokenizer", "--out", "{u}"], ["data", "--max-files", "1", "--out", "{u}/d"],
                                  ["windows", "--out", "{u}"], ["model", "--data", ".", "--run", "{u}"],
                                  ["eval", "--data", ".", "--out", "{u}.json"]])
def test_an_output_path_the_system_refuses_is_a_usage_error_before_any_work(
        a_file: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    write_heldout(a_file.parent)
    line = _refused(capsys, *(a.replace("{u}", str(UNWRITABLE)) for a in args))
    assert "cannot write" in line and str(UNWRITABLE) in line


@pytest.mark.parametrize("step", ["eval", "errors"])
@pytest.mark.parametrize(("out", "message"), [("{d}", "is a folder, not a file"), ("{d}/no/r.json", "no folder"),
                                              ("{d}/heldout.jsonl/r.json", "is a file, not a folder")])
def test_a_report_path_that_cannot_be_written_is_refused_before_the_evaluation(
        no_work: Path, capsys: pytest.CaptureFixture[str], step: str, out: str, message: str) -> None:
    write_heldout(no_work)
    line = _refused(capsys, step, "--data", str(no_work), "--out", out.replace("{d}", str(no_work)))
    assert line.startswith("fastapply: --out ") and message in line


ROW = {"kind": "noop", "instruction": "Make no changes.", "before": "x = 1\n", "after": "x = 1\n", "path": "m.py",
       "meta": {}}


@pytest.mark.parametrize("step", ["eval", "errors"])
@pytest.mark.parametrize(("text", "message"), [
    (json.dumps(ROW)[:40], "heldout.jsonl:1: not JSON"),
    (json.dumps(ROW) + "\n" + json.dumps(ROW)[:-9], "heldout.jsonl:2: not JSON"),
    ("[1, 2]\n", "heldout.jsonl:1: not an edit"),
    (json.dumps({"kind": "noop"}) + "\n", "no text field instruction, before, after"),
    (json.dumps({**ROW, "before": 3}) + "\n", "no text field before"),
    (json.dumps({**ROW, "meta": []}) + "\n", "meta an object"),
    (json.dumps({**ROW, "extra": 1}) + "\n", "unknown field extra"),
    ("", "holds no held-out edits"),
    ("\n  \n", "holds no held-out edits"),
])
def test_a_bad_or_empty_held_out_set_is_a_usage_error(no_work: Path, capsys: pytest.CaptureFixture[str],
                                                     step: str, text: str, message: str) -> None:
    (no_work / "heldout.jsonl").write_text(text)
    assert message in _refused(capsys, step, "--data", str(no_work))


def test_evaluating_no_edits_is_refused_before_a_model_loads() -> None:
    from fastapply.train.errors import count_errors
    from fastapply.train.evaluate import evaluate

    with pytest.raises(ValueError, match="no held-out edits"):
        evaluate("no/such/model", [])
    with pytest.raises(ValueError, match="no held-out edits"):
        count_errors("no/such/model", [])


@pytest.mark.parametrize("max_files", [0, -5])
def test_a_file_count_under_one_is_refused_by_the_library(tmp_path: Path, max_files: int) -> None:
    from fastapply.train.tokenizer import python_files

    (tmp_path / "m.py").write_text("x = 1\n" * 100)
    with pytest.raises(ValueError, match="max_files must be positive"):
        python_files([tmp_path], max_files, 60_000)


def test_data_that_draws_no_example_writes_nothing_and_says_so(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = _train(capsys, "data", "--max-files", "2", "--max-tokens", "1", "--out", "d")
    assert code == 2 and "fastapply: no training examples drawn" in err.splitlines()[-1], err
    assert not (tmp_path / "d").exists()


def _report() -> dict[str, Any]:
    """A `train eval --out` report of one no-op and one rename, with the figures compare reads."""
    kinds = {"noop": {"n": 1, "exact_match": 1.0, "line_accuracy": 1.0, "closed": 1},
             "rename-function": {"n": 1, "exact_match": 0.0, "line_accuracy": 0.5, "closed": 1}}
    cases = [{"kind": k, "path": "m.py", "instruction": k, "line_accuracy": v["line_accuracy"]} for k, v in kinds.items()]
    return {"exact_match": 0.5, "line_accuracy": 0.75, "kinds": kinds, "cases": cases,
            "speed": {"edits": 1, "speculative": {"forwards": 4}}}


def _with(report: dict[str, Any], value: Any, *keys: Any) -> dict[str, Any]:
    changed = copy.deepcopy(report)
    node = changed
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return changed


BAD_FIGURES = [
    (("kinds", "noop", "exact_match"), "1.0", "'noop exact match'"),
    (("kinds", "noop", "closed"), None, "'noop closed'"),
    (("kinds", "noop", "closed"), True, "'noop closed'"),
    (("line_accuracy",), [0.75], "'all line accuracy'"),
    (("kinds", "rename-function", "line_accuracy"), float("nan"), "'rename-function line accuracy'"),
    (("exact_match",), float("inf"), "'all exact match'"),
    (("cases", 1, "line_accuracy"), float("nan"), "'edit 2 line accuracy'"),
    (("speed", "speculative", "forwards"), "4", "'speculative forwards on the timed renames'"),
]


@pytest.mark.parametrize(("keys", "value", "figure"), BAD_FIGURES)
def test_a_figure_that_is_not_a_finite_number_makes_a_malformed_report(keys: tuple[Any, ...], value: Any,
                                                                       figure: str) -> None:
    from fastapply.train.compare import compare

    good, bad = _report(), _with(_report(), value, *keys)
    for base, candidate, name in ((good, bad, "the candidate report"), (bad, good, "the base report")):
        with pytest.raises(ValueError, match="not a finite number") as raised:
            compare(base, candidate)
        assert name in str(raised.value) and figure in str(raised.value)


@pytest.mark.parametrize(("keys", "value", "figure"), BAD_FIGURES[:5])
def test_the_cli_names_the_file_and_the_figure_of_a_malformed_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], keys: tuple[Any, ...], value: Any, figure: str) -> None:
    base, candidate = tmp_path / "base.json", tmp_path / "candidate.json"
    base.write_text(json.dumps(_report()))
    candidate.write_text(json.dumps(_with(_report(), value, *keys)))
    line = _refused(capsys, "compare", str(base), str(candidate))
    assert str(candidate) in line and figure in line and str(base) not in line
