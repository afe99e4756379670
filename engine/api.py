"""The engine's one call: ``Engine.generate(GenerationRequest) -> GenerationResult``.

An ``Engine`` owns a loaded model and tokenizer, builds the prompt (a file rewrite, or a caller's
raw prompt), refuses one over the context before any prefill, runs the requested decoding method,
and returns the text with its stats. Draft lengths are capped by what a forward of each width
costs on the device, measured once and kept in the user's cache folder (``calibration.py``). This
is the object the core's ``Backend`` protocol describes; nothing here knows about files on disk
or git.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from fastapply.engine import calibration
from fastapply.engine.decode import DecodeContext, decode_greedy, decode_prompt_lookup, decode_speculative
from fastapply.engine.drafter import DraftConfig, Drafter
from fastapply.engine.load import LoadedModel, load_model
from fastapply.engine.prompt import Prompt, build_prompt, raw_prompt
from fastapply.engine.stream import TokenStream
from fastapply.engine.types import (
    EngineError,
    GenerationRequest,
    GenerationResult,
    GenerationStats,
    Method,
    PromptTooLong,
)

MIN_OUTPUT_ROOM = 16  # a prompt must leave at least this many positions for the output
# Text longer than this many characters per context token is refused from its first part alone:
# tokenizing 600 KB takes seconds, its first 64 KB (for a 4k context) a fraction of one.
PROBE_CHARS_PER_TOKEN = 16
# A forward as wide as the cap that costs at most this many narrow ones makes width nearly free
# (a GPU): drafts on a track then go cap-long at once, which needs the fewest forwards.
WIDE_IS_FREE = 2.0


def draft_settings(cap: int, costs: dict[int, float]) -> DraftConfig:
    """The drafter's settings for a measured cap and the per-width costs behind it."""
    config = DraftConfig(cap=cap, start=min(16, cap))
    if 1 in costs and cap in costs and costs[cap] <= WIDE_IS_FREE * costs[1]:
        config.track_growth = config.track_per_match = cap
        config.wide_is_free = True
    return config


@dataclass(slots=True)
class EngineConfig:
    draft: DraftConfig | None = None  # None: start from defaults and measure (or recall) the cap
    prompt_lookup_tokens: int = 10
    min_new_tokens_margin: int = 256
    on_measure: Callable[[], None] | None = None  # called once before a calibration starts
    on_measured: Callable[[float], None] | None = None  # ...and after it, with its seconds


@dataclass(slots=True)
class Job:
    """One generation as the decoding methods see it."""

    engine: Engine
    request: GenerationRequest
    ctx: DecodeContext
    prediction: list[int] | None  # the prediction's tokens (the close marker excluded)


def _run_greedy(job: Job) -> None:
    decode_greedy(job.ctx)


def _run_prompt_lookup(job: Job) -> None:
    decode_prompt_lookup(job.ctx, job.engine.config.prompt_lookup_tokens)


def _run_speculative(job: Job) -> None:
    prompt = job.ctx.prompt
    file_track = prompt.original_ids + prompt.tail_ids
    config = job.engine.draft_config(job.request.cancel)
    if job.prediction is None:
        drafter = Drafter(file_track, prompt.rest, config)
    else:
        fallback = file_track if prompt.code_end > prompt.code_start else None
        drafter = Drafter(job.prediction + prompt.tail_ids, prompt.rest, config, fallback=fallback)
    decode_speculative(job.ctx, drafter)
    if job.prediction is not None:
        used = min(drafter.tracks[0].copied, len(job.prediction))
        job.ctx.stats.prediction_accepted = used
        job.ctx.stats.prediction_rejected = len(job.prediction) - used


METHODS: dict[Method, Callable[[Job], None]] = {
    "greedy": _run_greedy,
    "prompt-lookup": _run_prompt_lookup,
    "speculative": _run_speculative,
}


