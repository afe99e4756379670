"""Edit weighting: which target tokens a verbatim copy gets wrong, and the loss that counts them more."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapply.engine.assets import TOKENIZER_DIR
from fastapply.engine.prompt import build_prompt
from fastapply.train.dataset import Seam, collate, edited_targets, encode
from fastapply.train.edit_common import Edit
from fastapply.train.edit_rename import rename_tokens

CODE = (
    "def total(xs):\n    return sum(xs)\n\n\n"
    "def mean(xs):\n    return total(xs) / len(xs)\n\n\n"
    "def spread(xs):\n    return max(xs) - min(xs)\n\n\n"
    "print(total([1, 2]), mean([3, 4]))\n"
)


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))


@pytest.fixture(scope="module")
def seam(tok):
    return Seam.of(tok)


def _marked(tok, seam, before: str, after: str) -> tuple[list[int], list[int], list[int]]:
    example = encode(tok, Edit(kind="k", instruction="Do it.", before=before, after=after, path="m.py"))
    original = build_prompt(tok, "Do it.", before, "m.py").original_ids
    return edited_targets(example, seam), original, example.ids[example.prompt_len : -1]


def test_a_verbatim_copy_has_no_edited_tokens(tok, seam) -> None:
    assert _marked(tok, seam, CODE, CODE)[0] == []


@pytest.mark.parametrize("after", [
    rename_tokens(CODE, "total", "grand_sum"),
    CODE.replace("def mean(xs):\n    return total(xs) / len(xs)\n\n\n", ""),
    CODE.replace("def spread", "def width(ys):\n    return ys\n\n\ndef spread"),
], ids=["rename", "delete", "insert"])
def test_the_first_edited_token_is_where_a_copy_first_goes_wrong(tok, seam, after: str) -> None:
    marked, original, target = _marked(tok, seam, CODE, after)
    first = marked[0]
    assert target[:first] == original[:first]
    assert target[first] != original[first]


def test_edited_tokens_of_a_rename_are_on_the_renamed_lines_and_cover_them(tok, seam) -> None:
    after = rename_tokens(CODE, "total", "grand_sum")
    marked, _, target = _marked(tok, seam, CODE, after)
    changed = {i for i, (a, b) in enumerate(zip(CODE.splitlines(), after.splitlines())) if a != b}
    lines = {tok.decode(target[:j]).count("\n") for j in marked}
    assert lines == changed
    assert "".join(tok.decode([target[j]]) for j in marked).count("grand") == 3


def test_edit_weight_counts_each_edited_token_that_many_times(tok) -> None:
    import torch

    from fastapply.train.loop import target_loss
    from fastapply.train.model import new_model

    torch.manual_seed(0)
    model = new_model("toy", tok, 1024).eval()
    example = encode(tok, Edit(kind="k", instruction="Do it.", before=CODE, after=rename_tokens(CODE, "total", "t2")))
    plain = collate([example], tok.pad_token_id)
    assert "weights" not in collate([example], tok.pad_token_id, 1.0, Seam.of(tok))
    weighted = collate([example], tok.pad_token_id, 7.0, Seam.of(tok))
    edited = weighted["weights"] == 7.0
    assert int(edited.sum()) == len(edited_targets(example, Seam.of(tok))) > 0
    only_edited = dict(plain, labels=plain["labels"].masked_fill(~edited, -100))
    only_copied = dict(plain, labels=plain["labels"].masked_fill(edited, -100))
    n_e, n_c = int(edited.sum()), int((only_copied["labels"] != -100).sum())
    with torch.no_grad():
        mixed = (7.0 * n_e * target_loss(model, only_edited) + n_c * target_loss(model, only_copied)) / (7.0 * n_e + n_c)
        assert float(target_loss(model, weighted)) == pytest.approx(float(mixed), rel=1e-5)


def test_cli_refuses_an_edit_weight_that_is_not_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fastapply.cli import main

    with pytest.raises(SystemExit) as exited:  # refused while parsing, before any data loads
        main(["train", "model", "--data", str(tmp_path), "--run", str(tmp_path / "r"), "--edit-weight", "0"])
    assert exited.value.code == 2
    assert "argument --edit-weight: must be above 0" in capsys.readouterr().err


def test_a_toy_model_trains_with_edit_weighting_and_refuses_a_weight_of_zero(tok, tmp_path: Path) -> None:
    from fastapply.train.loop import TrainConfig, train

    edit = Edit(kind="rename-function", instruction="Rename total to t2.", before=CODE,
                after=rename_tokens(CODE, "total", "t2"))
    examples = [encode(tok, edit)] * 4
    config = TrainConfig(size="toy", total_steps=3, warmup_steps=1, tokens_per_batch=2000, lr=5e-3,
                         max_minutes=1.0, threads=1, edit_weight=10.0)
    logs: list[dict] = []
    assert train(examples, tok, tmp_path / "run", config, on_log=logs.append, log_every=1).step == 3
    assert logs[-1]["loss"] < logs[0]["loss"]
    config.edit_weight = 0.0
    with pytest.raises(ValueError, match="edit_weight must be positive"):
        train(examples, tok, tmp_path / "zero", config)
    assert not (tmp_path / "zero").exists()
