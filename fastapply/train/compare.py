"""The model card's shipping rule, applied to two evaluation reports: a candidate replaces the
shipped model only when, on the same held-out edits, it is at least as good on every figure and
better on at least one.

The figures are the card's: exact match, line accuracy and rewrites closed, over all edits and per
edit kind, and, when both reports timed the same renames, the speculative forward passes they took
(fewer is better). Tokens per second are left out: they are a timing, not a property of the model.
A figure that is missing, not a number, or not finite (a NaN is neither worse nor better) makes
the report malformed: a ValueError that names the report and the figure.
Knows the report format of ``fastapply.train.evaluate``; nothing about models or training.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

SPEED = "speculative forwards on the timed renames"


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    base: float
    candidate: float
    higher_is_better: bool = True

    @property
    def worse(self) -> bool:
        return self.candidate < self.base if self.higher_is_better else self.candidate > self.base

    @property
    def better(self) -> bool:
        return self.candidate > self.base if self.higher_is_better else self.candidate < self.base


@dataclass(frozen=True, slots=True)
class Comparison:
    figures: list[Figure]
    cases_better: int  # edits whose line accuracy rose
    cases_worse: int
    cases: int

    @property
    def worse(self) -> list[Figure]:
        return [f for f in self.figures if f.worse]

    @property
    def better(self) -> list[Figure]:
        return [f for f in self.figures if f.better]

    @property
    def ship(self) -> bool:
        return not self.worse and bool(self.better)


def _value(report: dict[str, Any], name: str, figure: str, *keys: str) -> float:
    """``report[keys[0]][keys[1]]...`` as a finite number; a ValueError naming ``name`` and the
    figure when it is missing, not a number, or not finite (a NaN is neither worse nor better)."""
    node: Any = report
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise ValueError(f"{name} lacks a figure the evaluation writes: {'.'.join(keys)} ({figure})")
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
        shown = json.dumps(node, default=repr)
        raise ValueError(f"{name}: the figure {figure!r} ({'.'.join(keys)}) is {shown}, not a finite number")
    return float(node)


def _cases(report: dict[str, Any], name: str) -> list[dict[str, Any]]:
    cases = report.get("cases")
    if not isinstance(cases, list) or not isinstance(report.get("kinds"), dict):
        raise ValueError(f"{name} is not a 'fastapply train eval --out' report (no cases or kinds)")
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            raise ValueError(f"{name}: edit {i + 1} is not an object")
    return cases


def _same_edits(base: list[dict[str, Any]], candidate: list[dict[str, Any]]) -> None:
    if len(base) != len(candidate):
        raise ValueError(f"the reports are of different edits: {len(base)} against {len(candidate)}")
    for i, (a, b) in enumerate(zip(base, candidate)):
        if (a.get("kind"), a.get("path"), a.get("instruction")) != (b.get("kind"), b.get("path"), b.get("instruction")):
            raise ValueError(f"the reports are of different edits: edit {i + 1} is {a.get('kind')} {a.get('path')} "
                             f"in one and {b.get('kind')} {b.get('path')} in the other")


def _figures(report: dict[str, Any], name: str, kinds: list[str]) -> dict[str, float]:
    """The report's figures by name, in the card's order, the per-kind ones for ``kinds``."""
    closed = {kind: _value(report, name, f"{kind} closed", "kinds", kind, "closed") for kind in report["kinds"]}
    figures = {"all exact match": _value(report, name, "all exact match", "exact_match"),
               "all line accuracy": _value(report, name, "all line accuracy", "line_accuracy"),
               "all closed": sum(closed.values())}
    for kind in kinds:
        figures[f"{kind} exact match"] = _value(report, name, f"{kind} exact match", "kinds", kind, "exact_match")
        figures[f"{kind} line accuracy"] = _value(report, name, f"{kind} line accuracy", "kinds", kind, "line_accuracy")
        figures[f"{kind} closed"] = _value(report, name, f"{kind} closed", "kinds", kind, "closed")
    return figures


def _speed(report: dict[str, Any], name: str) -> tuple[float, float] | None:
    """(timed renames, speculative forwards on them), or None for a report that timed none."""
    if not report.get("speed"):
        return None
    return (_value(report, name, "timed renames", "speed", "edits"),
            _value(report, name, SPEED, "speed", "speculative", "forwards"))


def compare(base: dict[str, Any], candidate: dict[str, Any], names: tuple[str, str] = ("the base report",
            "the candidate report")) -> Comparison:
    """Every figure of ``candidate`` against ``base``; raises ValueError, naming the report by
    ``names``, if they are not reports of the same edits or a figure is missing or not a number."""
    base_cases, cand_cases = _cases(base, names[0]), _cases(candidate, names[1])
    _same_edits(base_cases, cand_cases)
    kinds = list(base["kinds"])
    b_figures, c_figures = _figures(base, names[0], kinds), _figures(candidate, names[1], kinds)
    figures = [Figure(f, b_figures[f], c_figures[f]) for f in b_figures]
    b_speed, c_speed = _speed(base, names[0]), _speed(candidate, names[1])
    if b_speed and c_speed and b_speed[0] == c_speed[0]:
        figures.append(Figure(SPEED, b_speed[1], c_speed[1], higher_is_better=False))
    rises = [_value(b, names[1], f"edit {i + 1} line accuracy", "line_accuracy")
             - _value(a, names[0], f"edit {i + 1} line accuracy", "line_accuracy")
             for i, (a, b) in enumerate(zip(base_cases, cand_cases))]
    return Comparison(figures, sum(r > 0 for r in rises), sum(r < 0 for r in rises), len(rises))


def _show(value: float, name: str) -> str:
    return f"{value:.1%}" if name.endswith(("exact match", "line accuracy")) else f"{value:g}"


def format_comparison(result: Comparison) -> str:
    lines = [f"{'figure':<44}{'base':>9}{'candidate':>11}"]
    for f in result.figures:
        mark = "  worse" if f.worse else "  better" if f.better else ""
        lines.append(f"{f.name:<44}{_show(f.base, f.name):>9}{_show(f.candidate, f.name):>11}{mark}")
    lines.append(f"edits: {result.cases_better} better, {result.cases_worse} worse, "
                 f"{result.cases - result.cases_better - result.cases_worse} the same (line accuracy)")
    if result.ship:
        lines.append(f"ship: yes (better on {len(result.better)} figures, worse on none)")
    elif result.worse:
        lines.append(f"ship: no (worse on {len(result.worse)}: {', '.join(f.name for f in result.worse)})")
    else:
        lines.append("ship: no (better on no figure)")
    return "\n".join(lines)
