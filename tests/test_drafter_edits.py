"""Edit replay: an edit the output already made to the file is carried into later drafts.

Drafter tests drive a simulated model whose greedy output is known and compare forwards with
replay on and off; the last test runs the real engine under replay, so the drafts that carry
replayed edits go through a model's verify and must still give the case's text.
"""

from __future__ import annotations

from engine_support import SAMPLE, tiny_model, simulate_drafter

from fastapply.engine.api import Engine, EngineConfig
from fastapply.engine.bench.cases import BenchCase
from fastapply.engine.bench.harness import run_case
from fastapply.engine.drafter import DraftConfig, Drafter
from fastapply.engine.edits import EditMemory, score
from fastapply.engine.ngrams import FrozenNgramIndex


def _steps(original: list[int], target: list[int], replay: bool = True) -> int:
    config = DraftConfig(start=8, min_len=4, cap=64, replay_edits=replay)
    return len(simulate_drafter(Drafter(original, [], config), target))


def _uses(name: list[int], count: int = 10) -> list[int]:
    """A file that uses ``name`` once in each of ``count`` 40-token stretches of other code."""
    out: list[int] = []
    for i in range(count):
        out += list(range(1000 + 100 * i, 1040 + 100 * i)) + name
    return out + list(range(9000, 9040))


def test_a_rename_made_once_is_drafted_at_every_later_use() -> None:
    old, new = [7], [8, 9]  # a one-token name becomes a two-token one
    original, target = _uses(old), _uses(new)
    with_replay, without = _steps(original, target), _steps(original, target, replay=False)
    assert with_replay <= 12  # the first use costs a divergence; the other nine ride in full drafts
    assert without >= with_replay + 9  # without replay every use costs at least one more forward


def test_an_edit_made_once_and_not_again_costs_at_most_one_forward() -> None:
    original = _uses([7])
    target = _uses([7])
    target[40] = 8  # only the first use changes
    assert _steps(original, target) <= _steps(original, target, replay=False) + 1


def test_an_insertion_repeated_after_the_same_context_is_replayed() -> None:
    context = [50, 51, 52, 53]
    original = _uses(context)
    target = _uses(context + [60, 61, 62])  # three tokens inserted after each occurrence
    assert _steps(original, target) + 9 <= _steps(original, target, replay=False)


def test_a_plan_maps_each_draft_token_to_where_the_file_resumes() -> None:
    tokens = [1, 2, 7, 3, 4, 7, 5, 6, 7]
    memory = EditMemory(max_n=4)
    memory.learn(tokens, 2, 3, [8, 9])  # the output wrote 8 9 where the file has 7
    plan = memory.plan(tokens, FrozenNgramIndex(tokens, 4), pos=3, length=6)
    assert plan.tokens == [3, 4, 8, 9, 5, 6]
    # Taking 8 alone leaves the file at the replaced 7; taking 8 9 resumes after it.
    assert plan.after == [4, 5, 5, 6, 7, 8]
    assert [(first, end) for first, end, _ in plan.spans] == [(2, 4)]


def test_a_rule_the_verify_rejects_more_than_it_takes_is_left_out() -> None:
    tokens = [1, 7, 2, 7, 3, 7, 4]
    memory = EditMemory(max_n=4)
    memory.learn(tokens, 1, 2, [8])
    rule = memory.rules[(7,)]
    plan = memory.plan(tokens, FrozenNgramIndex(tokens, 4), pos=2, length=4)
    assert plan.tokens == [2, 8, 3, 8]
    score(plan.spans, accepted=1, drafted=4)  # the model wrote 7 again: stopped inside the first
    assert (rule.accepted, rule.rejected) == (0, 1) and not rule.live
    assert memory.plan(tokens, FrozenNgramIndex(tokens, 4), pos=2, length=4).tokens == [2, 7, 3, 7]
    memory.learn(tokens, 3, 4, [8])  # the output makes the edit again: replayed again
    assert memory.rules[(7,)].live


def test_a_deletion_is_replayed_and_scored() -> None:
    tokens = [1, 5, 6, 2, 5, 6, 3]
    memory = EditMemory(max_n=4)
    memory.learn(tokens, 1, 3, [])
    plan = memory.plan(tokens, FrozenNgramIndex(tokens, 4), pos=3, length=3)
    assert plan.tokens == [2, 3] and plan.after == [4, 7]
    rule = memory.rules[(5, 6)]
    score(plan.spans, accepted=2, drafted=2)
    assert rule.accepted == 1


def test_a_replayed_rename_through_the_engine_gives_the_case_text_in_fewer_forwards() -> None:
    before = SAMPLE + "".join(f"\n\ndef use_{i}(x):\n    return add(x, {i})\n" for i in range(8))
    case = BenchCase("sample.py", "Rename add to plus_values.", before, before.replace("add(", "plus_values("))

    def run(replay: bool) -> tuple[list[int], int]:
        config = EngineConfig(draft=DraftConfig(start=8, cap=64, replay_edits=replay))
        result = run_case(Engine(tiny_model("llama"), config), case, "speculative", replay=True)
        return result.token_ids, result.stats.forwards

    (with_ids, with_forwards), (without_ids, without_forwards) = run(True), run(False)
    assert with_ids == without_ids  # both the case's text (run_case refuses anything else)
    assert with_forwards + 6 <= without_forwards
