"""Evaluate an apply model on held-out edits: exact match and line accuracy per edit kind, and
the speed of speculative edits against plain greedy on a few renames.

Generation goes through the real engine (``fastapply.engine.api.Engine``); speculative decoding
is lossless, so its outputs are the greedy outputs. Knows edits and the engine's request types;
knows nothing about training.
"""

from __future__ import annotations

import difflib
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from fastapply.engine.types import GenerationRequest
from fastapply.train.edit_common import Edit


def line_accuracy(expected: str, got: str) -> float:
    """Share of expected lines reproduced in order (1.0 for identical texts, 0.0 for none)."""
    want, have = expected.splitlines(), got.splitlines()
    if not want and not have:
        return 1.0
    matcher = difflib.SequenceMatcher(a=want, b=have, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return same / max(len(want), len(have))


def pick(edits: list[Edit], limit: int) -> list[Edit]:
    """At most ``limit`` edits of each kind (0: all), in file order."""
    if limit <= 0:
        return edits
    seen: dict[str, int] = defaultdict(int)
    out = []
    for e in edits:
        if seen[e.kind] < limit:
            seen[e.kind] += 1
            out.append(e)
    return out


def _budget(engine: Any, edit: Edit) -> int:
    return len(engine.tokenizer.encode(edit.after, add_special_tokens=False)) + 64


def evaluate(
    model: str,
    edits: list[Edit],
    *,
    method: str = "speculative",
    limit: int = 0,
    bench: int = 3,
    device: str | None = None,
    dtype: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every edit through the engine; returns a JSON-ready report. No edits, or a negative
    ``limit`` or ``bench``, is a ValueError, before any model loads."""
    from fastapply.engine.api import Engine

    if not edits:
        raise ValueError("no held-out edits to evaluate")
    if limit < 0 or bench < 0:
        raise ValueError(f"limit and bench must be 0 or more, not {limit} and {bench}")
    started = time.perf_counter()
    engine = Engine.load(model, device=device, dtype=dtype)
    load_seconds = time.perf_counter() - started
    chosen = pick(edits, limit)
    per_kind: dict[str, dict[str, float]] = defaultdict(lambda: {"n": 0, "exact": 0, "lines": 0.0, "closed": 0})
    cases = []
    for i, edit in enumerate(chosen):
        request = GenerationRequest(code=edit.before, instruction=edit.instruction, path=edit.path,
                                    method=method, max_new_tokens=_budget(engine, edit))  # type: ignore[arg-type]
        result = engine.generate(request)
        exact = result.finish_reason == "stop" and result.text == edit.after
        acc = line_accuracy(edit.after, result.text)
        k = per_kind[edit.kind]
        k["n"] += 1
        k["exact"] += int(exact)
        k["lines"] += acc
        k["closed"] += int(result.finish_reason == "stop")
        cases.append({"kind": edit.kind, "path": edit.path, "instruction": edit.instruction, "exact": exact,
                      "line_accuracy": round(acc, 4), "finish_reason": result.finish_reason,
                      "lines": edit.before.count("\n"), **result.stats.to_dict()})
        if progress:
            progress(f"[{i + 1}/{len(chosen)}] {edit.kind}: exact={exact} lines={acc:.3f} "
                     f"forwards={result.stats.forwards} tokens={result.stats.tokens}")
    n = sum(int(k["n"]) for k in per_kind.values())
    report: dict[str, Any] = {
        "model": model, "method": method, "device": engine.device, "dtype": engine.dtype,
        "load_seconds": round(load_seconds, 3), "edits": n,
        "exact_match": round(sum(k["exact"] for k in per_kind.values()) / n, 4) if n else 0.0,
        "line_accuracy": round(sum(k["lines"] for k in per_kind.values()) / n, 4) if n else 0.0,
        "kinds": {name: {"n": int(k["n"]), "exact_match": round(k["exact"] / k["n"], 4),
                         "line_accuracy": round(k["lines"] / k["n"], 4), "closed": int(k["closed"])}
                  for name, k in sorted(per_kind.items())},
        "cases": cases,
    }
    renames = [e for e in chosen if e.kind.startswith("rename")][:bench]
    if renames:
        report["speed"] = speed(engine, renames, progress)
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def speed(engine: Any, edits: list[Edit], progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Forwards and tokens/s of greedy against speculative on the same edits (real model)."""
    totals: dict[str, dict[str, float]] = {}
    for method in ("greedy", "speculative"):
        t = {"tokens": 0, "forwards": 0, "seconds": 0.0, "identical": 0}
        for edit in edits:
            request = GenerationRequest(code=edit.before, instruction=edit.instruction, path=edit.path,
                                        method=method, max_new_tokens=_budget(engine, edit))  # type: ignore[arg-type]
            result = engine.generate(request)
            t["tokens"] += result.stats.tokens
            t["forwards"] += result.stats.forwards
            t["seconds"] += result.stats.seconds
            t["identical"] += int(result.text == edit.after)
        t["tokens_per_second"] = round(t["tokens"] / t["seconds"], 2) if t["seconds"] else 0.0
        t["seconds"] = round(t["seconds"], 3)
        totals[method] = t
        if progress:
            progress(f"speed {method}: {t}")
    g, s = totals["greedy"], totals["speculative"]
    return {"edits": len(edits), **totals,
            "forward_reduction": round(g["forwards"] / s["forwards"], 2) if s["forwards"] else 0.0,
            "speedup": round(s["tokens_per_second"] / g["tokens_per_second"], 2) if g["tokens_per_second"] else 0.0}


def format_report(report: dict[str, Any]) -> str:
    lines = [f"model {report['model']} ({report['device']}, {report['dtype']}), {report['edits']} held-out edits, "
             f"method {report['method']}",
             f"exact match {report['exact_match']:.1%}  line accuracy {report['line_accuracy']:.1%}",
             f"{'kind':<20}{'n':>4}{'exact':>9}{'lines':>9}{'closed':>8}"]
    for name, k in report["kinds"].items():
        lines.append(f"{name:<20}{k['n']:>4}{k['exact_match']:>9.1%}{k['line_accuracy']:>9.1%}{k['closed']:>8}")
    if "speed" in report:
        s = report["speed"]
        lines.append(f"speed on {s['edits']} renames: greedy {s['greedy']['forwards']} forwards "
                     f"{s['greedy']['tokens_per_second']} tok/s; speculative {s['speculative']['forwards']} forwards "
                     f"{s['speculative']['tokens_per_second']} tok/s; {s['forward_reduction']}x fewer forwards, "
                     f"{s['speedup']}x tokens/s")
    return "\n".join(lines)
