"""Decoding loops: plain greedy, speculative edits, and transformers' prompt lookup for comparison.

Each loop prefills the prompt, then pushes accepted tokens into a ``TokenStream`` until it says
stop. Greedy runs one token per forward. Speculative edits feeds the pending token plus a draft in
one forward, accepts the longest prefix that greedy would have produced, takes the model's own
token at the first mismatch, and rolls the KV cache back to what was accepted
(``ModelSession.verify``); the output is the greedy output. The KV cache grows in place
(``new_cache``): a forward writes only its own positions and a rollback only moves a length.
Prompts are prefilled in chunks, so a cancel lands between two chunks. Prompt lookup is
transformers' own ``generate(prompt_lookup_num_tokens=...)``.

This module knows models, caches and tensors; not files, prompts' wording or git.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from dataclasses import dataclass
from typing import Any

import torch

from fastapply.engine import attention
from fastapply.engine.drafter import Drafter
from fastapply.engine.prompt import Prompt
from fastapply.engine.stream import TokenStream
from fastapply.engine.types import GenerationStats
from fastapply.kernels.verify import verify
from fastapply.kernels.verify_reference import row_argmax


PREFILL_CHUNK = 512  # prompt tokens per prefill forward; cancel is honoured between chunks


def next_token(logits: torch.Tensor) -> int:
    """The greedy token after the last row of ``logits`` ``[rows, vocab]``."""
    return int(row_argmax(logits[-1:])[0])


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on a CPU), so a clock reads what it cost."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@functools.cache
def _growing_layer_class() -> type:
    """A ``DynamicLayer`` that writes into a buffer grown by doubling instead of re-concatenating.

    transformers' layer copies the whole cache at every forward (``torch.cat``), which on a CPU
    at a 2k context is a quarter of greedy's time; here an append copies only the new positions
    (amortized) and a rollback only moves the length. ``keys``/``values`` stay views of the first
    ``length`` positions, so everything that reads them sees what ``DynamicLayer`` would hold.
    """
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):  # type: ignore[misc, valid-type]
        reserve = 0  # positions allocated at the first write (the caller's estimate; more still fit)

        def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
            super().lazy_initialization(key_states, value_states)
            self.length = 0
            self._keys = key_states.new_empty((*key_states.shape[:-2], self.reserve, key_states.shape[-1]))
            self._values = value_states.new_empty((*value_states.shape[:-2], self.reserve, value_states.shape[-1]))

        def update(
            self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
        ) -> tuple[torch.Tensor, torch.Tensor]:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            end = self.length + key_states.shape[-2]
            if end > self._keys.shape[-2]:
                self._grow(max(end, 2 * self._keys.shape[-2], 256))
            self._keys[..., self.length : end, :] = key_states
            self._values[..., self.length : end, :] = value_states
            self._set_length(end)
            return self.keys, self.values

        def _grow(self, capacity: int) -> None:
            for name in ("_keys", "_values"):
                old = getattr(self, name)
                new = old.new_empty((*old.shape[:-2], capacity, old.shape[-1]))
                new[..., : self.length, :] = old[..., : self.length, :]
                setattr(self, name, new)

        def _set_length(self, length: int) -> None:
            self.length = length
            self.keys = self._keys[..., :length, :]
            self.values = self._values[..., :length, :]

        def get_seq_length(self) -> int:
            return self.length if self.is_initialized else 0

        def crop(self, tokens: int) -> None:
            # Negative: drop that many from the end (every 5.x); positive: the length to keep (5.0), 0: none.
            if self.is_initialized and tokens != 0:
                self._set_length(max(0, min(self.length, self.length + tokens if tokens < 0 else tokens)))

        def reset(self) -> None:
            if self.is_initialized:
                self._set_length(0)

    return GrowingLayer


def new_cache(model: Any, reserve: int = 0) -> Any:
    """A ``DynamicCache`` for ``model`` whose full-attention layers grow in place (``GrowingLayer``),
    each allocating room for ``reserve`` positions at its first write (a prompt and its budget: no
    copy while prefilling and decoding them), and doubling past it."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    growing = _growing_layer_class()
    cache = DynamicCache(config=model.config)
    limit = getattr(model.config, "max_position_embeddings", None)
    # Sliding-window and other special layers keep transformers' own class.
    cache.layers = [growing() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    for layer in cache.layers:
        if isinstance(layer, growing):
            layer.reserve = max(0, min(reserve, limit) if limit else reserve)
    return cache


class ModelSession:
    """One generation's model state: the KV cache and forwards that append to it."""

    def __init__(self, model: Any, device: torch.device, reserve: int = 0) -> None:
        self.model = model
        self.device = device
        self.cache = new_cache(model, reserve)
        params = inspect.signature(model.forward).parameters
        self._keep_arg = "logits_to_keep" in params
        # transformers renamed ``past_key_values`` to ``cache`` during 5.x; the old name warns.
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._attention = attention.enable(model, device)  # new positions always come last: no mask on a CPU
        self.forwards = 0

    @property
    def length(self) -> int:
        return self.cache.get_seq_length()

    @torch.inference_mode()
    def forward(self, ids: list[int], keep: int | None = None) -> torch.Tensor:
        """Run ``ids`` after the cached context; logits ``[keep or len(ids), vocab]``."""
        keep = len(ids) if keep is None else keep
        kwargs: dict[str, Any] = {self._cache_arg: self.cache, "use_cache": True, **self._attention}
        if self._keep_arg:
            kwargs["logits_to_keep"] = keep
        input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
        logits = self.model(input_ids=input_ids, **kwargs).logits[0]
        return logits[-keep:]

    def prefill(self, ids: list[int], cancel: threading.Event | None = None, chunk: int = PREFILL_CHUNK) -> int | None:
        """Feed the prompt in chunks; the first generated token, or None once ``cancel`` is set."""
        logits: torch.Tensor | None = None
        for at in range(0, len(ids), chunk):
            if cancel is not None and cancel.is_set():
                return None
            logits = self.forward(ids[at : at + chunk], keep=1)
        assert logits is not None, "an empty prompt has no next token"
        return next_token(logits)

    def step(self, ids: list[int]) -> torch.Tensor:
        self.forwards += 1
        return self.forward(ids)

    def verify(self, pending: int, draft: list[int]) -> tuple[int, int]:
        """One forward over the pending token and the draft: (draft tokens accepted, next token).

        Cache invariant, before and after: it holds the prompt and every accepted token except
        ``pending``, the newest, which no forward has seen yet. The forward appends all
        ``1 + len(draft)`` positions, and the rollback keeps the pending token and the accepted
        prefix only; the returned next token becomes the new pending one.
        """
        kept = self.length + 1
        logits = self.step([pending, *draft])
        accepted, following = verify(logits, torch.tensor(draft, dtype=torch.long, device=self.device)).tolist()
        self.rollback(kept + accepted)
        return accepted, following

    def rollback(self, length: int) -> None:
        """Forget every cached position from ``length`` on."""
        # A negative count removes that many from the end, in every transformers 5.x release.
        drop = self.length - length
        if drop > 0:
            self.cache.crop(-drop)


@dataclass(slots=True)
class DecodeContext:
    model: Any
    tokenizer: Any
    device: torch.device
    prompt: Prompt
    stream: TokenStream
    stats: GenerationStats
    cancel: threading.Event | None


def _prefill(ctx: DecodeContext, start: float) -> tuple[ModelSession, int] | None:
    """The session after the prompt and the first token, or None (finished ``cancelled``)."""
    # room for the prompt and an output as long again (a rewrite is about the file's length), and a
    # verify's pending token; a longer output grows the cache by doubling
    prompt = len(ctx.prompt.ids)
    session = ModelSession(ctx.model, ctx.device, reserve=prompt + min(ctx.stream.max_new_tokens, prompt) + 1)
    ctx.stats.prompt_tokens = len(ctx.prompt.ids)
    first = session.prefill(ctx.prompt.ids, ctx.cancel)
    if first is None:
        ctx.stream.finish("cancelled")
        return None
    sync(ctx.device)
    ctx.stats.prefill_seconds = time.perf_counter() - start
    ctx.stream.push([first])
    ctx.stats.time_to_first_token = time.perf_counter() - start
    return session, first


def _cancelled(ctx: DecodeContext) -> bool:
    if ctx.cancel is not None and ctx.cancel.is_set():
        ctx.stream.finish("cancelled")
        return True
    return False


def decode_greedy(ctx: DecodeContext) -> None:
    """One token per forward: the reference output every other method must reproduce."""
    started = _prefill(ctx, time.perf_counter())
    if started is None:
        return
    session, pending = started
    while not ctx.stream.done and not _cancelled(ctx):
        pending = next_token(session.step([pending]))
        ctx.stream.push([pending])
    ctx.stats.forwards = session.forwards


def decode_speculative(ctx: DecodeContext, drafter: Drafter) -> None:
    """Speculative edits: draft, verify in one forward, update the drafter, push what was kept."""
    started = _prefill(ctx, time.perf_counter())
    if started is None:
        return
    session, pending = started
    drafter.start(pending)
    while not ctx.stream.done and not _cancelled(ctx):
        # The budget counts the model's own token after the draft too.
        draft = drafter.draft(ctx.stream.ids)[: max(0, ctx.stream.room - 1)]
        accepted, pending = session.verify(pending, draft)
        ctx.stats.draft_proposed += len(draft)
        ctx.stats.draft_accepted += accepted
        drafter.update(draft, accepted, pending)
        ctx.stream.push([*draft[:accepted], pending])
    ctx.stats.forwards = session.forwards


class _CancelCriteria:
    """Stops transformers' generate when the caller cancels."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self.cancel = cancel

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        stop = self.cancel is not None and self.cancel.is_set()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


def decode_prompt_lookup(ctx: DecodeContext, num_tokens: int = 10) -> None:
    """transformers' prompt lookup decoding, counted and streamed like the other methods."""
    from transformers import GenerationConfig, StoppingCriteriaList

    calls = [0]
    handle = ctx.model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    start = time.perf_counter()
    input_ids = torch.tensor([ctx.prompt.ids], dtype=torch.long, device=ctx.device)
    config = GenerationConfig(
        do_sample=False,
        max_new_tokens=ctx.stream.max_new_tokens,
        prompt_lookup_num_tokens=num_tokens,
        eos_token_id=sorted(ctx.prompt.stop_ids),
        pad_token_id=ctx.tokenizer.pad_token_id or min(ctx.prompt.stop_ids, default=0),
    )
    extra: dict[str, Any] = {}
    if len(ctx.prompt.tail_ids) > 1 or ctx.prompt.extra_stops:  # stop texts that are not one token
        extra = {"stop_strings": list(ctx.prompt.stop_texts), "tokenizer": ctx.tokenizer}
    try:
        with torch.inference_mode():
            out = ctx.model.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                generation_config=config,
                stopping_criteria=StoppingCriteriaList([_CancelCriteria(ctx.cancel)]),
                **extra,
            )
    finally:
        handle.remove()
    sync(ctx.device)
    ctx.stats.prompt_tokens = len(ctx.prompt.ids)
    ctx.stats.time_to_first_token = time.perf_counter() - start
    ctx.stream.push(out[0, len(ctx.prompt.ids) :].tolist())
    ctx.stats.forwards = max(0, calls[0] - 1)  # the first call is the prefill
    if not ctx.stream.done:
        ctx.stream.finish("cancelled" if _cancelled(ctx) else "length")
