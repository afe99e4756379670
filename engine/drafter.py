"""The speculative-edits drafter: propose the next tokens of the output from where they likely are.

The output of a rewrite is mostly a monotone alignment of an expected text with edits in between,
so the drafter keeps *tracks*: sequences it expects the output to follow in order, each with a
pointer after its last token verified as copied (the prediction when the caller gave one, then the
original file, each followed by the close marker). From a track it proposes the next ``k`` tokens
after the pointer. After a divergence it re-syncs by looking up the last few generated tokens
*forward* from a pointer, never behind it (code repeats lines, and an earliest-match search jumps
back to the wrong copy): the nearest resume point wins, the farther ahead a candidate lies the
longer the match it needs, and a far jump stays tentative (the pointer does not move) until a long
run there is verified. Tracks are tried in order, so a prediction that is wrong everywhere falls
back to the file at once.

When no track fits (new code), it copies from the longest, most recent match of the recent output
anywhere in the output so far, the rest of the prompt, or the tracks: a repeated hunk, code shaped
like its neighbours, moved code, a snippet in the instruction. Every source has an n-gram index
(``engine/ngrams.py``; the output's is extended as tokens are accepted), so each look-up is
O(log n) per suffix length. The next miss tries the tracks again, so the pointer re-aligns as
soon as the output rejoins them.

An edit the output made to a track (what it wrote between leaving the pointer and re-syncing) is
replayed in later drafts from that track (``engine/edits.py``): a rename made once is drafted at
every later use, where the file's text would miss at each.

Draft lengths follow the evidence for the source, capped by what a forward of each width costs on
the device (measured elsewhere and passed in as ``cap``): on a track, a few tokens after a weak
re-sync, many after a long matched suffix or a long verified run; a copy from elsewhere (or a
re-sync back into the last copy's source), a few tokens per matched one, growing with the tokens
verified from it. A longer draft could only
accept more, but on a CPU a draft token costs about a twenty-fifth of a forward (tiny shape: 0.3 ms
against 8 ms). Once a copy of a track's own tokens is verified for a long run, the track's pointer
moves there (the output took a way back into the file that the forward-only re-sync did not see).

This module knows token ids only: no model, no tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapply.engine.edits import EditMemory, Plan, score
from fastapply.engine.ngrams import FrozenNgramIndex, NgramIndex


@dataclass(slots=True)
class DraftConfig:
    start: int = 16  # first draft length
    min_len: int = 4  # draft length after a miss never goes below this
    cap: int = 256  # never longer than this (set from the measured forward cost)
    ngram_max: int = 12  # longest suffix used to re-sync
    ngram_min: int = 1  # shortest suffix matched when copying new code from elsewhere
    # (distance ahead of the pointer, suffix tokens that must match there), nearest first
    match_by_distance: tuple[tuple[int, int], ...] = ((16, 1), (64, 3), (512, 6))
    near: int = 64  # a resume point farther than this is tentative...
    close: int = 16  # ...and one this near counts a matched token more against a copy from elsewhere
    confirm_run: int = 16  # ...until this many of its tokens are verified in a row
    copy_per_match: int = 8  # a fresh copy from elsewhere drafts at most this many tokens per matched one
    copy_growth: int = 4  # ...and a copy verified for r tokens in a row up to this many times r
    # On a track: at least ``start`` tokens, this many per token verified since the re-sync...
    track_growth: int = 16
    track_per_match: int = 32  # ...and per token of the suffix the re-sync matched
    # A cap-wide forward costs about a narrow one (a GPU; set from the measured costs): a copy from
    # elsewhere that lands in a track drafts as long as the track would. Elsewhere it drafts by its
    # match like any copy until a long run of it verifies (the rejected tail is what costs on a CPU).
    wide_is_free: bool = False
    replay_edits: bool = True  # drafts from a track carry the edits the output already made to it


class Track:
    """A sequence the output is expected to follow in order, with its pointer."""

    __slots__ = ("tokens", "index", "pointer", "copied", "trusted", "written", "edits")

    def __init__(self, tokens: list[int], max_n: int, trusted: bool,
                 index: NgramIndex | FrozenNgramIndex | None = None) -> None:
        self.tokens = tokens
        self.index = index or FrozenNgramIndex(tokens, max_n)  # a track's tokens never grow
        self.pointer = 0  # after the last token verified as copied into the output
        self.copied = 0  # tokens of this track the output took while aligned on it
        self.trusted = trusted  # the file is; a prediction earns it by a verified token
        self.written = 0  # output tokens written when the pointer last moved
        self.edits = EditMemory(max_n)  # the edits the output made to these tokens

    @property
    def credible(self) -> bool:
        return self.trusted or self.copied > 0


class Drafter:
    """Tracks where the output stands in what it is expected to be and proposes drafts from there.

    ``original`` is the first track: the prediction, or the file, followed by what should come
    after it (the close marker), so the end of a rewrite is drafted too. ``fallback`` is a second
    track (the file, when a prediction leads). ``rest`` is the rest of the prompt.
    """

    def __init__(self, original: list[int], rest: list[int], config: DraftConfig,
                 fallback: list[int] | None = None) -> None:
        self.config = config
        self.original = original
        self.rest = rest
        self.tracks = [Track(original, config.ngram_max, trusted=fallback is None)]
        if fallback is not None:
            self.tracks.append(Track(fallback, config.ngram_max, trusted=True))
        self._rest_index = FrozenNgramIndex(rest, config.ngram_max)
        self._history: list[int] = []
        self._history_index = NgramIndex(self._history, config.ngram_max)
        self._track: Track | None = self.tracks[0]  # the track being copied, None when copying elsewhere
        self._source: list[int] | None = original  # sequence being copied, None when lost
        self._pos = 0  # next index in _source
        # "aligned": copying a track at its pointer; "tentative": at a far guess not yet
        # confirmed; "copy": borrowing from elsewhere (the output so far, the prompt).
        self._mode = "aligned"
        self._run = 0  # tokens verified in a row since the last re-sync
        # Where the last copy from elsewhere stands, followed like a track until the next copy:
        # moved or re-indented code continues near where its copy left off.
        self._anchor: Track | None = None
        self.length = max(1, min(config.start, config.cap))
        self._matched = 0  # suffix tokens the last re-sync matched
        self._written = 0  # output tokens so far (as of the last draft, plus what was verified since)
        self._plan = Plan()  # the last draft, one token longer (the token expected after it)

    @property
    def pointer(self) -> int:
        """The first track's pointer."""
        return self.tracks[0].pointer

    def draft(self, history: list[int]) -> list[int]:
        """The next draft, given every token generated so far (the same list, grown each call)."""
        if history is not self._history:
            self._history = history
            self._history_index = NgramIndex(history, self.config.ngram_max)
        else:
            self._history_index.extend()
        if self._source is None:
            self._resync(history)
        self._written = len(history)
        if self._source is None:
            return []
        length = self._length()
        self._plan = self._planned(length + 1)
        return self._plan.tokens[:length]

    def _planned(self, length: int) -> Plan:
        """The next ``length`` tokens of the source, with the track's edits replayed in them."""
        track, source, pos = self._track, self._source, self._pos
        assert source is not None
        if track is not None and track.edits.rules and self.config.replay_edits:
            return track.edits.plan(source, track.index, pos, length)
        plan = Plan()
        plan.copy(source, pos, pos + length)
        return plan

    def _length(self) -> int:
        """How many tokens to draft from the current source."""
        cfg = self.config
        # A longer draft from the same source never accepts fewer tokens, but on a CPU each draft
        # token costs about a twenty-fifth of a forward: lengths follow the evidence for the source.
        anchored = self._track is not None and self._track is self._anchor
        landed = cfg.wide_is_free and self._track_of_source() is not None
        on_track = (self._mode == "aligned" and not anchored) or landed
        if on_track:  # the expected text (found again by a copy too where wide is free): long once a run verifies
            wanted = max(cfg.start, cfg.track_growth * self._run, cfg.track_per_match * self._matched)
        elif self._mode == "copy" or anchored:  # a match elsewhere is a weak guess until tokens of it verify
            wanted = max(cfg.min_len, cfg.copy_per_match * self._matched, cfg.copy_growth * self._run)
        else:
            wanted = self.length
        return min(cfg.cap, wanted)

    def _track_of_source(self) -> Track | None:
        """The track whose tokens the current source is (a copy from elsewhere may land in one)."""
        return next((t for t in self.tracks if t.tokens is self._source), None)

    def start(self, first: int) -> None:
        """Record the first generated token (from the prefill)."""
        for track in self.tracks:
            if track.tokens[:1] == [first]:
                self._track, self._source, self._pos = track, track.tokens, 0
                self._advance(1, 1)
                return
        self._source = None

    def update(self, draft: list[int], accepted: int, bonus: int) -> None:
        """Record a verify step: ``accepted`` draft tokens were taken, then the model's ``bonus``."""
        if not draft or self._source is None:
            self._source = None
            return
        plan = self._plan
        score(plan.spans, accepted, len(draft))
        self._advance(plan.after[accepted - 1] if accepted else self._pos, accepted)
        if accepted == len(draft):
            self.length = min(self.length * 2, self.config.cap)
            if accepted < len(plan.tokens) and plan.tokens[accepted] == bonus:
                self._advance(plan.after[accepted], 1)
                return
        else:
            self.length = max(self.config.min_len, min(self.length // 2, self.config.cap))
        self._source = None

    def _advance(self, pos: int, n: int) -> None:
        """``n`` more tokens verified, after which the source stands at ``pos``."""
        # Only verified tokens move a pointer; a far re-sync needs a long verified run first.
        self._pos = pos
        self._run += n
        self._written += n
        if self._track is None:
            if self._anchor is not None and n:
                self._anchor.pointer = self._pos
            if self._run >= self.config.confirm_run:
                # A long verified copy of a track's own tokens is where the output stands in it.
                track = self._track_of_source()
                if track is not None:
                    self._track, self._mode = track, "aligned"
                    self._point(track)
            return
        self._track.copied += n
        if self._mode == "tentative" and self._run >= self.config.confirm_run:
            self._mode = "aligned"
        if n and self._mode == "aligned":
            self._point(self._track)

    def _point(self, track: Track) -> None:
        track.pointer, track.written = self._pos, self._written

    def _needed(self, distance: int) -> int:
        """How many suffix tokens must match to resume ``distance`` tokens after the pointer."""
        for limit, n in self.config.match_by_distance:
            if distance <= limit:
                return n
        return self.config.ngram_max

    def _realign(self, track: Track, history: list[int]) -> tuple[int, int] | None:
        """(distance ahead of the track's pointer to resume at, suffix tokens matched), or None."""
        cfg, tokens = self.config, track.tokens
        best: tuple[int, int] | None = None  # (distance, -n)
        for n in range(min(cfg.ngram_max, len(history)), 0, -1):
            key = tuple(history[-n:])
            # A match may start before the pointer as long as it ends past it.
            start = track.index.first_at_or_after(key, max(0, track.pointer - n + 1))
            if start is None or start + n >= len(tokens):
                continue
            distance = start + n - track.pointer
            if n >= self._needed(distance) and (best is None or (distance, -n) < best):
                best = (distance, -n)
        return None if best is None else (best[0], -best[1])

    def _resync(self, history: list[int]) -> None:
        # The best source now: the track whose resume point has the longest match, unless the
        # output so far or the prompt matches longer still; a resume point close to a credible
        # track's pointer counts one token more (where the output was is the likelier way back
        # than a repeat of one more token elsewhere). On a tie, a credible track wins (the
        # file, or a prediction once one of its tokens was verified; the first such track); a
        # prediction never verified (wrong everywhere) does not, so it cannot pull drafts away.
        self._run = 0
        best: tuple[int, bool, Track, int, int] | None = None  # (score, credible, track, distance, n)
        for track in self.tracks + ([self._anchor] if self._anchor is not None else []):
            found = self._realign(track, history)
            if found is None:
                continue
            close = track.credible and track is not self._anchor and found[0] <= self.config.close
            candidate = (found[1] + close, track.credible, track, found[0], found[1])
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        copy = self._copy_match(history)
        if best is not None and (copy is None or best[0] > copy[0] or (best[0] == copy[0] and best[1])):
            _, _, track, distance, self._matched = best
            self._track, self._source, self._pos = track, track.tokens, track.pointer + distance
            self._mode = "tentative" if distance > self.config.near else "aligned"
            if self._mode == "aligned" and track is not self._anchor:
                self._learn(track, history)
        elif copy is not None:
            n, source, pos, index = copy
            self._matched = n
            self._track, self._source, self._pos, self._mode = None, source, pos, "copy"
            self._anchor = Track(source, self.config.ngram_max, trusted=True, index=index)
            self._anchor.pointer = pos
        else:
            self._track, self._source = None, None

    def _learn(self, track: Track, history: list[int]) -> None:
        """Record what the output wrote between leaving the track's pointer and resuming at ``_pos``."""
        # The re-sync matched the output's last ``_matched`` tokens to the track's before ``_pos``;
        # a match that starts before the pointer overlaps what was copied.
        resume = max(track.pointer, self._pos - self._matched)
        end = len(history) - (self._pos - resume)
        if end >= track.written:
            track.edits.learn(track.tokens, track.pointer, resume, history[track.written : end])

    def _copy_match(self, history: list[int]) -> tuple[int, list[int], int, NgramIndex | FrozenNgramIndex] | None:
        """(n, source, position after the match, its index) for the longest match of the output's suffix; on
        a tie the output so far (most recent first), then the prompt, then the tracks (the first match
        at or after the track's pointer, else its last one)."""
        cfg = self.config
        sources = [(history, self._history_index), (self.rest, self._rest_index)]
        sources += [(t.tokens, t.index) for t in self.tracks]
        for n in range(min(cfg.ngram_max, len(history)), cfg.ngram_min - 1, -1):
            key = tuple(history[-n:])
            for number, (source, index) in enumerate(sources):
                # In the output itself, an earlier occurrence: not the suffix being matched.
                if number == 0:
                    start = index.last(key, before=len(history) - n)
                elif number == 1:
                    start = index.last(key)
                else:
                    ahead = index.first_at_or_after(key, self.tracks[number - 2].pointer)
                    start = ahead if ahead is not None else index.last(key)
                if start is not None and start + n < len(source):
                    return n, source, start + n, index
        return None
