"""N-gram indices over token sequences: where each n-gram (1 <= n <= max_n) starts.

``NgramIndex`` grows with its sequence (the output so far, extended as tokens are accepted);
``FrozenNgramIndex`` answers the same look-ups over a sequence that never changes (the file, the
prompt), built with a few array operations instead of one dictionary entry per n-gram, which on a
3k-token file is a tenth of the time. Each look-up is O(log n). This module knows token ids only.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict

import numpy as np

_BASE = 0x9E3779B97F4A7C15  # odd: the polynomial hash mod 2**64 below mixes every token
_MASK = (1 << 64) - 1


class NgramIndex:
    """Positions of every n-gram (1 <= n <= max_n) of a token sequence; ``extend`` adds more.

    N-grams up to ``ANCHOR`` tokens are keys of their own; a longer one is found among the starts
    of its first ``ANCHOR`` tokens and checked against the sequence, so extending costs four
    entries a token instead of ``max_n`` (most of the drafter's own time, on a CPU), and a longer
    key's candidates are the few places its first four tokens recur.
    """

    ANCHOR = 4

    def __init__(self, tokens: list[int], max_n: int) -> None:
        self.tokens = tokens
        self.max_n = max_n
        self._at: dict[tuple[int, ...], list[int]] = defaultdict(list)
        self._indexed = 0  # n-grams ending before this position are indexed
        self.extend()

    def extend(self) -> None:
        """Index the n-grams ending in tokens appended to ``tokens`` since the last call."""
        tokens, at, end = self.tokens, self._at, len(self.tokens)
        for n in range(1, min(self.max_n, self.ANCHOR) + 1):
            first = max(0, self._indexed - n + 1)  # the first start whose n-gram is new
            # zip builds the n-grams starting at first..end-n in C; each key's starts stay ascending
            grams = zip(*(tokens[first + i : end - n + 1 + i] for i in range(n)))
            for start, key in enumerate(grams, first):
                at[key].append(start)
        self._indexed = end

    def _candidates(self, key: tuple[int, ...]) -> tuple[list[int], list[int] | None]:
        """Starts whose first ``ANCHOR`` tokens are ``key``'s, and the tokens to check (None: no check)."""
        if len(key) > self.max_n:
            return [], None
        if len(key) <= self.ANCHOR:
            return self._at.get(key) or [], None
        return self._at.get(key[: self.ANCHOR]) or [], list(key)

    def _holds(self, start: int, want: list[int]) -> bool:
        end = start + len(want)
        return end <= self._indexed and self.tokens[start:end] == want

    def first_at_or_after(self, key: tuple[int, ...], lo: int) -> int | None:
        """Start of the first occurrence of ``key`` at or after ``lo`` (O(log n) and the anchor's recurrences)."""
        starts, want = self._candidates(key)
        for i in range(bisect_left(starts, lo), len(starts)):
            if want is None or self._holds(starts[i], want):
                return starts[i]
        return None

    def last(self, key: tuple[int, ...], before: int | None = None) -> int | None:
        """Start of the last occurrence of ``key`` (starting before ``before`` when given)."""
        starts, want = self._candidates(key)
        stop = len(starts) if before is None else bisect_left(starts, before)
        for i in range(stop - 1, -1, -1):
            if want is None or self._holds(starts[i], want):
                return starts[i]
        return None


def _hash(key: tuple[int, ...]) -> int:
    value = 0
    for token in key:
        value = (value * _BASE + token) & _MASK
    return value


class FrozenNgramIndex:
    """``NgramIndex``'s look-ups over a sequence that is never extended.

    For each n, the n-grams' hashes sorted (stably, so starts stay ascending within one hash) and
    their starts in that order; a look-up bisects the hash, then the starts, and checks the tokens
    (two n-grams may share a hash).
    """

    def __init__(self, tokens: list[int], max_n: int) -> None:
        self.tokens = tokens
        self.max_n = max_n
        self._hashes: list[list[int]] = []
        self._starts: list[list[int]] = []
        array = np.asarray(tokens, dtype=np.uint64)
        hashes = np.zeros(len(tokens), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for n in range(1, max_n + 1):
                count = max(0, len(tokens) - n + 1)
                hashes = hashes[:count] * np.uint64(_BASE) + array[n - 1 : n - 1 + count]  # of tokens[i : i + n]
                order = np.argsort(hashes, kind="stable")
                self._hashes.append(hashes[order].tolist())
                self._starts.append(order.tolist())

    def _group(self, key: tuple[int, ...]) -> tuple[list[int], int, int]:
        """The starts in hash order and the range of them whose n-gram hashes as ``key`` does."""
        hashes, value = self._hashes[len(key) - 1], _hash(key)
        first = bisect_left(hashes, value)
        return self._starts[len(key) - 1], first, bisect_right(hashes, value, first)

    def first_at_or_after(self, key: tuple[int, ...], lo: int) -> int | None:
        """Start of the first occurrence of ``key`` at or after ``lo`` (O(log n))."""
        starts, first, end = self._group(key)
        for i in range(bisect_left(starts, lo, first, end), end):
            if tuple(self.tokens[starts[i] : starts[i] + len(key)]) == key:
                return starts[i]
        return None

    def last(self, key: tuple[int, ...], before: int | None = None) -> int | None:
        """Start of the last occurrence of ``key`` (starting before ``before`` when given)."""
        starts, first, end = self._group(key)
        stop = end if before is None else bisect_left(starts, before, first, end)
        for i in range(stop - 1, first - 1, -1):
            if tuple(self.tokens[starts[i] : starts[i] + len(key)]) == key:
                return starts[i]
        return None
