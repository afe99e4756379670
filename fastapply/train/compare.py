"""The model card's shipping rule, applied to two evaluation reports: a candidate replaces the
shipped model only when, on the same held-out edits, it is at least as good on every figure and
better on at least one.

The figures are the card's: exact match, line accuracy and rewrites closed, over all edits and per
edit kind, and, when both reports timed the same renames, the speculative forward passes they took
(fewer is better). Tokens per second are left out: they are a timing, not a property of the model.
Knows the report format of ``fastapply.train.evaluate``; nothing about models or training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def _cases(report: dict[str, Any], which: str) -> list[dict[str, Any]]:
    cases = report.get("cases")
    if not isinstance(cases, list) or not isinstance(report.get("kinds"), dict):
        raise ValueError(f"the {which} report is not a 'fastapply train eval --out' report (no cases or kinds)")
    return cases


def _same_edits(base: list[dict[str, Any]], candidate: list[dict[str, Any]]) -> None:
    if len(base) != len(candidate):
        raise ValueError(f"the reports are of different edits: {len(base)} against {len(candidate)}")
    for i, (a, b) in enumerate(zip(base, candidate)):
        if (a.get("kind"), a.get("path"), a.get("instruction")) != (b.get("kind"), b.get("path"), b.get("instruction")):
            raise ValueError(f"the reports are of different edits: edit {i + 1} is {a.get('kind')} {a.get('path')} "
                             f"in one and {b.get('kind')} {b.get('path')} in the other")


def _totals(report: dict[str, Any]) -> tuple[float, float, float]:
    closed = sum(int(k["closed"]) for k in report["kinds"].values())
    return float(report["exact_match"]), float(report["line_accuracy"]), float(closed)


def compare(base: dict[str, Any], candidate: dict[str, Any]) -> Comparison:
    """Every figure of ``candidate`` against ``base``; raises ValueError if they are not reports of the same edits."""
    base_cases, cand_cases = _cases(base, "base"), _cases(candidate, "candidate")
    try:
        _same_edits(base_cases, cand_cases)
        return _compare(base, candidate, base_cases, cand_cases)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"a report lacks a figure the evaluation writes ({exc})") from exc


def _compare(base: dict[str, Any], candidate: dict[str, Any], base_cases: list[dict[str, Any]],
             cand_cases: list[dict[str, Any]]) -> Comparison:
    figures = [Figure(f"all {name}", a, b) for name, a, b in
               zip(("exact match", "line accuracy", "closed"), _totals(base), _totals(candidate))]
    for kind, k in base["kinds"].items():
        c = candidate["kinds"][kind]
        figures += [Figure(f"{kind} exact match", k["exact_match"], c["exact_match"]),
                    Figure(f"{kind} line accuracy", k["line_accuracy"], c["line_accuracy"]),
                    Figure(f"{kind} closed", k["closed"], c["closed"])]
    b_speed, c_speed = base.get("speed"), candidate.get("speed")
    if b_speed and c_speed and b_speed["edits"] == c_speed["edits"]:
        figures.append(Figure("speculative forwards on the timed renames", b_speed["speculative"]["forwards"],
                              c_speed["speculative"]["forwards"], higher_is_better=False))
    rises = [b["line_accuracy"] - a["line_accuracy"] for a, b in zip(base_cases, cand_cases)]
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
