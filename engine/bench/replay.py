"""Replay: run the real model (real cost) but pin its logits so greedy decoding writes a known text.

With no trained model at hand, this measures the engine on real edits: every forward does the
full computation, then a hook replaces the logits with a one-hot on the token that the case's
``after`` text has at that position. Greedy, prompt lookup and speculative edits all see the same
pinned model, so their outputs are the ``after`` text and their costs are real.

Results produced under replay must say so; this module knows tokens and hooks, not benches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

CACHE_NAMES = ("cache", "past_key_values")  # the cache keyword across transformers 5.x


def kept_positions(kwargs: dict, kept: int) -> torch.Tensor:
    """Absolute positions of the last ``kept`` input rows, from what the forward was given.

    ``position_ids`` (what transformers' ``generate`` passes), else ``cache_position``, else the
    cache's length after the forward (the engine's own loop passes neither), else ``0..kept-1``.
    """
    position_ids = kwargs.get("position_ids")
    if isinstance(position_ids, torch.Tensor) and position_ids.numel():
        return position_ids.reshape(-1, position_ids.shape[-1])[0, -kept:].cpu()
    cache_position = kwargs.get("cache_position")
    if isinstance(cache_position, torch.Tensor) and cache_position.numel():
        return cache_position.reshape(-1)[-kept:].cpu()
    for name in CACHE_NAMES:
        cache = kwargs.get(name)
        if cache is not None and hasattr(cache, "get_seq_length"):
            end = int(cache.get_seq_length())
            return torch.arange(end - kept, end)
    return torch.arange(kept)


@contextmanager
def pinned_logits(model: Any, prompt_len: int, target: list[int], fill: int) -> Iterator[None]:
    """While active, position ``prompt_len - 1 + g`` predicts ``target[g]`` (``fill`` past the end).

    Positions come from the forward's own arguments (``kept_positions``), so the pinning holds
    for any decoding loop, transformers' own ``generate`` included.
    """
    table = torch.tensor(target + [fill], dtype=torch.long)

    def hook(module: Any, args: tuple, kwargs: dict, output: Any) -> Any:
        logits = output.logits  # [1, kept, vocab]
        kept = logits.shape[1]
        positions = kept_positions(kwargs, kept)
        generated = (positions + 1 - prompt_len).clamp(0, len(target))
        tokens = table[generated].to(logits.device)
        logits.zero_()  # in place: the model's own output, and no fresh pages for a wide forward's logits
        logits[0, torch.arange(kept, device=logits.device), tokens] = 1.0
        return output

    handle = model.register_forward_hook(hook, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()
