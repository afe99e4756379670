"""The prompt/target encoding, batching, and a few training steps of a toy model on CPU."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from fastapply.engine.assets import TOKENIZER_DIR
from fastapply.engine.prompt import build_prompt, target_ids
from fastapply.train.dataset import IGNORE, Example, collate, encode, length_batches, seam_ok
from fastapply.train.edit_common import Edit

CODE = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))


def test_example_is_prompt_then_target(tok) -> None:
    edit = Edit(kind="rename-function", instruction="Rename add to plus.", before=CODE,
                after=CODE.replace("add", "plus"), path="m.py")
    ex = encode(tok, edit)
    prompt = build_prompt(tok, edit.instruction, edit.before, edit.path)
    assert ex.ids[: ex.prompt_len] == prompt.ids
    assert ex.ids[ex.prompt_len :] == target_ids(tok, edit.after)
    assert tok.decode(ex.ids[ex.prompt_len :]).endswith("</updated-code>")


def test_noop_seam_lines_up(tok) -> None:
    edit = Edit(kind="noop", instruction="Make no changes.", before=CODE, after=CODE)
    assert seam_ok(tok, edit)


def test_labels_are_masked_on_prompt_and_padding(tok) -> None:
    a = Example(ids=[5, 6, 7, 8, 9], prompt_len=3, kind="x")
    b = Example(ids=[10, 11, 12], prompt_len=1, kind="x")
    batch = collate([a, b], pad_id=0)
    labels = batch["labels"].tolist()
    assert labels[0] == [IGNORE, IGNORE, IGNORE, 8, 9]
    assert labels[1] == [IGNORE, 11, 12, IGNORE, IGNORE]
    assert batch["attention_mask"].tolist()[1] == [1, 1, 1, 0, 0]


def test_length_batches_cover_every_example_once_within_budget() -> None:
    rng = random.Random(0)
    examples = [Example(ids=[1] * rng.randrange(5, 200), prompt_len=2, kind="x") for _ in range(300)]
    batches = length_batches(examples, 1000, rng)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(300))
    for b in batches:
        assert len(b) == 1 or max(len(examples[i].ids) for i in b) * len(b) <= 1000


def test_a_toy_model_trains_a_few_steps_and_resumes(tok, tmp_path: Path) -> None:
    from fastapply.train.loop import TrainConfig, train

    edits = [Edit(kind="noop", instruction="Make no changes.", before=CODE, after=CODE)] * 8
    examples = [encode(tok, e) for e in edits]
    config = TrainConfig(size="toy", total_steps=6, warmup_steps=2, tokens_per_batch=400, lr=5e-3,
                         max_minutes=1.0, threads=1)
    logs: list[dict] = []
    started = time.monotonic()
    state = train(examples, tok, tmp_path, config, on_log=logs.append, log_every=1)
    assert time.monotonic() - started < 20
    assert state.step == 6
    assert logs[-1]["loss"] < logs[0]["loss"]
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert (tmp_path / "ckpt.pt").exists()
    config.total_steps = 8
    resumed = train(examples, tok, tmp_path, config, resume=True)
    assert resumed.step == 8
    assert resumed.tokens_seen > state.tokens_seen


def test_training_on_cuda_autocasts_to_bf16_except_a_model_that_declares_float32(tok) -> None:
    torch = pytest.importorskip("torch")
    from fastapply.train.loop import autocasts
    from fastapply.train.model import new_model

    cuda, cpu = torch.device("cuda"), torch.device("cpu")  # a device object needs no GPU
    copy, toy = new_model("copy", tok), new_model("toy", tok)
    assert autocasts(toy, cuda) and not autocasts(toy, cpu)
    # the copy prior's wired heads need float32 activations: bf16 would train on a broken circuit
    assert not autocasts(copy, cuda)


def test_cli_train_without_a_step_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from fastapply.cli import main

    assert main(["train"]) == 2
    assert "tokenizer|data|windows|model|eval|errors|compare|export|graft-rename" in capsys.readouterr().err


def test_cli_train_model_without_data_says_how_to_make_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fastapply.cli import main

    assert main(["train", "model", "--data", str(tmp_path / "nothing"), "--run", str(tmp_path / "run")]) == 2
    assert "fastapply train data" in capsys.readouterr().err


def test_model_card_reports_the_measured_numbers() -> None:
    from fastapply.train.card import render_card

    data = {"examples": 10, "tokens": 1000, "target_tokens": 400, "train_files": 3, "heldout_files": 1,
            "kinds": {"noop": 4, "rename-function": 6}}
    state = {"step": 7, "tokens_seen": 900, "target_tokens_seen": 300, "epoch": 0, "seconds": 120.0}
    from dataclasses import asdict

    from fastapply.train.loop import TrainConfig

    evaluation = {"edits": 2, "method": "speculative", "device": "cpu", "dtype": "float32", "exact_match": 0.5,
                  "line_accuracy": 0.75, "kinds": {"noop": {"n": 2, "exact_match": 0.5, "line_accuracy": 0.75,
                                                             "closed": 2}}}
    model = {"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 5, "hidden_size": 96, "head_dim": 32,
             "num_attention_heads": 3, "num_key_value_heads": 1, "vocab_size": 8192, "max_position_embeddings": 512,
             "dtype": "bfloat16", "rope_parameters": {"rope_theta": 12345.0}}
    card = render_card(data, state, asdict(TrainConfig()), 1234, evaluation, hardware="a test box",
                       notes="## What it can and cannot do\n\nLittle.", model_config=model)
    assert "Exact match 50.0%" in card and "line accuracy 75.0%" in card
    assert "1,234 parameters" in card and "a test box" in card and "2.0 minutes" in card
    assert "| noop | 2 | 50.0% | 75.0% | 2 |" in card
    copy = render_card(data, state, asdict(TrainConfig(size="copy")), 1234, None, hardware="a test box",
                       model_config=model)
    assert "copy circuit" in copy and "size preset `copy`" in copy
    assert "rope theta 12345," in card and "copy circuit" not in card
    assert "Edit weight" not in card
    weighted = render_card(data, state, asdict(TrainConfig(edit_weight=20.0)), 1234, None, hardware="a test box")
    assert "Edit weight 20.0" in weighted


def test_model_card_settings_come_from_the_run_records() -> None:
    """Each setting the card states is read from what the run recorded; change one, the card follows."""
    from dataclasses import asdict

    from fastapply.train.card import render_card
    from fastapply.train.loop import TrainConfig

    data = {"examples": 10, "tokens": 1000, "target_tokens": 400, "train_files": 3, "heldout_files": 1,
            "kinds": {"noop": 4, "real": 6}}
    state = {"step": 7, "tokens_seen": 900, "target_tokens_seen": 300, "epoch": 0, "seconds": 60.0,
             "precision": "bf16 autocast", "device": "cuda"}
    evaluation = {"edits": 2, "method": "greedy", "device": "cpu", "dtype": "float32", "exact_match": 0.0,
                  "line_accuracy": 0.5, "kinds": {}, "cases": [{"lines": 57}, {"lines": 131}]}
    model = {"num_hidden_layers": 5, "dtype": "float16", "rope_parameters": {"rope_theta": 1e30}}
    card = render_card(data, state, asdict(TrainConfig(size="copy")), 1, evaluation, hardware="h",
                       model_config=model, compute_dtype="float32")
    assert "6 of the 10 training examples are real edits" in card and "100% synthetic" not in card
    assert "bf16 autocast on cuda" in card and "fp32" not in card
    assert "stored in float16" in card and "bf16" not in card.replace("bf16 autocast", "")
    assert "held-out files of 57-131 lines" in card and "40-200" not in card
    assert "rope theta 1e+30" in card and "`fastapply_compute_dtype: float32`" in card
    plain = render_card({**data, "kinds": {"noop": 10}}, {**state, "precision": ""}, asdict(TrainConfig()), 1, None,
                        hardware="h", model_config={"dtype": "float32"})
    assert "Every training example is a synthetic edit" in plain and "precision not recorded" in plain
    assert "fastapply_compute_dtype" not in plain and "stored in float32" in plain