def prediction_overlap(prediction: list[int], output: list[int]) -> int:
    """Prediction tokens that appear, in order, in the output (for methods that do not draft)."""
    matcher = difflib.SequenceMatcher(None, prediction, output, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks())


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
        return len(self.loaded.tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def draft_config(self, cancel: threading.Event | None = None) -> DraftConfig:
        """The drafter settings, the cap recalled from the cache folder or measured on first use.

        A measurement cut short by ``cancel`` is neither kept nor stored: this generation gets the
        default settings (it is ending anyway) and the next one measures again. One that other
        work on the machine disturbed at every attempt is not stored either: this process drafts
        with the defaults, and the next process measures again.
        """
        if self._draft is None:
            lm = self.loaded
            key = calibration.calibration_key(lm.model, lm.name, lm.device, lm.dtype)
            found = calibration.stored(key) or self._measure(key, cancel)
            if found is None:
                return DraftConfig()
            self._draft = draft_settings(*found)
        return self._draft

    def _measure(self, key: str, cancel: threading.Event | None) -> tuple[int, dict[int, float]] | None:
        """Measure the draft widths and store the cap; None when ``cancel`` cut it short."""
        if cancel is not None and cancel.is_set():
            return None
        if self.config.on_measure is not None:
            self.config.on_measure()
        start = time.perf_counter()
        costs = calibration.measure_widths(self.loaded.model, self.loaded.device, cancel=cancel)
        if self.config.on_measured is not None:
            self.config.on_measured(time.perf_counter() - start)
        if costs is None:
            return None
        if not calibration.consistent(costs):
            # Disturbed every time: this process drafts with the defaults, the next one measures again.
            return DraftConfig().cap, {}
        cap = calibration.draft_cap(costs)
        calibration.store_cap(key, cap, costs)
        return cap, costs

    def prompt(self, request: GenerationRequest) -> Prompt:
        """The tokenized prompt: the caller's raw ``prompt``, else the rewrite of ``code``."""
        if request.prompt is not None:
            return raw_prompt(self.loaded.tokenizer, request.prompt, request.stop)
        return build_prompt(self.loaded.tokenizer, request.instruction, request.code, request.path)

    def prompt_tokens(self, request: GenerationRequest) -> int:
        """How many tokens the request's prompt takes (tokenizing only, no model call)."""
        return len(self.prompt(request).ids)

    def refuse_early(self, request: GenerationRequest) -> None:
        """``PromptTooLong`` from the text's first part alone when that part already overflows.

        The token count in the error is then extrapolated from that part's characters per token.
        """
        text = request.prompt if request.prompt is not None else request.code
        probe = self.max_context * PROBE_CHARS_PER_TOKEN
        if len(text) <= probe:
            return
        head = self.count_tokens(text[:probe])
        if head + MIN_OUTPUT_ROOM > self.max_context:
            raise PromptTooLong(round(head * len(text) / probe), self.max_context)

    def check_fits(self, prompt: Prompt) -> None:
        """Raise ``PromptTooLong`` when the prompt leaves too little room for output."""
        if len(prompt.ids) + MIN_OUTPUT_ROOM > self.max_context:
            raise PromptTooLong(len(prompt.ids), self.max_context)

    def default_budget(self, prompt: Prompt, prediction: list[int] | None = None) -> int:
        """Enough for the file (or prediction) twice over, within the model's context."""
        expected = len(prompt.original_ids) if prediction is None else max(len(prediction), len(prompt.original_ids))
        wanted = 2 * expected + self.config.min_new_tokens_margin
        return max(1, min(wanted, self.max_context - len(prompt.ids)))

    def _prediction_ids(self, request: GenerationRequest) -> list[int] | None:
        if request.prediction is None:
            return None
        text = request.prediction
        if request.prompt is None and text and not text.endswith(("\n", "\r")):
            text += "\n"  # as the file is written into the rewrite prompt
        return self.loaded.tokenizer.encode(text, add_special_tokens=False, verbose=False)

    def generate(self, request: GenerationRequest, prompt: Prompt | None = None) -> GenerationResult:
        """Rewrite ``request.code`` (or continue ``request.prompt``); streams through ``on_text``.

        Raises:
            PromptTooLong: before any prefill, when the prompt does not fit the context.
            EngineError: bad input (an unknown method, a chat template that hides the file).
        Out of memory and other runtime failures come back as a result with ``finish_reason`` error.
        """
        run = METHODS.get(request.method)
        if run is None:
            raise EngineError(f"unknown decoding method {request.method!r}; use one of {', '.join(METHODS)}")
        if prompt is None:
            self.refuse_early(request)
            prompt = self.prompt(request)
        self.check_fits(prompt)
        prediction = self._prediction_ids(request)
        room = self.max_context - len(prompt.ids)
        budget = min(request.max_new_tokens or self.default_budget(prompt, prediction), room)
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
            if request.method == "speculative":
                self.draft_config(request.cancel)  # calibrate outside the timed generation
            start = time.perf_counter()
            try:
                run(Job(self, request, ctx, prediction))
            except torch.OutOfMemoryError as exc:
                error = f"out of memory: {exc}"
            except RuntimeError as exc:
                error = f"{exc.__class__.__name__}: {exc}"
            stats.seconds = time.perf_counter() - start
        if error is not None:
            stream.finish("error")
        stats.tokens = len(stream.ids)
        stats.finish_reason = stream.finish_reason or "error"
        if prediction is not None and request.method != "speculative":
            stats.prediction_accepted = prediction_overlap(prediction, stream.ids)
            stats.prediction_rejected = len(prediction) - stats.prediction_accepted
        return GenerationResult(text=stream.result_text(), token_ids=list(stream.ids), stats=stats, error=error)
