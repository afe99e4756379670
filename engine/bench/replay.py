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


@contextmanager
def pinned_logits(model: Any, prompt_len: int, target: list[int], fill: int) -> Iterator[None]:
    """While active, position ``prompt_len - 1 + g`` predicts ``target[g]`` (``fill`` past the end).

    Positions are read from the KV cache length after each forward, so the pinning holds for any
    decoding loop that uses the model's cache, transformers' own ``generate`` included.
    """
    table = torch.tensor(target + [fill], dtype=torch.long)

    def hook(module: Any, args: tuple, kwargs: dict, output: Any) -> Any:
        cache = kwargs.get("past_key_values")
        logits = output.logits
        kept = logits.shape[1]
        end = cache.get_seq_length() if cache is not None else kept
        positions = torch.arange(end - kept, end)  # absolute positions of the kept rows
        generated = (positions + 1 - prompt_len).clamp(0, len(target))
        tokens = table[generated].to(logits.device)
        pinned = torch.zeros_like(logits)
        pinned[0, torch.arange(kept, device=logits.device), tokens] = 1.0
        output.logits = pinned
        return output

    handle = model.register_forward_hook(hook, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()
