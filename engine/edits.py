"""Edit replay: an edit the output made to a track, learned as a token substitution and replayed.

A rewrite often makes the same edit at several places (a rename, a changed call, a re-indented
block): once the output has replaced ``old`` by ``new`` in a track, drafts from later in that track
carry ``new`` wherever ``old`` recurs, so the next occurrence is verified in the same forward as the
text around it instead of costing a divergence and a re-sync. An insertion (``old`` empty) is
keyed by the few tokens before it. A rule that a verify rejected more often than it accepted is
left out until the output makes that edit again.

This module knows token ids and the track's n-gram index only: no model, no drafter state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapply.engine.ngrams import FrozenNgramIndex, NgramIndex

INSERT_CONTEXT = 4  # tokens before an insertion that key it (fewer recur by chance)
MAX_RULES = 32  # the most recent edits kept: each draft looks every rule up once


@dataclass(slots=True)
class EditRule:
    trigger: tuple[int, ...]  # the track's tokens the edit replaced (with an insertion's context)
    replacement: list[int]  # what the output wrote instead
    accepted: int = 0  # drafts in which a verify took the whole replacement
    rejected: int = 0  # ...and in which it stopped inside it

    @property
    def live(self) -> bool:
        return self.rejected <= self.accepted


@dataclass(slots=True)
class Plan:
    """A draft from a track with the edits replayed in it.

    ``after[i]`` is the track position after draft token ``i`` is accepted (a token inside a
    replacement leaves it at the replaced text's start); ``spans`` are the draft's (start, end,
    rule) replacements.
    """

    tokens: list[int] = field(default_factory=list)
    after: list[int] = field(default_factory=list)
    spans: list[tuple[int, int, EditRule]] = field(default_factory=list)

    def copy(self, tokens: list[int], start: int, end: int) -> None:
        self.tokens += tokens[start:end]
        self.after += range(start + 1, min(end, len(tokens)) + 1)

    def replace(self, at: int, rule: EditRule) -> None:
        first = len(self.tokens)
        self.tokens += rule.replacement
        resume = at + len(rule.trigger)
        self.after += [at] * (len(rule.replacement) - 1) + [resume] if rule.replacement else []
        self.spans.append((first, len(self.tokens), rule))


class EditMemory:
    """The edits the output made to one track, most recent last."""

    def __init__(self, max_n: int) -> None:
        self.max_n = max_n
        self.rules: dict[tuple[int, ...], EditRule] = {}

    def learn(self, tokens: list[int], start: int, end: int, written: list[int]) -> None:
        """The output wrote ``written`` where the track has ``tokens[start:end]``."""
        old = tokens[start:end]
        if old == written:
            return
        if not old:
            if start < INSERT_CONTEXT:
                return
            context = tokens[start - INSERT_CONTEXT : start]
            old, written = context, context + written
        trigger = tuple(old)
        self.rules.pop(trigger, None)  # learned again: a fresh record, and the most recent
        self.rules[trigger] = EditRule(trigger, list(written))
        if len(self.rules) > MAX_RULES:
            del self.rules[next(iter(self.rules))]

    def plan(self, tokens: list[int], index: FrozenNgramIndex | NgramIndex, pos: int, length: int) -> Plan:
        """``length`` draft tokens from ``tokens[pos:]`` with every live rule replayed."""
        plan = Plan()
        live = [rule for rule in self.rules.values() if rule.live]
        while len(plan.tokens) < length and pos < len(tokens):
            end = pos + length - len(plan.tokens)
            found = min(((at, rule) for rule in live
                         if (at := self._next(tokens, index, rule.trigger, pos, end)) is not None),
                        key=lambda hit: hit[0], default=None)
            if found is None:
                plan.copy(tokens, pos, end)
                break
            at, rule = found
            plan.copy(tokens, pos, at)
            plan.replace(at, rule)
            pos = at + len(rule.trigger)
        plan.tokens, plan.after = plan.tokens[:length], plan.after[:length]
        return plan

    def _next(self, tokens: list[int], index: FrozenNgramIndex | NgramIndex, trigger: tuple[int, ...],
              lo: int, hi: int) -> int | None:
        """The first start in [lo, hi) where ``trigger`` occurs in ``tokens``."""
        head = trigger[: self.max_n]
        while (at := index.first_at_or_after(head, lo)) is not None and at < hi:
            if len(trigger) == len(head) or tuple(tokens[at : at + len(trigger)]) == trigger:
                return at
            lo = at + 1
        return None


def score(spans: list[tuple[int, int, EditRule]], accepted: int, drafted: int) -> None:
    """Record, for each replayed rule, whether the verify took its replacement or stopped in it."""
    for first, end, rule in spans:
        if first < end:
            if accepted >= end:
                rule.accepted += 1
            elif accepted >= first:
                rule.rejected += 1
        elif accepted > first:  # a deletion: the token after it was taken
            rule.accepted += 1
        elif accepted == first < drafted:
            rule.rejected += 1
