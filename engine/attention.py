"""Attention for the engine's forwards on a CPU: the new queries are the newest positions, no mask.

Every forward of a ``ModelSession`` runs one sequence whose new positions come after everything in
the cache, so the mask is known without building it: each new query sees all cached positions and
the new ones up to itself. transformers builds that as a boolean mask of ``new x (cached + new)``,
which the CPU's SDPA converts and reads in every layer (a sixth of a width-256 verify forward at a
3k context on the ``tiny`` shape). Here the attention is split in two without a mask: the queries
over the cached keys (all visible) and over the new keys (a square, causal with ``is_causal``),
merged by their log-sum-exps. The result equals the masked attention up to rounding.

The implementation is registered with transformers under ``NAME`` and only takes this path when
the forward says so (``NEWEST_QUERIES``, which ``ModelSession`` passes); every other caller (the
bench's prompt-lookup baseline, training batches with padding) gets transformers' own SDPA with
its mask. It is enabled only on a CPU, for model types known to pass their keyword arguments down
to attention with full attention in every layer. This module knows tensors, not tokens or drafts.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

NAME = "fastapply_newest"
NEWEST_QUERIES = "fastapply_newest_queries"  # the forward's keyword that asks for the split path
MODEL_TYPES = frozenset({"llama", "qwen2", "qwen3"})


def newest_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers' attention signature; query ``[1, heads, new, dim]``, key/value ``[1, kv_heads, all, dim]``."""
    plain = (not kwargs.pop(NEWEST_QUERIES, False) or query.shape[0] != 1 or dropout
             or kwargs.get("sliding_window") is not None or kwargs.get("softcap") is not None)
    if plain:
        return _sdpa()(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    return split_attention(query, key, value, scaling).transpose(1, 2).contiguous(), None


def split_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                    scale: float | None) -> torch.Tensor:
    """Causal attention of the newest ``new`` positions: ``[1, heads, new, dim]``."""
    flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    batch, heads, new, dim = query.shape
    kv_heads, past = key.shape[1], key.shape[2] - query.shape[2]
    groups = heads // kv_heads
    # Query heads h use key head h // groups: over keys every query sees, a group's queries
    # stack as rows of one head ([1, kv_heads, groups * new, dim]) and no key is copied.
    stacked = query.reshape(batch, kv_heads, groups * new, dim)
    if new == 1:
        return flash(stacked, key, value, scale=scale)[0].reshape(batch, heads, new, dim)
    new_keys, new_values = key[:, :, past:], value[:, :, past:]
    if groups > 1:
        new_keys, new_values = new_keys.repeat_interleave(groups, 1), new_values.repeat_interleave(groups, 1)
    own, own_lse = flash(query, new_keys, new_values, is_causal=True, scale=scale)
    if past == 0:
        return own
    cached, cached_lse = flash(stacked, key[:, :, :past], value[:, :, :past], scale=scale)
    cached_lse = cached_lse.reshape(batch, heads, new, 1)
    own_lse = own_lse.reshape(batch, heads, new, 1)
    top = torch.maximum(cached_lse, own_lse)
    cached_weight, own_weight = (cached_lse - top).exp(), (own_lse - top).exp()
    merged = cached.reshape(batch, heads, new, dim) * cached_weight + own * own_weight  # in fp32 (the lse's)
    return (merged / (cached_weight + own_weight)).to(query.dtype)


@functools.cache
def _sdpa() -> Any:
    """transformers' masked SDPA, looked up once (this runs in every layer of every forward)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    return sdpa_attention_forward


@functools.cache
def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(NAME, newest_attention)
    AttentionMaskInterface.register(NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])  # masks for other callers


def eligible(model: Any, device: torch.device) -> bool:
    """Whether the split path is known to be right and faster for ``model`` on ``device``."""
    config = model.config
    layers = getattr(config, "layer_types", None) or ["full_attention"]
    return (device.type == "cpu" and config.model_type in MODEL_TYPES
            and getattr(config, "_attn_implementation", None) in ("sdpa", NAME)
            and not getattr(config, "use_sliding_window", False)
            and all(kind == "full_attention" for kind in layers)
            and hasattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu"))


def enable(model: Any, device: torch.device) -> dict[str, bool]:
    """Route ``model``'s attention here where ``eligible``; the keyword its forwards then pass."""
    if not eligible(model, device):
        return {}
    if model.config._attn_implementation != NAME:
        _register()
        model.set_attn_implementation(NAME)
    return {NEWEST_QUERIES: True}
