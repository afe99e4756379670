"""`fastapply train model` and `train export` on a real one-step toy run: a checkpoint that is not
one, a resume with nothing to resume, garbage training data, and a bad `--eval`, `--notes`, data
summary or `--to` are exit 2 with one line, and leave no run folder or exported folder behind; the
same commands on good input still train and export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fastapply.cli import main

pytest.importorskip("torch")
CODE = "def add(a, b):\n    return a + b\n"
SUMMARY = {"examples": 4, "tokens": 400, "target_tokens": 100, "train_files": 1, "heldout_files": 1,
           "kinds": {"noop": 4}}
EVALUATION = {"edits": 1, "method": "speculative", "device": "cpu", "dtype": "float32", "exact_match": 1.0,
              "line_accuracy": 1.0, "kinds": {"noop": {"n": 1, "exact_match": 1.0, "line_accuracy": 1.0, "closed": 1}},
              "cases": [{"kind": "noop", "lines": 2}]}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``data/`` (train.pt, summary.json, eval.json) and ``run/``: a toy model trained one step."""
    from fastapply.engine.load import TOKENIZER_DIR, load_tokenizer
    from fastapply.train.dataset import encode
    from fastapply.train.edit_common import Edit
    from fastapply.train.loop import TrainConfig, train
    from fastapply.train.phase_data import save_examples

    root = tmp_path_factory.mktemp("made")
    tok = load_tokenizer(TOKENIZER_DIR)
    examples = [encode(tok, Edit(kind="noop", instruction="Make no changes.", before=CODE, after=CODE))] * 4
    (root / "data").mkdir()
    save_examples(examples, root / "data" / "train.pt")
    (root / "data" / "summary.json").write_text(json.dumps(SUMMARY))
    (root / "data" / "eval.json").write_text(json.dumps(EVALUATION))
    train(examples, tok, root / "run", TrainConfig(size="toy", total_steps=1, warmup_steps=1, tokens_per_batch=400,
                                                   threads=1))
    return root


