"""Side-by-side bench: plain greedy, transformers' prompt lookup and speculative edits.

One process, one model, the same cases for every method, timed after a warm-up. Greedy always
runs, because it is the reference output the other methods must reproduce token for token.
Figures are ratios measured in the same run; nothing here asserts a speed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

from fastapply.engine.api import Engine
from fastapply.engine.bench.cases import BenchCase
from fastapply.engine.prompt import target_ids
from fastapply.engine.bench.oracle import lookup_bound
from fastapply.engine.bench.replay import pinned_logits
from fastapply.engine.types import (
    METHODS,
    DecodeRates,
    EngineError,
    GenerationRequest,
    GenerationResult,
    Method,
)


class ReplayMismatch(EngineError):
    """Under replay a method wrote something other than the case's text: its figures mean nothing."""


@dataclass(slots=True)
class MethodTotals(DecodeRates):
    tokens: int = 0
    forwards: int = 0
    seconds: float = 0.0
    draft_proposed: int = 0
    draft_accepted: int = 0
    identical_cases: int = 0
    cases: int = 0

    @property
    def identical_to_greedy(self) -> bool:
        return self.identical_cases == self.cases

    def add(self, result: GenerationResult, identical: bool) -> None:
        s = result.stats
        self.tokens += s.tokens
        self.forwards += s.forwards
        self.seconds += s.seconds
        self.draft_proposed += s.draft_proposed
        self.draft_accepted += s.draft_accepted
        self.identical_cases += int(identical)
        self.cases += 1


@dataclass(slots=True)
class CaseRow:
    """One case's figures per method; under replay also the lookup bound of its target.

    ``oracle_forwards`` is the bound with drafts of any length (the headline figure);
    ``oracle_forwards_capped`` holds the oracle to the drafter's width cap, as the drafter is.
    """

    path: str
    instruction: str
    oracle_forwards: int | None = None
    oracle_forwards_capped: int | None = None
    methods: dict[str, dict[str, float | int]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"path": self.path, "instruction": self.instruction, "oracle_forwards": self.oracle_forwards,
                "oracle_forwards_capped": self.oracle_forwards_capped, "methods": self.methods}


