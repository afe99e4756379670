"""Issue 16, defect 13: quitting is quick on every screen and asks only when rewrites would be lost.

Each case opens one screen, presses ctrl+q and times the key to the app's exit (for the screens
that ask, the time runs from the answer). A real tiny engine (``engine_support.tiny_model``,
random weights, CPU) is loaded where its output does not matter: the picker, the instruction, the
help, the finder, and a generation that is still measuring draft widths, prefilling or
streaming. Review and apply need a rewrite that changed something, so there the fake streams.
Backing out with ctrl+n on the apply screen asks too, and only before the apply.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapply.tui.screens.apply import ApplyScreen
from fastapply.tui.screens.confirm import ConfirmScreen
from fastapply.tui.screens.pick import PickScreen
from tui_fakes import (
    FakeBackend,
    build,
    generate,
    instruct,
    make_demo_repo,
    ready_picker,
    review,
    select,
    to_apply,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the backend through load_model)
    wait_for,
)

QUIT_SECONDS = 1.0  # measured on a shared 2-core machine: about 0.1 s everywhere


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_demo_repo(tmp_path / "demo")
    (root / "big.py").write_text("".join(f"value_{i} = 'foo {i}'\n" for i in range(120)))
    return root


class SlowStream:
    """The engine, its text slowed to about 30 pieces a second, so a run is still going when
    ctrl+q comes (the tiny model would finish the file in well under a second) and the engine
    leaves the shared CPUs mostly to the app."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)  # name, device, max_context, count_tokens, config

    def generate(self, request: Any) -> Any:
        from dataclasses import replace

        on_text = request.on_text

        def slowly(piece: str) -> None:
            time.sleep(0.03)
            if on_text is not None:
                on_text(piece)

        return self._engine.generate(replace(request, on_text=slowly))


def _tiny_engine(*, slow: bool = True) -> Any:
    from engine_support import tiny_model

    from fastapply.engine.api import Engine

    engine = Engine(tiny_model("qwen2"))  # no draft config: the first file measures the widths
    return SlowStream(engine) if slow else engine


async def _open(pilot: Any, where: str) -> None:
    app = pilot.app
    await ready_picker(pilot)
    if where == "help":
        await pilot.press("question_mark")
    elif where == "finder":
        await pilot.press("ctrl+p")
    elif where == "instruct":
        await select(pilot, "src/util.py")
        await pilot.press("i")
    elif where == "generating":
        await select(pilot, "big.py")
        screen = await instruct(pilot, "rename foo")
        await wait_for(pilot, lambda: screen.progress["big.py"].state in ("starting", "measuring", "streaming"))
    elif where != "pick":  # the picker is where the app opens
        await generate(pilot, "src/util.py")
        if where in ("review", "apply", "applied"):
            await review(pilot)
        if where in ("apply", "applied"):
            await to_apply(pilot)
        if where == "applied":
            screen = app.screen
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen.record is not None)
    await pilot.pause(0.1)


ENGINE_SCREENS = ["pick", "instruct", "help", "finder", "generating"]
FAKE_SCREENS = ["generated", "review", "apply", "applied"]
ASKS = {"generated", "review", "apply"}  # a rewrite nobody applied yet


@pytest.mark.parametrize(
    ("where", "engine"), [(w, True) for w in ENGINE_SCREENS] + [(w, False) for w in FAKE_SCREENS]
)
async def test_quit_is_quick_on_every_screen_and_asks_only_when_rewrites_would_be_lost(
    repo: Path, where: str, engine: bool
) -> None:
    app = build(repo, _tiny_engine() if engine else FakeBackend())
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, where)
        pressed = time.monotonic()
        await pilot.press("ctrl+q")
        if where in ASKS:
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=QUIT_SECONDS)
            pressed = time.monotonic()
            await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, timeout=5)
        took = time.monotonic() - pressed
        assert where in ASKS or not any(isinstance(s, ConfirmScreen) for s in app.screen_stack)
    assert took < QUIT_SECONDS, f"{where}: quit took {took:.2f}s"


async def test_a_real_engine_names_its_measurement_on_the_generate_screen(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTAPPLY_CACHE_DIR", str(tmp_path / "cache"))  # nothing measured yet
    app = build(repo, _tiny_engine(slow=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/util.py")
        screen = await instruct(pilot, "rename foo")
        await wait_for(pilot, lambda: screen.finished, timeout=60)
        assert screen.progress["src/util.py"].measured  # the engine called on_measure through the seam


async def test_a_new_edit_before_the_apply_asks_and_after_it_does_not(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, "apply")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "drop 1 unapplied rewrite" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ApplyScreen))
        assert len(app.session.reviewable()) == 1
        screen = app.screen
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.record is not None)
        await pilot.press("ctrl+n")  # applied: nothing to lose, no question
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), timeout=2)
        assert app.session.results == {}


async def test_rewrites_dropped_by_backing_out_are_not_asked_about_again(repo: Path) -> None:
    from fastapply.tui.screens.instruct import InstructScreen

    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, "generated")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")  # drop them
        await wait_for(pilot, lambda: isinstance(app.screen, InstructScreen))
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, timeout=QUIT_SECONDS)
