"""The apply model's architecture: a small transformers Llama built from a config.

Knows sizes and how to build a fresh model for the project tokenizer; knows nothing about data
or training. Presets are named so runs and the model card can refer to them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class ModelSize:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int


PRESETS: dict[str, ModelSize] = {
    "toy": ModelSize(hidden=64, layers=2, heads=2, kv_heads=2, intermediate=128),
    "tiny": ModelSize(hidden=192, layers=4, heads=4, kv_heads=4, intermediate=576),
    "small": ModelSize(hidden=256, layers=4, heads=4, kv_heads=4, intermediate=768),
    "base": ModelSize(hidden=320, layers=6, heads=5, kv_heads=5, intermediate=960),
}


def preset(name: str) -> ModelSize:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model size {name!r}; choose from {sorted(PRESETS)}") from None


def llama_config(size: ModelSize, tokenizer: Any, max_positions: int = 4096) -> Any:
    """A LlamaConfig for ``size`` whose special ids match the project tokenizer."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        num_key_value_heads=size.kv_heads,
        intermediate_size=size.intermediate,
        max_position_embeddings=max_positions,
        rope_theta=10000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attention_dropout=0.0,
    )


def build_model(size: ModelSize, tokenizer: Any, max_positions: int = 4096) -> Any:
    from transformers import LlamaForCausalLM

    return LlamaForCausalLM(llama_config(size, tokenizer, max_positions))


def describe(size: ModelSize) -> dict[str, int]:
    return asdict(size)


def count_parameters(model: Any) -> int:
    """Unique parameters (tied embeddings counted once)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total
