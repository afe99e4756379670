"""Requests beyond a plain rewrite: too-long prompts, cancel during prefill, predictions, raw prompts.

Predictions are measured under replay (the model's logits pinned to a known output), so a right,
a partly right and a wrong prediction meet the same greedy output; without replay the random
model's greedy output must not move whatever the prediction.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from engine_support import SAMPLE, tiny_model

from fastapply.engine.api import Engine, EngineConfig
from fastapply.engine.bench.replay import pinned_logits
from fastapply.engine.drafter import DraftConfig
from fastapply.engine.load import load_tokenizer
from fastapply.engine.prompt import build_prompt, target_ids
from fastapply.engine.types import EngineError, GenerationRequest, PromptTooLong

AFTER = SAMPLE.replace("add(", "plus(") + "".join(f"LIMIT_{i} = {i * 7}\n" for i in range(6))
INSTRUCTION = "Rename add to plus and add the limits."


def _engine() -> Engine:
    return Engine(tiny_model("llama"), EngineConfig(draft=DraftConfig(start=8, cap=64)))


class ForwardCounter:
    def __init__(self, model, on_call=None) -> None:
        self.calls = 0
        self.on_call = on_call
        self.handle = model.register_forward_pre_hook(self._count)

    def _count(self, *_: object) -> None:
        self.calls += 1
        if self.on_call is not None:
            self.on_call(self.calls)


def test_a_prompt_over_the_context_is_refused_before_any_forward() -> None:
    engine = _engine()
    code = "".join(f"value_{i} = compute({i}, {i * 3})\n" for i in range(800))
    request = GenerationRequest(code=code, instruction="x")
    assert engine.prompt_tokens(request) > engine.max_context
    counter = ForwardCounter(engine.loaded.model)
    try:
        with pytest.raises(PromptTooLong) as info:
            engine.generate(request)
    finally:
        counter.handle.remove()
    assert counter.calls == 0
    assert info.value.limit == engine.max_context == 4096
    assert info.value.tokens == engine.prompt_tokens(request)
    assert f"{info.value.tokens:,} tokens, the model reads 4,096" == str(info.value)


def test_a_huge_file_is_refused_from_its_first_part_with_a_close_count() -> None:
    engine = _engine()
    code = "".join(f"value_{i} = compute({i}, 'item-{i}')\n" for i in range(5000))
    request = GenerationRequest(code=code, instruction="x")
    counter = ForwardCounter(engine.loaded.model)
    try:
        with pytest.raises(PromptTooLong) as info:
            engine.generate(request)
    finally:
        counter.handle.remove()
    exact = engine.prompt_tokens(request)
    assert counter.calls == 0 and abs(info.value.tokens - exact) < 0.1 * exact


def test_cancel_during_a_chunked_prefill_stops_between_chunks() -> None:
    engine = _engine()
    code = "".join(f"value_{i} = {i}\n" for i in range(300))
    cancel = threading.Event()
    request = GenerationRequest(code=code, instruction="x", method="greedy", cancel=cancel, max_new_tokens=50)
    assert engine.prompt_tokens(request) > 3 * 512
    counter = ForwardCounter(engine.loaded.model, on_call=lambda n: cancel.set())
    try:
        result = engine.generate(request)
    finally:
        counter.handle.remove()
    assert result.finish_reason == "cancelled"
    assert counter.calls == 1 and result.stats.tokens == 0


def test_a_chat_template_that_hides_the_file_is_an_engine_error() -> None:
    tokenizer = load_tokenizer()
    tokenizer.chat_template = "{% for m in messages %}{{ m.role }}{% endfor %}"
    with pytest.raises(EngineError, match="chat template"):
        build_prompt(tokenizer, "x", SAMPLE)


def test_an_unknown_method_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="unknown decoding method"):
        _engine().generate(GenerationRequest(code=SAMPLE, instruction="x", method="beam"))  # type: ignore[arg-type]


def _replayed(engine: Engine, prediction: str | None, method: str = "speculative"):
    request = GenerationRequest(code=SAMPLE, instruction=INSTRUCTION, method=method, prediction=prediction)  # type: ignore[arg-type]
    prompt = engine.prompt(request)
    target = target_ids(engine.tokenizer, AFTER)
    request.max_new_tokens = len(target) + 8
    with pinned_logits(engine.loaded.model, len(prompt.ids), target, engine.tokenizer.eos_token_id or 0):
        return engine.generate(request, prompt)


def _wrong_text() -> str:
    rng = random.Random(3)
    return "".join(f"zz{rng.randrange(10**6)} qq{rng.randrange(10**6)}\n" for _ in range(40))


def test_predictions_right_wrong_and_partial_give_the_greedy_output() -> None:
    engine = _engine()
    greedy = _replayed(engine, None, "greedy")
    assert greedy.text == AFTER and greedy.finish_reason == "stop"
    plain = _replayed(engine, None)
    right = _replayed(engine, AFTER)
    wrong = _replayed(engine, _wrong_text())
    partial = _replayed(engine, AFTER.replace("plus(result", "minus(result"))
    for result in (plain, right, wrong, partial):
        assert result.token_ids == greedy.token_ids
    assert right.stats.forwards <= 4 < plain.stats.forwards  # drafts of 8, 16, 32, 64
    assert wrong.stats.forwards <= plain.stats.forwards
    assert partial.stats.forwards < plain.stats.forwards
    n_right = len(engine.tokenizer.encode(AFTER, add_special_tokens=False))
    assert right.stats.prediction_accepted == n_right and right.stats.prediction_rejected == 0
    assert wrong.stats.prediction_accepted < 5 and wrong.stats.prediction_rejected > 100
    assert 0 < partial.stats.prediction_rejected < 10
    assert plain.stats.prediction_accepted == plain.stats.prediction_rejected == 0


def test_prediction_stats_are_filled_for_greedy_too() -> None:
    result = _replayed(_engine(), AFTER.replace("plus(result", "minus(result"), "greedy")
    assert result.stats.prediction_accepted > 50 and 0 < result.stats.prediction_rejected < 10


@pytest.mark.parametrize("prediction", [None, SAMPLE, "nothing alike\n"])
def test_without_replay_a_prediction_never_moves_the_greedy_output(prediction: str | None) -> None:
    engine = _engine()
    outputs = {}
    for method in ("greedy", "speculative"):
        request = GenerationRequest(code=SAMPLE, instruction="x", method=method, prediction=prediction,
                                    max_new_tokens=32)
        outputs[method] = engine.generate(request).token_ids
    assert outputs["speculative"] == outputs["greedy"]


@pytest.mark.parametrize("prediction", [None, "def f(x):\n    return x\n"])
def test_raw_prompt_decoding_equals_greedy(prediction: str | None) -> None:
    engine = _engine()
    prompt = "# helpers\ndef f(x):\n    return x\n\n\ndef g(y):\n"
    outputs = {}
    for method in ("greedy", "speculative", "prompt-lookup"):
        request = GenerationRequest(code="", instruction="", prompt=prompt, prediction=prediction,
                                    method=method, max_new_tokens=24)  # type: ignore[arg-type]
        result = engine.generate(request)
        assert result.finish_reason == "length" and result.stats.tokens == 24
        assert result.stats.prompt_tokens == engine.count_tokens(prompt)
        outputs[method] = result.token_ids
    assert outputs["speculative"] == outputs["greedy"] == outputs["prompt-lookup"]


def test_raw_prompt_stops_at_a_stop_string_and_drafts_from_the_prompt() -> None:
    engine = _engine()
    prompt = "".join(f"def handler_{i}(event):\n    return dispatch(event, {i})\n\n" for i in range(8))
    answer = "def handler_8(event):\n    return dispatch(event, 8)\n\nEND more text\n"
    target = engine.tokenizer.encode(answer, add_special_tokens=False)
    request = GenerationRequest(code="", instruction="", prompt=prompt, stop=("END",), max_new_tokens=len(target) + 4)
    ids = engine.prompt(request).ids
    with pinned_logits(engine.loaded.model, len(ids), target, 0):
        result = engine.generate(request)
    assert result.finish_reason == "stop"
    assert result.text == "def handler_8(event):\n    return dispatch(event, 8)\n\n"
    assert result.stats.draft_accepted > 0 and result.stats.forwards < result.stats.tokens - 4  # drafted from the prompt


def test_calibration_is_measured_once_and_kept_in_the_cache_folder(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTAPPLY_CACHE_DIR", str(tmp_path / "cache"))
    measured: list[int] = []
    first = Engine(tiny_model("qwen2"), EngineConfig(on_measure=lambda: measured.append(1)))
    cap = first.draft_config().cap
    assert measured == [1] and (tmp_path / "cache" / "calibration.json").is_file()
    second = Engine(tiny_model("qwen2"), EngineConfig(on_measure=lambda: measured.append(2)))
    assert second.draft_config().cap == cap and measured == [1]
    other = Engine(tiny_model("llama"), EngineConfig(on_measure=lambda: measured.append(3)))
    other.draft_config()
    assert measured == [1, 3]  # another model is measured on its own


def test_a_cancel_during_calibration_ends_the_generation_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTAPPLY_CACHE_DIR", str(tmp_path / "cache"))
    cancel = threading.Event()
    seconds: list[float] = []
    engine = Engine(tiny_model("qwen2"), EngineConfig(on_measure=cancel.set, on_measured=seconds.append))
    request = GenerationRequest(instruction="Keep it.", code="x = 1\n", method="speculative", cancel=cancel)
    result = engine.generate(request)
    assert result.stats.finish_reason == "cancelled"
    assert len(seconds) == 1  # told the measurement ended, once
    assert not (tmp_path / "cache" / "calibration.json").exists()  # a cut-short measurement is not kept
    measured: list[int] = []
    engine.config.on_measure = lambda: measured.append(1)
    engine.generate(GenerationRequest(instruction="Keep it.", code="x = 1\n", method="speculative"))
    assert measured == [1] and (tmp_path / "cache" / "calibration.json").is_file()  # measured next time


def test_drafts_go_cap_long_only_where_a_wide_forward_is_nearly_free(tmp_path: Path) -> None:
    from fastapply.engine import calibration
    from fastapply.engine.api import draft_settings

    gpu_like = draft_settings(256, {1: 0.010, 16: 0.010, 64: 0.011, 256: 0.014})
    cpu_like = draft_settings(256, {1: 0.008, 16: 0.013, 64: 0.027, 256: 0.085})
    assert gpu_like.track_growth == gpu_like.track_per_match == 256
    assert (cpu_like.track_growth, cpu_like.track_per_match) == (DraftConfig().track_growth, DraftConfig().track_per_match)
    assert draft_settings(64, {}).track_growth == DraftConfig().track_growth  # no costs recalled: the defaults
    calibration.store_cap("k", 256, {1: 0.010, 256: 0.014}, folder=tmp_path)
    assert calibration.stored_costs("k", folder=tmp_path) == {1: 0.010, 256: 0.014}
    assert calibration.stored_costs("other", folder=tmp_path) == {}


# What a calibration taken while three test runs shared the 2-core machine stored: width 1 timed
# at ten times width 256, so the engine took a wide forward for nearly free and drafted cap-long.
DISTURBED = {1: 0.3282, 16: 0.0748, 64: 0.0207, 256: 0.0311}


def test_a_disturbed_calibration_is_taken_again_and_never_stored(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapply.engine import calibration

    assert not calibration.consistent(DISTURBED)
    assert calibration.consistent({1: 0.0030, 16: 0.0050, 64: 0.0092, 256: 0.0242})  # the same CPU, idle
    assert calibration.consistent({1: 0.0100, 16: 0.0094, 64: 0.0101, 256: 0.0140})  # a GPU's noise
    monkeypatch.setenv("FASTAPPLY_CACHE_DIR", str(tmp_path / "cache"))
    attempts: list[int] = []

    def disturbed(*_: object) -> dict[int, float]:
        attempts.append(1)
        return dict(DISTURBED)

    monkeypatch.setattr(calibration, "_time_widths", disturbed)
    engine = Engine(tiny_model("qwen2"))
    config = engine.draft_config()
    assert len(attempts) == 3  # measured again, up to three times in all
    assert (config.cap, config.track_growth) == (DraftConfig().cap, DraftConfig().track_growth)  # the defaults
    assert not (tmp_path / "cache" / "calibration.json").exists()
    engine.draft_config()
    assert len(attempts) == 3  # not again in this process


def test_a_disturbed_calibration_an_earlier_release_stored_is_measured_again(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapply.engine import calibration

    monkeypatch.setenv("FASTAPPLY_CACHE_DIR", str(tmp_path))
    lm = tiny_model("qwen2")
    key = calibration.calibration_key(lm.model, lm.name, lm.device, lm.dtype)
    calibration.store_cap(key, 256, DISTURBED)
    assert calibration.stored(key) is None
    measured: list[int] = []
    config = Engine(lm, EngineConfig(on_measure=lambda: measured.append(1))).draft_config()
    assert measured == [1] and calibration.consistent(calibration.stored_costs(key))
    assert config.cap == calibration.stored(key)[0]
