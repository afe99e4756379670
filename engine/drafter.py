"""The speculative-edits drafter: propose the next tokens of the output from the original file.

The output of a rewrite is a monotone alignment of the original file with edits in between, so
the drafter keeps a pointer into the original's tokens and proposes the next ``k`` tokens after
it. After a divergence it re-syncs by looking up the last few generated tokens *forward* from the
pointer, never behind it (code repeats lines, and an earliest-match search jumps back to the wrong
copy). Edits are local, so the nearest resume point wins, and the farther ahead a candidate lies,
the longer the match it needs; a far jump stays tentative (the pointer does not move) until a long
run there is verified, so a repeat of an inserted line cannot hijack the alignment. Failing all
that, new code is borrowed from the rest of the prompt (an instruction may carry it, as an edit
snippet does) or from a similar passage of the file, most recent occurrence first, without moving
the pointer. Look-ups go through n-gram indexes built once per request.

The draft length grows on full acceptance and shrinks on a miss, capped by what a forward of that
width costs on the device (measured elsewhere and passed in as ``cap``).

This module knows token ids only: no model, no tensors.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass


@dataclass(slots=True)
class DraftConfig:
    start: int = 16  # first draft length
    min_len: int = 4  # draft length after a miss never goes below this
    cap: int = 256  # never longer than this (set from the measured forward cost)
    ngram_max: int = 12  # longest suffix used to re-sync
    ngram_min: int = 4  # shortest suffix searched in the rest of the prompt
    # (distance ahead of the pointer, suffix tokens that must match there), nearest first
    match_by_distance: tuple[tuple[int, int], ...] = ((16, 1), (64, 3), (512, 6))
    near: int = 64  # a resume point farther than this is tentative...
    confirm_run: int = 32  # ...until this many of its tokens are verified in a row


class NgramIndex:
    """Positions of every n-gram (1 <= n <= max_n) of a token sequence, built once."""

    def __init__(self, tokens: list[int], max_n: int) -> None:
        self.tokens = tokens
        self.max_n = max_n
        self._at: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for n in range(1, max_n + 1):
            for start in range(len(tokens) - n + 1):
                self._at[tuple(tokens[start : start + n])].append(start)

    def first_at_or_after(self, key: tuple[int, ...], lo: int) -> int | None:
        """Start of the first occurrence of ``key`` at or after ``lo`` (O(log n))."""
        starts = self._at.get(key)
        if not starts:
            return None
        i = bisect_left(starts, lo)
        return starts[i] if i < len(starts) else None

    def last(self, key: tuple[int, ...]) -> int | None:
        """Start of the last occurrence of ``key``."""
        starts = self._at.get(key)
        return starts[-1] if starts else None


class Drafter:
    """Tracks where the output stands in the original and proposes drafts from there.

    ``original`` is the file's tokens followed by what should come after the file (the close
    marker), so the end of a rewrite is drafted too. ``rest`` is the rest of the prompt.
    """

    def __init__(self, original: list[int], rest: list[int], config: DraftConfig) -> None:
        self.config = config
        self.original = original
        self.rest = rest
        self._orig_index = NgramIndex(original, config.ngram_max)
        self._rest_index = NgramIndex(rest, config.ngram_max)
        self.pointer = 0  # after the last original token verified as copied into the output
        self._source: list[int] | None = original  # sequence being copied, None when lost
        self._pos = 0  # next index in _source
        # "aligned": copying the original at the pointer; "tentative": at a far guess not yet
        # confirmed; "copy": borrowing from elsewhere (the prompt, an earlier similar passage).
        self._mode = "aligned"
        self._run = 0  # tokens verified in a row since the last re-sync
        self.length = max(1, min(config.start, config.cap))

    def draft(self, history: list[int]) -> list[int]:
        """The next draft, given every token generated so far."""
        if self._source is None:
            self._resync(history)
        if self._source is None:
            return []
        return self._source[self._pos : self._pos + self.length]

    def start(self, first: int) -> None:
        """Record the first generated token (from the prefill)."""
        if self.original[:1] == [first]:
            self._advance(1)
        else:
            self._source = None

    def update(self, draft: list[int], accepted: int, bonus: int) -> None:
        """Record a verify step: ``accepted`` draft tokens were taken, then the model's ``bonus``."""
        if not draft or self._source is None:
            self._source = None
            return
        self._advance(accepted)
        if accepted == len(draft):
            self.length = min(self.length * 2, self.config.cap)
            if self._pos < len(self._source) and self._source[self._pos] == bonus:
                self._advance(1)
                return
        else:
            self.length = max(self.config.min_len, min(self.length // 2, self.config.cap))
        self._source = None

    def _advance(self, n: int) -> None:
        # Only verified tokens move the pointer; a far re-sync needs a long verified run first.
        self._pos += n
        self._run += n
        if self._mode == "tentative" and self._run >= self.config.confirm_run:
            self._mode = "aligned"
        if n and self._mode == "aligned":
            self.pointer = self._pos

    def _needed(self, distance: int) -> int:
        """How many suffix tokens must match to resume ``distance`` tokens after the pointer."""
        for limit, n in self.config.match_by_distance:
            if distance <= limit:
                return n
        return self.config.ngram_max

    def _resync(self, history: list[int]) -> None:
        cfg = self.config
        # Edits are local: resume at the nearest place ahead where the recent output matches,
        # asking for longer matches the farther it is (a far, short match is usually a repeat).
        best: tuple[int, int] | None = None  # (distance, -n)
        for n in range(min(cfg.ngram_max, len(history)), 0, -1):
            key = tuple(history[-n:])
            # A match may start before the pointer as long as it ends past it.
            start = self._orig_index.first_at_or_after(key, max(0, self.pointer - n + 1))
            if start is None or start + n >= len(self.original):
                continue
            distance = start + n - self.pointer
            if n >= self._needed(distance) and (best is None or (distance, -n) < best):
                best = (distance, -n)
        self._run = 0
        if best is not None:
            self._source, self._pos = self.original, self.pointer + best[0]
            self._mode = "tentative" if best[0] > cfg.near else "aligned"
            return
        # New code: borrow from the instruction, else from a similar passage anywhere in the file.
        for source, index in ((self.rest, self._rest_index), (self.original, self._orig_index)):
            for n in range(min(cfg.ngram_max, len(history)), cfg.ngram_min - 1, -1):
                start = index.last(tuple(history[-n:]))
                if start is not None and start + n < len(source):
                    self._source, self._pos, self._mode = source, start + n, "copy"
                    return
