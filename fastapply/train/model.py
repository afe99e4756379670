"""The apply model's architecture: a small transformers Llama built from a config.

Knows sizes and how to build a fresh model for the project tokenizer; knows nothing about data
or training. Presets are named so runs and the model card can refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass
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


COPY_PRIOR = "copy"  # the hand-wired copy circuit of ``copy_prior`` plus learned layers


def preset(name: str) -> ModelSize:
    try:
        return PRESETS[name]
    except KeyError:
        choices = sorted([*PRESETS, COPY_PRIOR])
        raise ValueError(f"unknown model size {name!r}; choose from {choices}") from None


def new_model(name: str, tokenizer: Any, max_positions: int = 4096) -> Any:
    """A fresh model of preset ``name``: random weights, or the copy prior."""
    if name == COPY_PRIOR:
        from fastapply.train.copy_prior import PriorLayout, build_copy_prior

        return build_copy_prior(tokenizer, PriorLayout(max_positions=max_positions))
    return build_model(preset(name), tokenizer, max_positions)


def freeze_wired(model: Any, name: str, train_embeddings: bool = False) -> None:
    """The copy prior's wired layers (and, unless ``train_embeddings``, its tied embeddings) stay
    as set; only the rest is trained."""
    if name != COPY_PRIOR:
        return
    from fastapply.train.copy_prior import wired_parameter_names

    wired = wired_parameter_names()
    if train_embeddings:
        wired = tuple(w for w in wired if w not in ("model.embed_tokens.", "lm_head."))
    for pname, param in model.named_parameters():
        if pname.startswith(wired):
            param.requires_grad_(False)


def check_learned_scale(alpha: float) -> None:
    """Raise ValueError unless ``alpha`` lies in [0, 1] (0: untrained circuit, 1: trained)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"the learned-layer scale must lie in [0, 1], got {alpha}")


def scale_learned(model: Any, alpha: float) -> None:
    """Move the copy prior's trained parts ``alpha`` of the way from their start (0) to trained (1).

    The trained layers start as the identity (zero output projections), so scaling their output
    projections by ``alpha`` scales what they write; the final norm starts at ones and moves
    linearly. At 0 the model is the untrained circuit again.
    """
    import torch

    from fastapply.train.copy_prior import wired_parameter_names

    check_learned_scale(alpha)
    wired = wired_parameter_names()
    with torch.no_grad():
        for pname, param in model.named_parameters():
            if pname.startswith(wired):
                continue
            if pname.endswith(("o_proj.weight", "down_proj.weight")):
                param.mul_(alpha)
            elif pname == "model.norm.weight":
                param.sub_(1.0).mul_(alpha).add_(1.0)


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


def count_parameters(model: Any) -> int:
    """Unique parameters (tied embeddings counted once)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total
