"""The shipped default model: right format and size, loads offline, rewrites a small file."""

from __future__ import annotations

import json

import pytest

from fastapply.engine.assets import DEFAULT_MODEL_DIR

DEFAULT = DEFAULT_MODEL_DIR
SMALL = "def greet(name):\n    return 'hello ' + name\n\n\nprint(greet('world'))\n"

pytestmark = pytest.mark.skipif(not (DEFAULT / "model.safetensors").exists(), reason="no shipped model yet")


def test_shipped_model_is_a_small_tied_llama_with_long_context() -> None:
    config = json.loads((DEFAULT / "config.json").read_text())
    assert config["model_type"] == "llama"
    assert config["vocab_size"] == 8192
    assert config["tie_word_embeddings"] is True
    assert config["max_position_embeddings"] >= 4096
    assert (DEFAULT / "model.safetensors").stat().st_size <= 24 * 1024 * 1024
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json", "MODEL_CARD.md"):
        assert (DEFAULT / name).exists(), name


def test_shipped_model_loads_offline_and_produces_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from fastapply.engine.api import Engine
    from fastapply.engine.types import GenerationRequest

    engine = Engine.load("default", device="cpu", dtype="float32")
    assert engine.tokenizer.convert_tokens_to_ids("</updated-code>") != engine.tokenizer.unk_token_id
    result = engine.generate(GenerationRequest(code=SMALL, instruction="Make no changes.", path="hello.py",
                                               method="speculative", max_new_tokens=120))
    assert result.finish_reason in ("stop", "length")
    assert result.text.strip()
    assert result.stats.tokens > 0
