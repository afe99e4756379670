"""The engine's one call: ``Engine.generate(GenerationRequest) -> GenerationResult``.

An ``Engine`` owns a loaded model and tokenizer, builds the rewrite prompt, runs the requested
decoding method, and returns the text with its stats. It measures once what a forward of each
width costs on its device and caps draft lengths by that. This is the object the core's
``Backend`` protocol describes; nothing here knows about files on disk or git.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import torch

from fastapply.engine.decode import (
    DecodeContext,
    ModelSession,
    decode_greedy,
    decode_prompt_lookup,
    decode_speculative,
)
from fastapply.engine.drafter import DraftConfig
from fastapply.engine.load import LoadedModel, load_model
from fastapply.engine.prompt import Prompt, build_prompt
from fastapply.engine.stream import TokenStream
from fastapply.engine.types import GenerationRequest, GenerationResult, GenerationStats

WIDTHS = (1, 8, 16, 32, 64, 128, 256)


@dataclass(slots=True)
class EngineConfig:
    draft: DraftConfig | None = None  # None: start from defaults and measure the cap
    prompt_lookup_tokens: int = 10
    min_new_tokens_margin: int = 256


def measure_widths(model: Any, device: torch.device, widths: tuple[int, ...] = WIDTHS) -> dict[int, float]:
    """Seconds per forward of each width after a 256-token context (best of three)."""
    session = ModelSession(model, device)
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, int(model.config.vocab_size), (256 + max(widths),), generator=generator).tolist()
    session.prefill(tokens[:256])
    costs: dict[int, float] = {}
    for width in widths:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            session.forward(tokens[256 : 256 + width])
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            best = min(best, time.perf_counter() - start)
            session.rollback(256)
        costs[width] = best
    return costs


def draft_cap(costs: dict[int, float]) -> int:
    """The width that verifies the most tokens per second when every draft token is accepted."""
    return max(costs, key=lambda w: w / costs[w])


class Engine:
    """A loaded model ready to rewrite files. Satisfies ``fastapply.backend.Backend``."""

    def __init__(self, loaded: LoadedModel, config: EngineConfig | None = None) -> None:
        self.loaded = loaded
        self.config = config or EngineConfig()
        self._draft = self.config.draft
        self._lock = threading.Lock()  # one generation at a time on one model

    @classmethod
    def load(
        cls,
        spec: str | None = "default",
        *,
        device: str | None = None,
        dtype: str | None = None,
        trust_remote_code: bool = False,
        config: EngineConfig | None = None,
        verbose: bool | None = None,
    ) -> Engine:
        loaded = load_model(spec, device=device, dtype=dtype, trust_remote_code=trust_remote_code, verbose=verbose)
        return cls(loaded, config)

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def device(self) -> str:
        return str(self.loaded.device)

    @property
    def dtype(self) -> str:
        return str(self.loaded.dtype).removeprefix("torch.")

    @property
    def max_context(self) -> int:
        return self.loaded.max_context

    @property
    def tokenizer(self) -> Any:
        return self.loaded.tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self.loaded.tokenizer.encode(text, add_special_tokens=False))

    def draft_config(self) -> DraftConfig:
        """The drafter settings, the cap measured on first use."""
        if self._draft is None:
            cap = draft_cap(measure_widths(self.loaded.model, self.loaded.device))
            self._draft = DraftConfig(cap=cap, start=min(16, cap))
        return self._draft

    def prompt(self, request: GenerationRequest) -> Prompt:
        return build_prompt(self.loaded.tokenizer, request.instruction, request.code, request.path)

    def default_budget(self, prompt: Prompt) -> int:
        """Enough for the file twice over, within the model's context."""
        wanted = 2 * len(prompt.original_ids) + self.config.min_new_tokens_margin
        return max(1, min(wanted, self.max_context - len(prompt.ids)))

    def generate(self, request: GenerationRequest, prompt: Prompt | None = None) -> GenerationResult:
        """Rewrite ``request.code``; streams through ``request.on_text``; never raises for OOM."""
        prompt = prompt or self.prompt(request)
        budget = request.max_new_tokens or self.default_budget(prompt)
        stats = GenerationStats()
        stream = TokenStream(self.loaded.tokenizer, prompt, budget, request.on_text)
        ctx = DecodeContext(
            model=self.loaded.model,
            tokenizer=self.loaded.tokenizer,
            device=self.loaded.device,
            prompt=prompt,
            stream=stream,
            stats=stats,
            cancel=request.cancel,
        )
        error: str | None = None
        with self._lock:
            draft = self.draft_config() if request.method == "speculative" else None
            start = time.perf_counter()
            try:
                if request.method == "greedy":
                    decode_greedy(ctx)
                elif request.method == "prompt-lookup":
                    decode_prompt_lookup(ctx, self.config.prompt_lookup_tokens)
                elif request.method == "speculative":
                    assert draft is not None
                    decode_speculative(ctx, draft)
                else:
                    raise ValueError(f"unknown decoding method {request.method!r}")
            except torch.OutOfMemoryError as exc:
                error = f"out of memory: {exc}"
            except RuntimeError as exc:
                error = f"{exc.__class__.__name__}: {exc}"
            stats.seconds = time.perf_counter() - start
        if error is not None:
            stream.finish("error")
        stats.tokens = len(stream.ids)
        stats.finish_reason = stream.finish_reason or "error"
        return GenerationResult(text=stream.result_text(), token_ids=list(stream.ids), stats=stats, error=error)
