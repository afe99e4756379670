"""Plain data that crosses the engine's boundary: requests, streamed chunks, stats and results.

Nothing here imports torch, so the core package can name these types without loading a model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Literal

FinishReason = Literal["stop", "length", "cancelled", "error"]
Method = Literal["greedy", "prompt-lookup", "speculative"]
METHODS: tuple[Method, ...] = ("greedy", "prompt-lookup", "speculative")


@dataclass(slots=True)
class GenerationRequest:
    """One rewrite: the original file, what to do with it, and how to decode."""

    code: str
    instruction: str
    path: str = ""
    method: Method = "speculative"
    max_new_tokens: int | None = None  # None: enough for the file plus a margin
    # What the output is expected to be (a codemod's preview, a failed attempt, an OpenAI-style
    # Predicted Output): the drafter's primary source instead of ``code``. None: draft from ``code``.
    prediction: str | None = None
    # A complete prompt text (OpenAI completions, or chat messages the caller rendered with the
    # tokenizer's chat template): when set, the engine decodes right after it and ``code`` and
    # ``instruction`` are unused; drafts come from ``prediction``, else from the prompt itself.
    prompt: str | None = None
    stop: tuple[str, ...] = ()  # extra stop strings (raw prompts); EOS always stops
    cancel: threading.Event | None = None
    on_text: Callable[[str], None] | None = None  # called with each newly accepted piece of text


class DecodeRates:
    """Rates derived from token, forward, time and draft counts (shared by stats and totals)."""

    __slots__ = ()
    tokens: int
    forwards: int
    seconds: float
    draft_proposed: int
    draft_accepted: int

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def acceptance(self) -> float:
        """Share of proposed draft tokens the model accepted."""
        return self.draft_accepted / self.draft_proposed if self.draft_proposed else 0.0

    @property
    def forwards_per_token(self) -> float:
        return self.forwards / self.tokens if self.tokens else 0.0


@dataclass(slots=True)
class GenerationStats(DecodeRates):
    tokens: int = 0  # tokens emitted, the stop marker included
    forwards: int = 0  # model forward passes after prefill
    draft_proposed: int = 0
    draft_accepted: int = 0
    # With a prediction, as OpenAI defines them: prediction tokens that appeared in the output,
    # and those that did not (still counted in ``tokens`` where generated).
    prediction_accepted: int = 0
    prediction_rejected: int = 0
    prompt_tokens: int = 0
    prefill_seconds: float = 0.0
    time_to_first_token: float = 0.0
    seconds: float = 0.0  # wall time of the whole generation, prefill included
    finish_reason: FinishReason = "stop"

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "tokens": self.tokens,
            "forwards": self.forwards,
            "draft_proposed": self.draft_proposed,
            "draft_accepted": self.draft_accepted,
            "prediction_accepted": self.prediction_accepted,
            "prediction_rejected": self.prediction_rejected,
            "prompt_tokens": self.prompt_tokens,
            "prefill_seconds": round(self.prefill_seconds, 6),
            "time_to_first_token": round(self.time_to_first_token, 6),
            "seconds": round(self.seconds, 6),
            "tokens_per_second": round(self.tokens_per_second, 3),
            "acceptance": round(self.acceptance, 6),
            "finish_reason": self.finish_reason,
        }


@dataclass(slots=True)
class GenerationResult:
    """The rewritten file. ``text`` is trustworthy only when ``stats.finish_reason == "stop"``."""

    text: str
    token_ids: list[int] = field(default_factory=list)
    stats: GenerationStats = field(default_factory=GenerationStats)
    error: str | None = None

    @property
    def finish_reason(self) -> FinishReason:
        return self.stats.finish_reason


class EngineError(Exception):
    """The engine could not do what was asked (model missing, bad config, out of memory)."""


class PromptTooLong(EngineError):
    """The prompt does not fit the model's context; raised before any prefill."""

    def __init__(self, tokens: int, limit: int) -> None:
        super().__init__(f"{tokens:,} tokens, the model reads {limit:,}")
        self.tokens = tokens
        self.limit = limit


class ModelNotFoundError(EngineError):
    """No weights were found where the model spec pointed."""
