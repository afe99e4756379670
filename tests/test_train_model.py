"""The shipped default model: right format and size, loads offline, copies files it is asked to keep."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert (DEFAULT / "model.safetensors").stat().st_size <= 24_000_000
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json", "MODEL_CARD.md"):
        assert (DEFAULT / name).exists(), name


@pytest.fixture(scope="module")
def engine():
    from fastapply.engine.api import Engine

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        # no dtype given: the model's config declares the float32 its wired copy layers need
        yield Engine.load("default", device="cpu")


@pytest.mark.parametrize("method", ["greedy", "speculative"])
def test_shipped_model_rewrites_a_small_file_unchanged_when_asked_for_no_change(engine, method: str) -> None:
    from fastapply.engine.types import GenerationRequest

    assert engine.tokenizer.convert_tokens_to_ids("</updated-code>") != engine.tokenizer.unk_token_id
    result = engine.generate(GenerationRequest(code=SMALL, instruction="Make no changes.", path="hello.py",
                                               method=method, max_new_tokens=120))
    assert result.finish_reason == "stop"
    assert result.text == SMALL


def test_shipped_model_copies_the_150_line_demo_file_in_few_forwards(engine) -> None:
    from fastapply.engine.types import GenerationRequest

    code = (Path(__file__).parent.parent / "examples" / "demo_repo" / "inventory.py").read_text()
    result = engine.generate(GenerationRequest(code=code, instruction="Leave this file exactly as it is.",
                                               path="inventory.py", method="speculative", max_new_tokens=2048))
    assert result.text == code
    assert result.stats.forwards * 8 <= result.stats.tokens
