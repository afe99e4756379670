"""The hand-wired copy prior: before any training it copies the file, closes the wrapper, and
training leaves its wired weights exactly as set."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from fastapply.engine.load import TOKENIZER_DIR, load_tokenizer  # noqa: E402
from fastapply.engine.prompt import CLOSE_OUTPUT, build_prompt, target_ids  # noqa: E402
from fastapply.train.copy_prior import PriorLayout, build_copy_prior, wired_parameter_names  # noqa: E402

CODE = (
    "import os\n\n\n"
    "def largest(paths):\n"
    "    sizes = [os.path.getsize(p) for p in paths]\n"
    "    return max(sizes, default=0)\n\n\n"
    "class Report:\n"
    "    def __init__(self, title):\n"
    "        self.title = title.strip()\n"
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(TOKENIZER_DIR)


@pytest.fixture(scope="module")
def prior(tokenizer):
    return build_copy_prior(tokenizer).eval()


def _teacher_forced(model, ids: list[int], start: int) -> list[int]:
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    return logits.argmax(-1)[start - 1 : len(ids) - 1].tolist()


def test_untrained_prior_predicts_every_token_of_an_unchanged_file(tokenizer, prior) -> None:
    prompt = build_prompt(tokenizer, "Make no change.", CODE, "report.py")
    target = target_ids(tokenizer, CODE)
    predicted = _teacher_forced(prior, prompt.ids + target, len(prompt.ids))
    assert predicted == target
    assert tokenizer.decode([predicted[-1]]) == CLOSE_OUTPUT


# four lines shrunk from a module of this project whose copy started on the wrong token
TAIL = (
    "def export_model(src: Path, dst: Path, *, bf16: bool = False, learned_scale: float = 1.0) -> Path:\n"
    "    AutoTokenizer.from_pretrained(str(src)).save_pretrained(str(dst))\n"
    "    GenerationConfig.from_pretrained(str(src)).save_pretrained(str(dst))\n"
    "    return dst / \"model.safetensors\"\n"
)


def test_the_rewrite_starts_at_the_files_first_token(tokenizer, prior) -> None:
    """At the rewrite's start the window still covers the end of the file. The ``<code>`` marker's
    extra weight in the match holds the copy to the file's first tokens; without it (and with the
    window it was measured with: 16 nats, no segments) the first token of this file comes out wrong."""
    prompt = build_prompt(tokenizer, "Make no change.", TAIL, "export.py")
    target = target_ids(tokenizer, TAIL)
    assert _teacher_forced(prior, prompt.ids + target, len(prompt.ids)) == target
    unanchored = build_copy_prior(tokenizer, PriorLayout(marker_match=0.0, repeat_penalty=0.0, window_nats=16.0,
                                                         segment_nats=0.0)).eval()
    assert _teacher_forced(unanchored, prompt.ids + target, len(prompt.ids))[0] != target[0]


# a passage written twice, then something new: shrunk from a module of this project
TWICE = (
    "def make_docstring(rng: random.Random, text: str, path: str = \"\") -> Edit | None:\n"
    + (
        "    tree = parse_or_none(text)\n"
        "    if tree is None:\n"
        "        return None\n"
        "    lines = text.splitlines(keepends=True)\n"
        "    options = [(fn, owner) for fn, owner in functions(tree) if fn.body[0].lineno > fn.lineno]\n"
        "    if not options:\n"
        "        return None\n"
        "    fn, owner = rng.choice(options)\n"
    ) * 2
    + "    stmt = _statement(rng, fn)\n"
)


def test_after_a_passage_written_twice_the_copy_moves_on(tokenizer, prior) -> None:
    """At the end of the second copy the context is the same as at the end of the first, and the
    copy leans back to what followed the first (a loop, in a greedy rewrite). The repeat head takes
    a little off what the rewrite already wrote after that context, so the copy moves on."""
    prompt = build_prompt(tokenizer, "Make no change.", TWICE, "m.py")
    target = target_ids(tokenizer, TWICE)
    assert _teacher_forced(prior, prompt.ids + target, len(prompt.ids)) == target
    # with the window of 16 nats and no segments; the heavier window alone gets this passage right
    no_repeat = build_copy_prior(tokenizer, PriorLayout(repeat_penalty=0.0, window_nats=16.0, segment_nats=0.0)).eval()
    predicted = _teacher_forced(no_repeat, prompt.ids + target, len(prompt.ids))
    wrong = [(tokenizer.decode([t]), tokenizer.decode([p])) for p, t in zip(predicted, target) if p != t]
    assert wrong == [(" st", " tree")]  # it starts the passage a third time


def test_a_heavier_window_kept_to_its_segment_keeps_the_rewrites_start(tokenizer) -> None:
    """At the rewrite's start a heavy window (32 nats) pulls the copy toward the end of the file,
    which the rewrite's window still covers, and the first token comes out wrong; a small bonus
    for keys of the window's own segment (instruction, file, rewrite) keeps it on the first token."""
    prompt = build_prompt(tokenizer, "Make no change.", TAIL, "export.py")
    target = target_ids(tokenizer, TAIL)
    heavy = build_copy_prior(tokenizer, PriorLayout(window_nats=32.0, segment_nats=0.0)).eval()
    assert _teacher_forced(heavy, prompt.ids + target, len(prompt.ids))[0] != target[0]
    kept = build_copy_prior(tokenizer, PriorLayout(window_nats=32.0, segment_nats=3.0)).eval()
    assert _teacher_forced(kept, prompt.ids + target, len(prompt.ids)) == target
    # a hard wall (6 nats) goes wrong instead on the second token: a window of one or two codes
    # in the rewrite matches the file's window one token back better than its own
    walled = build_copy_prior(tokenizer, PriorLayout(window_nats=32.0, segment_nats=6.0)).eval()
    prompt = build_prompt(tokenizer, "Make no change.", CODE, "report.py")
    target = target_ids(tokenizer, CODE)
    predicted = _teacher_forced(walled, prompt.ids + target, len(prompt.ids))
    assert [i for i, (p, t) in enumerate(zip(predicted, target)) if p != t] == [1]


