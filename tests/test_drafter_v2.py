"""Drafter v2: the best source at every step. Driven by a simulated model whose greedy output is known.

Each test compares steps (one step = one forward) against a drafter that lacks the source the
test is about, so a drafter that ignored it would fail.
"""

from __future__ import annotations

from engine_support import simulate_drafter
from fastapply.engine.drafter import DraftConfig, Drafter


def _steps(drafter: Drafter, target: list[int]) -> int:
    """Forwards a greedy model whose output is ``target`` needs with this drafter (prefill excluded)."""
    return len(simulate_drafter(drafter, target))


def _config() -> DraftConfig:
    return DraftConfig(start=8, min_len=4, cap=64)


def _block(base: int, size: int = 60) -> list[int]:
    return list(range(base, base + size))


def test_moved_code_is_followed_where_it_went() -> None:
    # Block b moves from after c to before a: the output copies it from far ahead, then rejoins a.
    a, b, c, d = _block(1000), _block(2000), _block(3000), _block(4000)
    original = a + c + b + d
    target = b + a + c + d
    steps = _steps(Drafter(original, [], _config()), target)
    assert steps <= 16  # token by token: 240


def test_new_code_shaped_like_earlier_output_is_drafted_from_the_output() -> None:
    # The output writes a new block twice (a hunk repeated); the second copy exists only in the output.
    a, new, d = _block(1000), _block(5000, 80), _block(4000)
    target = a + new + [7] + new + d
    with_history = _steps(Drafter(a + d, [], _config()), target)
    assert with_history <= 80 + 12  # the first copy is new (one token a forward), the second is copied
    no_copy = DraftConfig(start=8, min_len=4, cap=64, ngram_min=99)  # copying from elsewhere off
    assert _steps(Drafter(a + d, [], no_copy), target) > with_history + 60


def test_a_prediction_leads_and_the_file_takes_over_where_it_is_wrong() -> None:
    a, b, c = _block(1000), _block(2000), _block(3000)
    new = _block(6000, 40)
    target = a + new + b + c
    prediction = a + new + b + _block(8000, 30)  # right, then wrong at the end
    with_prediction = _steps(Drafter(prediction, [], _config(), fallback=a + b + c), target)
    without = _steps(Drafter(a + b + c, [], _config()), target)
    assert with_prediction <= 12 and without >= 40
    wrong = _steps(Drafter(_block(9000, 200), [], _config(), fallback=a + b + c), target)
    assert wrong <= without  # a prediction wrong everywhere costs nothing


def test_the_pointer_realigns_when_the_output_rejoins_the_file_after_copying() -> None:
    a, b, c = _block(1000), _block(2000), _block(3000)
    snippet = _block(7000, 30)
    rest = [1, 2] + snippet + [3]  # the instruction carries the new code
    target = a + snippet + b + c
    drafter = Drafter(a + b + c, rest, _config())
    assert _steps(drafter, target) <= 14
    assert drafter.pointer > len(a + b)  # aligned on the file again, deep into c


def test_where_the_output_left_the_file_beats_a_repeat_one_token_longer_elsewhere() -> None:
    # The output's last 5 tokens are the file's next 5, and its last 6 also came earlier in the
    # output, followed by code the file does not hold: the file's way on is the better guess.
    s, junk, rest_of_file = _block(100, 5), _block(7000, 20), _block(200)
    history = [10, *s, *junk, 10, *s]
    drafter = Drafter(s + rest_of_file, [], _config())
    drafter.start(history[0])  # not the file's first token: the next draft re-syncs
    assert drafter.draft(history)[:4] == rest_of_file[:4]


def test_a_resume_in_the_last_copy_s_source_drafts_by_its_match_as_a_copy_does() -> None:
    # New code, then part of it again, one new token, and the rest of it: after that token the
    # drafter resumes in its own output where the last copy left off, on a one-token match.
    original = list(range(1, 51))
    block = list(range(100, 140))
    target = original[:10] + block + block[:6] + [200] + block[6:] + original[10:]
    config = DraftConfig()
    steps = dict(simulate_drafter(Drafter(original, [], config), target))
    resumed = target.index(200) + 2  # the output holds 200 and then 106
    assert steps[resumed][:1] == [107]
    # A one-token match in the output is a weak guess: a copy's few tokens per matched one, not
    # the file's many (which the drafter spent there before, and mostly lost).
    assert len(steps[resumed]) == config.copy_per_match


def test_a_copy_that_lands_in_the_file_drafts_by_its_match_unless_wide_forwards_are_free() -> None:
    from fastapply.engine.api import draft_settings

    # The output starts with a block the file has far ahead: a one-token copy from the file.
    a, b, c = _block(1000), _block(2000), _block(3000)
    original, target = a + c + b, b + a + c
    cpu = DraftConfig(cap=256)
    gpu = draft_settings(256, {1: 0.010, 256: 0.015})
    first_cpu = simulate_drafter(Drafter(original, [], cpu), target)[0][1]
    first_gpu = simulate_drafter(Drafter(original, [], gpu), target)[0][1]
    assert first_cpu == b[1 : 1 + cpu.copy_per_match]  # a weak guess until its tokens verify
    assert first_gpu == b[1:]  # a GPU verifies the track's length at once: here the rest of the file
