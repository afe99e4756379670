"""Replay pins every method to the case's text, whoever calls the model; the loader stays quiet."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
import torch
from engine_support import SAMPLE, tiny_model

from fastapply.engine.api import Engine, EngineConfig
from fastapply.engine.bench import harness
from fastapply.engine.bench.cases import BenchCase
from fastapply.engine.bench.harness import ReplayMismatch, run_case
from fastapply.engine.bench.replay import kept_positions
from fastapply.engine.drafter import DraftConfig
from fastapply.engine.load import load_model
from fastapply.engine.prompt import target_ids


def _random_case() -> BenchCase:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    block = "".join(f"{rng.choice(words)}_{rng.randrange(999)} = {rng.randrange(10**6)}\n" for _ in range(40))
    return BenchCase("sample.py", "Append the constants.", SAMPLE, SAMPLE + block)


def _engine() -> Engine:
    return Engine(tiny_model("llama"), EngineConfig(draft=DraftConfig(start=8, cap=64)))


def test_positions_come_from_the_forwards_own_arguments() -> None:
    class Cache:
        def get_seq_length(self) -> int:
            return 30

    ids = torch.arange(10, 22).unsqueeze(0)
    assert kept_positions({"position_ids": ids, "cache": Cache()}, 3).tolist() == [19, 20, 21]
    assert kept_positions({"cache_position": torch.arange(5, 9)}, 2).tolist() == [7, 8]
    assert kept_positions({"cache": Cache()}, 2).tolist() == [28, 29]
    assert kept_positions({"past_key_values": Cache()}, 1).tolist() == [29]
    assert kept_positions({}, 2).tolist() == [0, 1]


def test_prompt_lookup_pays_about_one_forward_per_token_of_new_random_code() -> None:
    engine, case = _engine(), _random_case()
    new = len(target_ids(engine.tokenizer, case.after)) - len(target_ids(engine.tokenizer, case.before))
    results = {m: run_case(engine, case, m, replay=True) for m in ("greedy", "prompt-lookup", "speculative")}
    assert results["prompt-lookup"].token_ids == results["greedy"].token_ids == results["speculative"].token_ids
    assert results["prompt-lookup"].stats.forwards >= 0.6 * new  # nobody can draft random constants
    assert results["greedy"].stats.forwards >= new


def test_a_method_that_leaves_the_case_text_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, case = _engine(), _random_case()
    monkeypatch.setattr(harness, "pinned_logits", lambda *a, **k: __import__("contextlib").nullcontext())
    with pytest.raises(ReplayMismatch, match="did not reproduce"):
        run_case(engine, case, "greedy", replay=True)


def test_no_future_warning_reaches_a_caller() -> None:
    engine = _engine()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        run_case(engine, _random_case(), "speculative", replay=True)
        run_case(engine, _random_case(), "prompt-lookup", replay=True)


def test_loading_shows_no_progress_bar_unless_asked(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    lm = tiny_model("llama")
    lm.model.save_pretrained(tmp_path)
    lm.tokenizer.save_pretrained(tmp_path)
    monkeypatch.delenv("FASTAPPLY_VERBOSE", raising=False)
    capfd.readouterr()
    load_model(str(tmp_path), device="cpu")
    assert "Loading weights" not in capfd.readouterr().err
    load_model(str(tmp_path), device="cpu", verbose=True)
    assert "Loading weights" in capfd.readouterr().err