@dataclass(slots=True)
class BenchReport:
    cases: int
    model: str
    device: str
    dtype: str
    replay: bool
    draft_cap: int = 0  # the drafter's longest draft (from the measured forward cost)
    methods: dict[str, MethodTotals] = field(default_factory=dict)
    rows: list[CaseRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # cases no method can reproduce, with why

    @property
    def oracle_forwards(self) -> int | None:
        return _total([row.oracle_forwards for row in self.rows])

    @property
    def oracle_forwards_capped(self) -> int | None:
        return _total([row.oracle_forwards_capped for row in self.rows])

    def speedup(self, method: str, baseline: str) -> float:
        a, b = self.methods.get(method), self.methods.get(baseline)
        if not a or not b or not b.tokens_per_second:
            return 0.0
        return a.tokens_per_second / b.tokens_per_second

    def to_dict(self) -> dict:
        return {
            "cases": self.cases,
            "model": self.model,
            "device": self.device,
            "dtype": self.dtype,
            "replay": self.replay,
            "methods": {
                name: {
                    "tokens": t.tokens,
                    "forwards": t.forwards,
                    "seconds": round(t.seconds, 6),
                    "tokens_per_second": round(t.tokens_per_second, 3),
                    "identical_to_greedy": t.identical_to_greedy,
                }
                for name, t in self.methods.items()
            },
            "speedup": {
                "speculative_vs_greedy": round(self.speedup("speculative", "greedy"), 3),
                "speculative_vs_prompt_lookup": round(self.speedup("speculative", "prompt-lookup"), 3),
            },
            "oracle_forwards": self.oracle_forwards,
            "oracle_forwards_capped": self.oracle_forwards_capped,
            "draft_cap": self.draft_cap,
            "rows": [row.to_dict() for row in self.rows],
            "skipped": self.skipped,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _total(bounds: list[int | None]) -> int | None:
    """The sum, or None when any case has no bound (or there are none)."""
    return None if not bounds or None in bounds else sum(b for b in bounds if b is not None)


def _fill_token(engine: Engine) -> int:
    tok = engine.tokenizer
    return int(tok.eos_token_id if tok.eos_token_id is not None else 0)


def run_case(
    engine: Engine, case: BenchCase, method: Method, *, replay: bool, max_new_tokens: int | None = None
) -> GenerationResult:
    """One case with one method; under replay the model's logits are pinned to ``case.after``."""
    request = GenerationRequest(
        code=case.before, instruction=case.instruction, path=case.path, method=method
    )
    prompt = engine.prompt(request)
    pin = nullcontext()
    if replay:
        target = target_ids(engine.tokenizer, case.after)
        request.max_new_tokens = max_new_tokens or len(target) + 16
        pin = pinned_logits(engine.loaded.model, len(prompt.ids), target, _fill_token(engine))
    elif max_new_tokens:
        request.max_new_tokens = max_new_tokens
    with pin:
        result = engine.generate(request, prompt)
    if replay and (result.finish_reason != "stop" or result.token_ids[: len(target)] != target):
        raise ReplayMismatch(
            f"under replay, {method} did not reproduce case {case.path!r} "
            f"({case.instruction[:60]!r}): finish {result.finish_reason}, "
            f"{result.stats.tokens} tokens against {len(target)}; its figures would not be real"
        )
    return result


def replayable(engine: Engine, cases: list[BenchCase]) -> tuple[list[BenchCase], list[str]]:
    """The cases whose new text replay can pin, and why each other one cannot be.

    A new text that itself holds a stop token (a file that writes the output's close marker, as
    a prompt builder does) ends every method's output there, and one that does not fit the
    context after its prompt is cut off; no method can reproduce either.
    """
    kept: list[BenchCase] = []
    skipped: list[str] = []
    for case in cases:
        prompt = engine.prompt(GenerationRequest(code=case.before, instruction=case.instruction, path=case.path))
        target = target_ids(engine.tokenizer, case.after)
        body = target[: -len(prompt.tail_ids) or None]
        where = f"{case.path} ({case.instruction[:40]!r})"
        if any(token in prompt.stop_ids for token in body):
            skipped.append(f"{where}: its new text holds a stop token")
        elif len(prompt.ids) + len(target) > engine.max_context:
            skipped.append(f"{where}: prompt and new text, {len(prompt.ids) + len(target):,} tokens, exceed the "
                           f"model's context of {engine.max_context:,}")
        else:
            kept.append(case)
    return kept, skipped


def run_bench(
    engine: Engine,
    cases: list[BenchCase],
    methods: tuple[Method, ...] = METHODS,
    *,
    replay: bool = False,
    on_case: Callable[[int, str, GenerationResult], None] | None = None,
) -> BenchReport:
    """Run every case with every method (greedy first, as the reference)."""
    if replay:
        cases, skipped = replayable(engine, cases)
    else:
        skipped = []
    if not cases:
        raise ValueError("no bench cases" + (f" (skipped: {'; '.join(skipped)})" if skipped else ""))
    order: list[Method] = ["greedy", *[m for m in METHODS if m in methods and m != "greedy"]]
    report = BenchReport(
        cases=len(cases), model=engine.name, device=engine.device, dtype=engine.dtype, replay=replay,
        skipped=skipped,
    )
    report.draft_cap = engine.draft_config().cap  # measured before any timing
    for method in order:  # warm-up: first-call costs stay out of the figures
        run_case(engine, cases[0], method, replay=False, max_new_tokens=8)
    report.methods = {m: MethodTotals() for m in order}
    for index, case in enumerate(cases):
        reference: list[int] | None = None
        row = CaseRow(case.path, case.instruction)
        if replay:
            prompt = engine.prompt(GenerationRequest(code=case.before, instruction=case.instruction, path=case.path))
            target = target_ids(engine.tokenizer, case.after)
            row.oracle_forwards = lookup_bound(prompt.ids, target)
            row.oracle_forwards_capped = lookup_bound(prompt.ids, target, cap=report.draft_cap)
        report.rows.append(row)
        for method in order:
            result = run_case(engine, case, method, replay=replay)
            if method == "greedy":
                reference = result.token_ids
            report.methods[method].add(result, result.token_ids == reference)
            s = result.stats
            row.methods[method] = {"tokens": s.tokens, "forwards": s.forwards, "seconds": round(s.seconds, 6)}
            if method == "speculative":
                row.methods[method].update(draft_proposed=s.draft_proposed, draft_accepted=s.draft_accepted)
            if on_case is not None:
                on_case(index, method, result)
    return report
