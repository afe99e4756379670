"""The n-gram indices answer every look-up as a plain scan does: the growing one as it is extended in
pieces (a long key found through its first four tokens), the frozen one with hash collisions too."""

from __future__ import annotations

import random

import pytest

from fastapply.engine import ngrams
from fastapply.engine.ngrams import FrozenNgramIndex, NgramIndex


def _sequence(seed: int) -> list[int]:
    rng = random.Random(seed)
    line = [rng.randrange(50) for _ in range(9)]
    tokens: list[int] = []
    while len(tokens) < 600:  # repeated lines, some edited, among random tokens: many shared n-grams
        tokens += [t if rng.random() > 0.2 else rng.randrange(50) for t in line] if rng.random() < 0.6 else [rng.randrange(50)]
    return tokens


def _agree(tokens: list[int], max_n: int) -> None:
    growing, frozen = NgramIndex(tokens, max_n), FrozenNgramIndex(tokens, max_n)
    rng = random.Random(len(tokens))
    for _ in range(1500):
        n = rng.randint(1, max_n)
        at = rng.randrange(len(tokens) - n + 1)
        key = tuple(tokens[at : at + n]) if rng.random() < 0.9 else tuple(rng.randrange(60) for _ in range(n))
        bound = rng.randrange(len(tokens) + 2)
        assert frozen.first_at_or_after(key, bound) == growing.first_at_or_after(key, bound)
        assert frozen.last(key) == growing.last(key)
        assert frozen.last(key, before=bound) == growing.last(key, before=bound)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_frozen_index_answers_as_the_growing_one(seed: int) -> None:
    _agree(_sequence(seed), max_n=12)


def test_n_grams_that_share_a_hash_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ngrams, "_BASE", 0)  # every n-gram hashes as its last token does
    _agree(_sequence(3), max_n=6)
    assert FrozenNgramIndex([5, 7, 5, 8], 2).first_at_or_after((5, 8), 0) == 2  # (7, 8) would hash alike


def test_short_and_empty_sequences() -> None:
    assert FrozenNgramIndex([], 12).first_at_or_after((1,), 0) is None
    index = FrozenNgramIndex([4, 4], 12)
    assert index.first_at_or_after((4, 4), 0) == 0 and index.last((4,)) == 1 and index.last((4, 4, 4)) is None


def _scan(tokens: list[int], key: tuple[int, ...]) -> list[int]:
    n = len(key)
    return [s for s in range(len(tokens) - n + 1) if tuple(tokens[s : s + n]) == key]


@pytest.mark.parametrize("seed", [4, 5])
def test_the_growing_index_answers_as_a_scan_while_it_is_extended(seed: int) -> None:
    rng = random.Random(seed)
    full = _sequence(seed)
    tokens: list[int] = []
    index = NgramIndex(tokens, 12)
    while len(tokens) < len(full):
        tokens += full[len(tokens) : len(tokens) + rng.randint(1, 40)]
        indexed = list(tokens)
        index.extend()
        tokens.append(full[len(tokens)] if len(tokens) < len(full) else 0)  # appended, not yet indexed
        for _ in range(60):
            n = rng.randint(1, 12)
            at = rng.randrange(max(1, len(tokens) - n + 1))
            key = tuple(tokens[at : at + n])
            starts = _scan(indexed, key)
            bound = rng.randrange(len(tokens) + 2)
            assert index.first_at_or_after(key, bound) == next((s for s in starts if s >= bound), None)
            assert index.last(key, before=bound) == next((s for s in reversed(starts) if s < bound), None)
            assert index.last(key) == (starts[-1] if starts else None)
        tokens.pop()
