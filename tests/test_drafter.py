"""The drafter follows the original forward: after an edit it re-syncs to the nearest later copy."""

from __future__ import annotations

from engine_support import simulate_drafter
from fastapply.engine.drafter import DraftConfig, Drafter, NgramIndex

LINE = [10, 11, 12, 13, 14, 15]  # a line that repeats in the file


def _file() -> list[int]:
    # header, LINE, middle, LINE, tail: an earliest-match search would jump back to the first LINE
    return [1, 2, 3] + LINE + [20, 21, 22, 23] + LINE + [30, 31, 32, 33, 34]


def _drafter(original: list[int]) -> Drafter:
    return Drafter(original, rest=[], config=DraftConfig(start=4, min_len=2, cap=64))


def test_index_lookups_find_first_after_and_last() -> None:
    index = NgramIndex(_file(), max_n=4)
    assert index.first_at_or_after(tuple(LINE[:4]), 0) == 3
    assert index.first_at_or_after(tuple(LINE[:4]), 4) == 13
    assert index.first_at_or_after(tuple(LINE[:4]), 14) is None
    assert index.last(tuple(LINE[:2])) == 13


def test_on_the_pointer_drafts_grow_with_the_verified_run_up_to_the_cap() -> None:
    original = _file() * 8
    config = DraftConfig(start=4, min_len=2, cap=48, track_growth=8)
    drafter = Drafter(original, rest=[], config=config)
    drafter.start(original[0])
    draft = drafter.draft(original[:1])
    assert draft == original[1:9]  # 8 per verified token
    drafter.update(draft, len(draft), original[9])
    assert drafter.pointer == 10
    assert drafter.draft(original[:10]) == original[10:58]  # 80 wanted, the cap is 48


def test_resync_after_an_edit_in_the_second_copy_goes_forward_not_back() -> None:
    original = _file()
    second = 13  # start of the second LINE
    target = original[: second + 2] + [99] + original[second + 3 :]  # LINE[2] replaced, 2nd copy
    steps = simulate_drafter(_drafter(original), target)
    # Once the model has written the token after the edit, the draft continues the second copy
    # (an earliest-match search would continue the first copy: 14, 15, 20, ...).
    after_edit = [draft for produced, draft in steps if produced == second + 4]
    assert after_edit and after_edit[0][:3] == original[second + 4 : second + 7]
    assert len(steps) <= 6


def test_rejected_guess_does_not_move_the_pointer() -> None:
    original = _file()
    drafter = _drafter(original)
    drafter.start(original[0])
    drafter.update(drafter.draft(original[:1]), 0, 77)  # miss at once
    guess = drafter.draft(original[:1] + [77, 20])  # a short match ahead is only a guess
    drafter.update(guess, 0, 78)
    assert drafter.pointer == 1


def test_rest_of_prompt_is_searched_most_recent_first() -> None:
    snippet = [40, 41, 42, 43, 44, 45]
    rest = snippet + [0] + snippet[:4] + [50, 51]
    drafter = Drafter([1, 2, 3], rest, DraftConfig(start=4, min_len=2, ngram_min=4))
    drafter.start(9)  # not the file's first token: lost
    assert drafter.draft(snippet[:4]) == [50, 51]


def test_an_inserted_line_repeated_far_ahead_costs_few_steps() -> None:
    # An inserted decorator that also stands far ahead in the file, followed there by the same
    # "def test_" opening: the drafter may try the far copy, but must come back to the pointer.
    a, b, c = list(range(1000, 1050)), list(range(2000, 2100)), list(range(3000, 3100))
    decorator, opening = [1, 2, 3, 4, 5, 6, 7, 8], [70, 71, 72]
    original = a + opening + b + decorator + opening + c
    target = a + decorator + opening + b + decorator + opening + c
    steps = simulate_drafter(Drafter(original, [], DraftConfig(start=8, min_len=2, cap=64)), target)
    assert len(steps) <= 16  # copying b token by token would take 100 steps