def test_untrained_prior_copies_greedily_through_the_engine(tokenizer, prior, tmp_path) -> None:
    from fastapply.engine.api import Engine
    from fastapply.engine.types import GenerationRequest
    from fastapply.train.loop import save_model

    save_model(prior, tokenizer, tmp_path)
    engine = Engine.load(str(tmp_path), device="cpu", dtype="float32")
    for method in ("greedy", "speculative"):
        result = engine.generate(GenerationRequest(code=CODE, instruction="Make no change.", path="r.py",
                                                   method=method, max_new_tokens=400))
        assert (result.text, result.finish_reason) == (CODE, "stop"), method


def test_copy_follows_the_context_not_the_position(tokenizer, prior) -> None:
    """Two files with the same lines in another order: each copy follows its own original."""
    lines = CODE.splitlines(keepends=True)
    shuffled = "".join(lines[8:] + ["\n\n"] + lines[:8])
    prompt = build_prompt(tokenizer, "Make no change.", shuffled, "r.py")
    target = target_ids(tokenizer, shuffled)
    assert _teacher_forced(prior, prompt.ids + target, len(prompt.ids)) == target


def test_on_a_long_file_the_rewrite_starts_with_the_file_not_the_system_prompt(tokenizer, prior) -> None:
    """The wrapper lines up (``<updated-code>`` reads as ``<code>``) even 150 lines away."""
    from pathlib import Path

    code = (Path(__file__).parents[1] / "examples" / "demo_repo" / "inventory.py").read_text()
    prompt = build_prompt(tokenizer, "Make no change.", code, "inventory.py")
    with torch.no_grad():
        first = prior(torch.tensor([prompt.ids])).logits[0, -1].argmax().item()
    assert first == prompt.original_ids[0]


def test_layout_refuses_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        PriorLayout(hidden=192, heads=3)
    with pytest.raises(ValueError, match="head_dim"):
        PriorLayout(head_dim=128)
    with pytest.raises(ValueError, match="do not fit together"):
        PriorLayout(hidden=423, rename=True, segment_nats=3.0)


def test_training_changes_only_the_learned_layers(tokenizer, tmp_path) -> None:
    from fastapply.train.dataset import Example
    from fastapply.train.loop import TrainConfig, train

    prompt = build_prompt(tokenizer, "Rename the function largest to biggest.", CODE, "r.py")
    after = CODE.replace("largest", "biggest")
    examples = [Example(ids=prompt.ids + target_ids(tokenizer, after), prompt_len=len(prompt.ids), kind="rename")]
    before = {n: p.detach().clone() for n, p in build_copy_prior(tokenizer).named_parameters()}
    config = TrainConfig(size="copy", total_steps=2, warmup_steps=1, tokens_per_batch=4096, max_minutes=5,
                         checkpoint_minutes=5, threads=2)
    train(examples, tokenizer, tmp_path, config)
    trained = torch.load(tmp_path / "ckpt.pt", map_location="cpu", weights_only=False)["model"]
    wired = wired_parameter_names()
    changed = {n for n, p in before.items() if not torch.equal(p, trained[n])}
    assert changed, "two steps changed nothing"
    assert not {n for n in changed if n.startswith(wired)}

    from transformers import AutoModelForCausalLM

    from fastapply.train.export import export_model

    ids = torch.tensor([examples[0].ids])
    with torch.no_grad():
        logits = {}
        for alpha in (0.0, 1.0):
            export_model(tmp_path / "model", tmp_path / f"at{alpha}", learned_scale=alpha)
            model = AutoModelForCausalLM.from_pretrained(tmp_path / f"at{alpha}", dtype=torch.float32).eval()
            logits[alpha] = model(ids).logits
        fresh = build_copy_prior(tokenizer).eval()
        fresh.load_state_dict(trained)
        assert torch.allclose(logits[1.0], fresh(ids).logits, rtol=1e-5, atol=1e-4)  # scale 1: the trained model
        fresh.load_state_dict(before, strict=False)
        assert torch.allclose(logits[0.0], fresh(ids).logits, rtol=1e-5, atol=1e-4)  # scale 0: the untrained circuit
