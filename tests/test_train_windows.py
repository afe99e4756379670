"""Edit-dense windows, the curriculum's order and single-token renames, the stop rule, and a
resumed training run that equals an uninterrupted one (issue 18)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from fastapply.engine.assets import TOKENIZER_DIR
from fastapply.train.curriculum import PHASES, is_single_token, phase, phases_from, single_token_rename
from fastapply.train.dataset import Seam, encode
from fastapply.train.edit_common import Edit, identifiers
from fastapply.train.edit_rename import rename_tokens
from fastapply.train.probe import ProbeScore, StopRule
from fastapply.train.sources import Source
from fastapply.train.windows import WindowConfig, changed_hunks, slice_edit, windows_of

BODY = "\n".join(f"    value_{i} = compute(data, {i})\n    log.append(value_{i})" for i in range(12))
FILLER = "\n\n".join(f"def helper_{i}(text):\n    parts = text.split(',')\n    return [p.strip() for p in parts if p]"
                     for i in range(20))
SOURCE = f'''import math


{FILLER}


def compute(data, scale):
    total = 0
    for item in data:
        total += item * scale
    return math.sqrt(total)


def run(data, log):
{BODY}
    return compute(data, 99)
'''


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))


def _rename(old: str, new: str) -> Edit:
    return Edit(kind="rename-function", instruction=f"Rename `{old}` to `{new}`.", before=SOURCE,
                after=rename_tokens(SOURCE, old, new), path="m.py", meta={"old": old, "new": new})


def test_windows_are_edit_dense_and_in_the_size_range(tok) -> None:
    config = WindowConfig()
    edit = _rename("compute", "measure")
    whole = encode(tok, edit)
    from fastapply.train.dataset import edited_targets

    whole_share = len(edited_targets(whole, Seam.of(tok))) / (len(whole.ids) - whole.prompt_len)
    windows = windows_of(tok, edit, config, random.Random(3), limit=6)
    assert windows, "a rename used 14 times must give at least one window"
    for w in windows:
        assert config.min_tokens <= len(w.example.ids) <= config.max_tokens
        assert config.min_edited_share <= w.edited_share <= config.max_edited_share
        assert w.edited_share > whole_share
        # the slice is exact ground truth: its lines come from the file and rename the same way
        assert w.edit.before in SOURCE and w.edit.after in edit.after
        assert rename_tokens(w.edit.before, "compute", "measure") == w.edit.after
    assert whole_share < config.min_edited_share  # the whole file is what the windows fix


def test_a_window_outside_the_range_is_refused(tok) -> None:
    edit = _rename("compute", "measure")
    tight = WindowConfig(min_edited_share=0.5, max_edited_share=0.9)
    assert windows_of(tok, edit, tight, random.Random(0), limit=6) == []


def test_slices_keep_the_same_context_on_both_sides() -> None:
    before = "a\nb\nc\nd\ne\nf\n"
    after = "a\nb\nC\nd\ne\nf\nG\n"
    hunks = changed_hunks(before, after)
    assert hunks == [(2, 3, 2, 3), (6, 6, 6, 7)]
    piece = slice_edit(Edit(kind="x", instruction="i", before=before, after=after), hunks[:1], 1)
    assert (piece.before, piece.after) == ("b\nc\nd\n", "b\nC\nd\n")
    piece = slice_edit(Edit(kind="x", instruction="i", before=before, after=after), hunks, 2)
    assert (piece.before, piece.after) == ("a\nb\nc\nd\ne\nf\n", "a\nb\nC\nd\ne\nf\nG\n")


def test_curriculum_starts_with_single_token_renames_and_goes_one_kind_at_a_time() -> None:
    names = [p.name for p in PHASES]
    assert names[:3] == ["rename-single", "rename-multi", "rename-scoped"]
    assert PHASES[0].single_token and not any(p.single_token for p in PHASES[1:])
    assert all(len(p.kinds) <= 2 for p in PHASES[3:])  # one edit kind (docstrings: add or replace)
    assert [p.name for p in phases_from("rename-scoped")] == names[2:]
    with pytest.raises(ValueError, match="unknown phase"):
        phase("everything")


def test_single_token_renames_rename_one_token_names_to_one_token_names(tok) -> None:
    rng = random.Random(1)
    seen = 0
    for _ in range(30):
        edit = single_token_rename(rng, Source(path="m.py", text=SOURCE), tok)
        if edit is None:
            continue
        seen += 1
        old, new = edit.meta["old"], edit.meta["new"]
        assert is_single_token(tok, old) and is_single_token(tok, new) and new not in identifiers(SOURCE)
        assert new in edit.instruction and edit.after != edit.before
        assert rename_tokens(edit.after, new, old) == edit.before  # renaming back restores the file
    assert seen > 0


def _score(acc: float, exact: float = 0.0) -> ProbeScore:
    return ProbeScore(edited_accuracy=acc, token_accuracy=0.9, exact=exact, windows=10)


def test_stop_rule_stalls_only_after_a_third_of_the_budget_without_a_rise() -> None:
    rule = StopRule(budget_steps=300)
    assert rule.verdict(0, _score(0.10)) is None
    assert rule.verdict(50, _score(0.10)) is None  # flat, but before a third
    assert rule.verdict(100, _score(0.11)) == "stalled"  # a third, and below the noise floor
    rising = StopRule(budget_steps=300)
    for step, acc in ((0, 0.1), (50, 0.2), (100, 0.25), (200, 0.2)):
        assert rising.verdict(step, _score(acc)) is None
    assert StopRule(budget_steps=300).verdict(0, _score(0.9, exact=0.85)) == "passed"


def _toy_examples(tok) -> list:
    edits = [_rename("compute", name) for name in ("measure", "gauge", "weigh", "tally")]
    return [w.example for e in edits for w in windows_of(tok, e, WindowConfig(), random.Random(0), limit=3)]


def test_resumed_run_equals_an_uninterrupted_one(tok, tmp_path: Path) -> None:
    import torch

    from fastapply.train.loop import TrainConfig, train

    examples = _toy_examples(tok)
    assert len(examples) >= 4
    base = dict(size="toy", lr=3e-3, warmup_steps=2, total_steps=4, tokens_per_batch=1200, threads=1,
                probe_every=2, patience_share=1.0)
    whole = train(examples, tok, tmp_path / "whole", TrainConfig(**base), probe_examples=examples[:2])
    for n in range(4):  # max_minutes 0: each invocation takes one step, checkpoints and returns
        parts = train(examples, tok, tmp_path / "parts", TrainConfig(**base, max_minutes=0.0), resume=n > 0,
                      probe_examples=examples[:2])
    assert parts.step == whole.step == 4
    assert [p["step"] for p in parts.probes] == [p["step"] for p in whole.probes] == [0, 2, 4]
    assert [p["edited_accuracy"] for p in parts.probes] == [p["edited_accuracy"] for p in whole.probes]
    a = torch.load(tmp_path / "whole" / "ckpt.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "parts" / "ckpt.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_phase_starts_from_the_previous_phase_weights(tok, tmp_path: Path) -> None:
    import torch

    from fastapply.train.loop import TrainConfig, train

    examples = _toy_examples(tok)
    config = TrainConfig(size="toy", total_steps=1, tokens_per_batch=1200, threads=1)
    train(examples, tok, tmp_path / "one", config)
    first = torch.load(tmp_path / "one" / "ckpt.pt", weights_only=False)["model"]
    nothing = TrainConfig(size="toy", total_steps=0, threads=1, init_from=str(tmp_path / "one" / "ckpt.pt"))
    train(examples, tok, tmp_path / "two", nothing)
    second = torch.load(tmp_path / "two" / "ckpt.pt", weights_only=False)["model"]
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_unfreezing_the_embeddings_leaves_the_wired_layers_frozen(tok) -> None:
    from fastapply.train.copy_prior import wired_parameter_names
    from fastapply.train.model import COPY_PRIOR, freeze_wired, new_model

    model = new_model(COPY_PRIOR, tok, max_positions=256)
    freeze_wired(model, COPY_PRIOR, train_embeddings=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "model.embed_tokens.weight" in trainable
    wired_layers = tuple(w for w in wired_parameter_names() if w.startswith("model.layers."))
    assert wired_layers and not any(n.startswith(wired_layers) for n in trainable)
    assert any(n.startswith("model.layers.4.") for n in trainable)
    frozen = new_model(COPY_PRIOR, tok, max_positions=256)
    freeze_wired(frozen, COPY_PRIOR)
    assert not frozen.model.embed_tokens.weight.requires_grad


def test_parallel_workers_draw_from_disjoint_shares_of_the_files(monkeypatch, tmp_path: Path) -> None:
    import multiprocessing
    import time

    from fastapply.train import phase_data

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("parallel drawing forks")
    sources = [Source(path=f"pkg/m{i}.py", text=SOURCE.replace("compute", f"compute{i}")) for i in range(8)]
    config = phase_data.PhaseDataConfig(phase="rename-single", max_windows=8, per_edit=1, workers=2, max_minutes=1.0)
    windows = phase_data._draw_parallel(sources, config, WindowConfig(), time.monotonic() + 60)
    assert len(windows) == 8
    drawn = {w.edit.path.split(":")[0] for w in windows}
    # worker k takes files k, k + 2, ...: both shares are drawn from, and only files of the list
    assert drawn <= {s.path for s in sources}
    assert drawn & {s.path for s in sources[0::2]} and drawn & {s.path for s in sources[1::2]}
    monkeypatch.setattr(phase_data, "_split", lambda max_files: (sources, sources[:2]))
    summary = phase_data.build_phase(_tokenizer(), tmp_path, config)
    assert summary["examples"] == 8 and (tmp_path / "train.pt").exists()


def _tokenizer():
    from fastapply.engine.load import load_tokenizer

    return load_tokenizer(TOKENIZER_DIR)


def test_a_rename_is_drawn_only_among_the_names_accept_allows() -> None:
    from fastapply.train.edit_rename import make_rename

    for seed in range(6):
        edit = make_rename(random.Random(seed), SOURCE, "m.py", accept=lambda name: name == "compute")
        assert edit is not None and edit.meta["old"] == "compute"
    assert make_rename(random.Random(0), SOURCE, "m.py", accept=lambda name: False) is None
