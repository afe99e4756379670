"""Random-weight models of real architectures and sizes, for measuring the engine without weights.

``tiny`` is a Llama of about 10M parameters; the Qwen2.5-Coder shapes use the published
architecture numbers. All use the project's tokenizer (its ids are a subset of each vocabulary),
and weights come from a fixed seed, so two builds of a shape are the same model.
"""

from __future__ import annotations

from typing import Any

import torch

from fastapply.engine.load import LoadedModel, load_tokenizer, pick_device, pick_dtype

SHAPES: dict[str, dict[str, Any]] = {
    "tiny": dict(
        arch="llama",
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=6,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=8192,
        max_position_embeddings=8192,
        tie_word_embeddings=False,
    ),
    "qwen2.5-coder-1.5b": dict(
        arch="qwen2",
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        vocab_size=151936,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        tie_word_embeddings=True,
    ),
    "qwen2.5-coder-7b": dict(
        arch="qwen2",
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        vocab_size=152064,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        tie_word_embeddings=False,
    ),
}


def shape_config(name: str, **overrides: Any) -> Any:
    """The transformers config of a named shape."""
    from transformers import LlamaConfig, Qwen2Config

    if name not in SHAPES:
        raise ValueError(f"unknown shape {name!r}; choose from {sorted(SHAPES)}")
    params = {**SHAPES[name], **overrides}
    arch = params.pop("arch")
    rope_theta = params.pop("rope_theta", 10000.0)
    config_cls = LlamaConfig if arch == "llama" else Qwen2Config
    config = config_cls(**params)
    config.rope_parameters = {"rope_type": "default", "rope_theta": rope_theta}
    return config


def build_shape(
    name: str,
    *,
    device: str | None = None,
    dtype: str | None = None,
    seed: int = 0,
) -> LoadedModel:
    """A random-weight model of the named shape, with the project's tokenizer."""
    from transformers import AutoModelForCausalLM

    config = shape_config(name)
    torch_device = pick_device(device)
    torch_dtype = pick_dtype(torch_device, dtype)
    torch.manual_seed(seed)
    with torch.device(torch_device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    model.eval()
    return LoadedModel(
        model=model,
        tokenizer=load_tokenizer(),
        name=f"shape:{name} (random weights)",
        device=torch_device,
        dtype=torch_dtype,
    )
