"""Speculative edits are lossless: in fp32 the output is token for token the plain greedy output.

Random-weight models do not copy the file, so the drafts are forced: the drafter is handed the
greedy output itself (entirely right), random tokens (entirely wrong), and the greedy output with
divergences, insertions, deletions and repeated runs. Whatever the draft, the output must not move.
"""

from __future__ import annotations

import random
import threading

import pytest
import torch
from engine_support import ARCHS, SAMPLE, tiny_model

from fastapply.engine.api import Engine, EngineConfig
from fastapply.engine.decode import DecodeContext, decode_greedy, decode_speculative
from fastapply.engine.drafter import DraftConfig, Drafter
from fastapply.engine.prompt import build_prompt
from fastapply.engine.stream import TokenStream
from fastapply.engine.types import GenerationRequest, GenerationStats

BUDGET = 48


def _run(arch: str, method: str, original: list[int] | None = None, budget: int = BUDGET,
         config: DraftConfig | None = None) -> tuple[list[int], GenerationStats]:
    lm = tiny_model(arch)
    prompt = build_prompt(lm.tokenizer, "Rename add to plus.", SAMPLE, "sample.py")
    stats = GenerationStats()
    stream = TokenStream(lm.tokenizer, prompt, budget)
    ctx = DecodeContext(lm.model, lm.tokenizer, lm.device, prompt, stream, stats, None)
    if method == "greedy":
        decode_greedy(ctx)
    else:
        source = prompt.original_ids + prompt.tail_ids if original is None else original
        decode_speculative(ctx, Drafter(source, prompt.rest, config or DraftConfig(start=8, cap=32)))
    return stream.ids, stats


@pytest.fixture(scope="module", params=ARCHS)
def arch(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def greedy_ids(arch: str) -> list[int]:
    return _run(arch, "greedy")[0]


def _variants(reference: list[int]) -> dict[str, list[int]]:
    rng = random.Random(0)
    wrong = [rng.randrange(8192) for _ in reference]
    n = len(reference)
    mid = n // 2
    flip = lambda ids, i: ids[:i] + [(ids[i] + 1) % 8192] + ids[i + 1 :]  # noqa: E731
    return {
        "entirely right": reference,
        "entirely wrong": wrong,
        "diverges at start": flip(reference, 0),
        "diverges in middle": flip(reference, mid),
        "diverges at end": flip(reference, n - 1),
        "insertion": reference[:mid] + wrong[:5] + reference[mid:],
        "deletion": reference[: mid - 3] + reference[mid + 3 :],
        "repeated run": reference[:mid] + reference[: mid // 2] + reference[mid:],
        "empty": [],
    }


@pytest.mark.parametrize("variant", list(_variants(list(range(20)))))
def test_speculative_output_equals_greedy_whatever_the_draft(arch: str, greedy_ids: list[int], variant: str) -> None:
    source = _variants(greedy_ids)[variant]
    ids, stats = _run(arch, "speculative", source)
    assert ids == greedy_ids
    assert stats.draft_accepted <= stats.draft_proposed


def test_right_draft_needs_few_forwards(arch: str, greedy_ids: list[int]) -> None:
    _, stats = _run(arch, "speculative", greedy_ids, config=DraftConfig(start=16, cap=64))
    assert stats.forwards <= 3
    assert stats.acceptance == 1.0


def test_every_token_is_the_argmax_of_a_full_forward(arch: str, greedy_ids: list[int]) -> None:
    ids, _ = _run(arch, "speculative", _variants(greedy_ids)["insertion"])
    lm = tiny_model(arch)
    prompt = build_prompt(lm.tokenizer, "Rename add to plus.", SAMPLE, "sample.py")
    sequence = torch.tensor([prompt.ids + ids[:-1]])
    with torch.inference_mode():
        logits = lm.model(input_ids=sequence).logits[0]
    argmax = logits[len(prompt.ids) - 1 :].argmax(-1).tolist()
    assert argmax == ids


def test_engine_methods_agree_through_the_public_call(arch: str) -> None:
    engine = Engine(tiny_model(arch), EngineConfig(draft=DraftConfig(start=8, cap=32)))
    outputs = {}
    for method in ("greedy", "prompt-lookup", "speculative"):
        request = GenerationRequest(code=SAMPLE, instruction="Rename add to plus.", method=method, max_new_tokens=24)
        result = engine.generate(request)
        assert result.finish_reason == "length"  # a random model never closes: no claim of success
        assert result.stats.tokens == 24
        outputs[method] = result.token_ids
    assert outputs["speculative"] == outputs["greedy"] == outputs["prompt-lookup"]


def test_cancel_from_another_thread_stops_promptly() -> None:
    engine = Engine(tiny_model("llama"), EngineConfig(draft=DraftConfig(start=8, cap=32)))
    cancel = threading.Event()
    pieces: list[str] = []

    def on_text(text: str) -> None:
        pieces.append(text)
        threading.Thread(target=cancel.set).start()

    request = GenerationRequest(code=SAMPLE, instruction="x", method="greedy", max_new_tokens=2000,
                                cancel=cancel, on_text=on_text)
    result = engine.generate(request)
    assert result.finish_reason == "cancelled"
    assert result.stats.tokens < 50


def test_stop_token_ends_with_stop_and_text_excludes_marker() -> None:
    lm = tiny_model("llama")
    prompt = build_prompt(lm.tokenizer, "x", SAMPLE)
    stream = TokenStream(lm.tokenizer, prompt, 100)
    code_ids = prompt.original_ids
    stream.push(code_ids + prompt.tail_ids + [1, 2, 3])
    assert stream.finish_reason == "stop"
    assert stream.result_text() == SAMPLE
    assert stream.ids == code_ids + prompt.tail_ids