@pytest.fixture()
def work(made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of ``made`` to spoil, as the working directory."""
    shutil.copytree(made, tmp_path / "w")
    monkeypatch.chdir(tmp_path / "w")
    return tmp_path / "w"


def _train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["train", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _, err = _train(capsys, *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("fastapply: ") and "Traceback" not in err, err
    return err.strip()


def _model(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    return _refused(capsys, "model", "--size", "toy", "--total-steps", "1", "--threads", "1", *args)


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda w: (w / "junk.pt").write_bytes(b"\x80\x04garbage" * 50), "junk.pt is not a checkpoint"),
    (lambda w: (w / "junk.pt").write_text("{}"), "junk.pt is not a checkpoint"),
    (lambda w: __import__("torch").save({"weights": 1}, w / "junk.pt"), "junk.pt is not a checkpoint"),
])
def test_init_from_a_file_that_is_not_a_checkpoint_is_refused_before_training(
        work: Path, capsys: pytest.CaptureFixture[str], spoil, message: str) -> None:
    spoil(work)
    assert message in _model(capsys, "--data", "data", "--run", "new", "--init-from", "junk.pt")
    assert not (work / "new").exists()


def test_init_from_a_checkpoint_of_another_size_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused(capsys, "model", "--size", "tiny", "--data", "data", "--run", "new", "--init-from", "run/ckpt.pt")
    assert "of a 'toy' model, not of a 'tiny' one" in line and not (work / "new").exists()


def test_resume_with_no_checkpoint_is_an_error_not_a_fresh_start(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "nothing to resume" in _model(capsys, "--data", "data", "--run", "new", "--resume")
    assert not (work / "new").exists()


def test_a_new_run_over_an_old_one_is_refused_and_leaves_it(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (work / "run" / "ckpt.pt").read_bytes()
    assert "already holds a run" in _model(capsys, "--data", "data", "--run", "run")
    assert (work / "run" / "ckpt.pt").read_bytes() == before


def test_resume_from_a_garbage_checkpoint_is_refused_and_leaves_it(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "run" / "ckpt.pt").write_text("garbage\n")
    assert "ckpt.pt is not a checkpoint" in _model(capsys, "--data", "data", "--run", "run", "--resume")
    assert (work / "run" / "ckpt.pt").read_text() == "garbage\n"


@pytest.mark.parametrize("content", [b"garbage\n", b""])
def test_garbage_training_data_is_refused(work: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    (work / "data" / "train.pt").write_bytes(content)
    assert "train.pt is not a file of encoded examples" in _model(capsys, "--data", "data", "--run", "new")
    assert not (work / "new").exists()


def test_training_data_of_another_shape_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    torch.save({"ids": [[1, 2]], "prompt_len": [5], "kind": ["noop"]}, work / "data" / "train.pt")
    assert "example 1 is malformed" in _model(capsys, "--data", "data", "--run", "new")
    torch.save({"ids": [], "prompt_len": [], "kind": []}, work / "data" / "train.pt")
    assert "holds no training examples" in _model(capsys, "--data", "data", "--run", "new")


def test_good_checkpoints_still_resume_and_start_a_run(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _train(capsys, "model", "--size", "toy", "--total-steps", "2", "--threads", "1", "--data", "data",
                            "--run", "run", "--resume")
    assert code == 0 and json.loads(out)["step"] == 2, err
    code, out, err = _train(capsys, "model", "--size", "toy", "--total-steps", "1", "--threads", "1", "--data", "data",
                            "--run", "next", "--init-from", "run/ckpt.pt")
    assert code == 0 and json.loads(out)["step"] == 1 and (work / "next" / "ckpt.pt").is_file(), err


def _json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value))


@pytest.mark.parametrize(("spoil", "args", "message"), [
    (None, ["--eval", "none.json"], "--eval: cannot read none.json"),
    (lambda w: (w / "e.json").write_text('{"edits": 1'), ["--eval", "e.json"], "--eval: e.json is malformed"),
    (lambda w: _json(w / "e.json", [1]), ["--eval", "e.json"], "the evaluation is not a JSON object"),
    (lambda w: _json(w / "e.json", {"edits": 1}), ["--eval", "e.json"], "exact_match is missing"),
    (lambda w: _json(w / "e.json", {**EVALUATION, "kinds": {"noop": {"n": 1}}}), ["--eval", "e.json"],
     "kind noop: exact_match is missing"),
    (lambda w: _json(w / "e.json", {**EVALUATION, "speed": {"edits": 1}}), ["--eval", "e.json"], "forward_reduction"),
    (lambda w: _json(w / "e.json", {**EVALUATION, "cases": [{"lines": "2"}]}), ["--eval", "e.json"], "edit 1: lines"),
    (None, ["--notes", "none.md"], "--notes: cannot read none.md"),
    (lambda w: (w / "n.md").write_bytes(b"\xff\xfe notes"), ["--notes", "n.md"], "--notes: n.md is not UTF-8"),
    (lambda w: (w / "data" / "summary.json").write_text("{"), [], "--data: data/summary.json is malformed"),
    (lambda w: _json(w / "data" / "summary.json", {"examples": 4}), [], "the data summary: tokens is missing"),
    (lambda w: (w / "run" / "ckpt.pt").write_text("garbage"), [], "run/ckpt.pt is not a checkpoint"),
    (lambda w: (w / "x").write_text("a file"), [], "--to x is a file, not a folder"),
])
def test_a_bad_export_input_is_refused_and_writes_nothing(work: Path, capsys: pytest.CaptureFixture[str],
                                                          spoil, args: list[str], message: str) -> None:
    if spoil:
        spoil(work)
    before = sorted(p.relative_to(work) for p in work.rglob("*"))
    line = _refused(capsys, "export", "--run", "run", "--data", "data", "--to", "x", *args)
    assert message in line
    assert sorted(p.relative_to(work) for p in work.rglob("*")) == before


def test_an_export_into_the_runs_own_model_folder_is_refused_and_leaves_it(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in (work / "run" / "model").rglob("*") if p.is_file()}
    line = _refused(capsys, "export", "--run", "run", "--data", "data", "--to", "run/model/", "--bf16")
    assert "the run's own model folder" in line
    assert {p: p.read_bytes() for p in (work / "run" / "model").rglob("*") if p.is_file()} == before


def test_good_export_inputs_still_make_a_model_folder_with_its_card(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "notes.md").write_text("It copies.")
    code, out, err = _train(capsys, "export", "--run", "run", "--data", "data", "--to", "x", "--eval", "data/eval.json",
                            "--notes", "notes.md", "--bf16")
    assert code == 0, err
    card = (work / "x" / "MODEL_CARD.md").read_text()
    assert "Exact match 100.0%" in card and "It copies." in card and "stored in bfloat16" in card
    assert (work / "x" / "model.safetensors").is_file()
