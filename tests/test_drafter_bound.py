"""The drafter against the lookup bound on a fixed multi-hunk rewrite of real text, and its draft lengths.

The case changes a line, repeats that change in another function, moves a function, deletes one,
adds one shaped like its neighbours and inserts an import: each kind of hunk drafter v2 lost
forwards on. The bound (``oracle.lookup_bound``) is held to the same width cap as the drafter.
"""

from __future__ import annotations

import functools

import pytest
from engine_support import simulate_drafter

from fastapply.engine.api import draft_settings
from fastapply.engine.bench.oracle import lookup_bound
from fastapply.engine.drafter import DraftConfig, Drafter
from fastapply.engine.load import load_tokenizer
from fastapply.engine.prompt import Prompt, build_prompt, target_ids

# Drafter v2 needed 1.92x (cap 256) and 1.65x (cap 64) the capped bound on this case; v3 1.19x and
# 1.16x. Now 1.31x and 1.26x: where a wide forward costs (a CPU), a copy that lands in the file drafts
# by its match, not the file's length, which trades a few forwards for much less rejected width.
# With edit replay (the repeated hunk is drafted once made) 1.15x and 1.13x.
WITHIN = 1.2


def _function(i: int) -> str:
    return (f"def step_{i}(state, value):\n"
            f"    \"\"\"Advance the state by stage {i}.\"\"\"\n"
            f"    total = state.get('stage_{i}', 0) + value * {i + 1}\n"
            f"    state['stage_{i}'] = total\n"
            f"    return total\n\n\n")


@functools.lru_cache(maxsize=None)
def _case() -> tuple[Prompt, tuple[int, ...]]:
    functions = [_function(i) for i in range(14)]
    before = "import math\n\n\n" + "".join(functions)
    edited = list(functions)
    edited[2] = edited[2].replace("value * 3", "math.sqrt(value) * 3")
    edited[9] = edited[9].replace("value * 10", "math.sqrt(value) * 10")  # the same hunk again
    edited.insert(1, edited.pop(11))  # moved up
    del edited[6]
    edited.insert(8, _function(20))  # new, shaped like its neighbours
    after = "import logging\nimport math\n\n\n" + "".join(edited)
    tokenizer = load_tokenizer()
    return build_prompt(tokenizer, "Refactor the steps.", before, "steps.py"), tuple(target_ids(tokenizer, after))


def _forwards(prompt: Prompt, target: list[int], cap: int, prediction: list[int] | None = None) -> int:
    config = DraftConfig(cap=cap, start=min(16, cap))
    file_track = prompt.original_ids + prompt.tail_ids
    if prediction is None:
        drafter = Drafter(file_track, prompt.rest, config)
    else:
        drafter = Drafter(prediction + prompt.tail_ids, prompt.rest, config, fallback=file_track)
    return len(simulate_drafter(drafter, target))


@pytest.mark.parametrize("cap", [64, 256])
def test_a_multi_hunk_rewrite_needs_close_to_the_lookup_bound(cap: int) -> None:
    prompt, target = _case()
    forwards = _forwards(prompt, list(target), cap)
    capped = lookup_bound(prompt.ids, list(target), cap=cap)
    assert lookup_bound(prompt.ids, list(target)) <= capped <= forwards
    assert forwards <= WITHIN * capped


@pytest.mark.parametrize("cap", [64, 256])
def test_where_a_wide_forward_costs_about_a_narrow_one_cap_long_drafts_come_closer_to_the_bound(cap: int) -> None:
    prompt, target = _case()
    config = draft_settings(cap, {1: 0.010, cap: 0.015})  # a GPU: the cap's width costs 1.5 narrow forwards
    wide = len(simulate_drafter(Drafter(prompt.original_ids + prompt.tail_ids, prompt.rest, config), list(target)))
    assert wide < _forwards(prompt, list(target), cap)
    assert wide <= 1.15 * lookup_bound(prompt.ids, list(target), cap=cap)


def test_a_prediction_wrong_everywhere_costs_no_more_forwards_than_none() -> None:
    prompt, target = _case()
    wrong = load_tokenizer().encode("".join(f"x{i} = [{i}] * {i}\n" for i in range(200)), add_special_tokens=False)
    assert _forwards(prompt, list(target), 64, prediction=wrong) <= _forwards(prompt, list(target), 64)


def test_a_right_prediction_is_copied_in_cap_long_drafts() -> None:
    prompt, target = _case()
    body = list(target[: -len(prompt.tail_ids)])
    forwards = _forwards(prompt, list(target), 64, prediction=body)
    assert forwards <= len(target) // 65 + 2 < _forwards(prompt, list(target), 64)  # one forward per full draft


def test_after_a_long_verified_copy_of_skipped_file_text_the_pointer_is_back_on_the_file() -> None:
    # An inserted line makes the drafter re-sync one line too far ahead; the output then writes
    # the skipped line (a copy from the file behind the pointer) and everything after it.
    inserted, skipped = [500, 501, 502, 9], [600, 601, 602, 603, 9]
    head, body = [100, 101, 9], list(range(1000, 1400))
    original = head + skipped + [700, 9] + body
    target = head + inserted + skipped + [700, 9] + body
    drafter = Drafter(original, [], DraftConfig(start=8, min_len=4, cap=64))
    steps = simulate_drafter(drafter, target)
    assert drafter.pointer >= len(original) - 64  # the pointer followed the output to the end
    assert len(steps) <= 14  # 400 tokens of body in cap-long drafts once re-aligned
