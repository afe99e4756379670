"""SVG snapshots of the picker, a stream in progress, both diff layouts at 80x24 and 120x40, and
the second pass's panes (a file over the context, a run after a cancel, a finished run with its
speed sparkline and summary, the quit question) at 80x24 in dark and light.

Deterministic by construction: a fixed repository in a directory named ``demo``, the fake
backend with fixed stats, a ticking fake clock for live rates, a stream held at a fixed chunk,
and no text cursor on screen. Update with ``pytest tests/test_tui_snapshots.py --snapshot-update``
after checking the new SVGs by eye.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_fakes import (
    FakeBackend,
    TickingClock,
    build,
    generate,
    instruct,
    review,
    select,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the fake through load_model)
    wait_for,
)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_picker(snap_compare: Any, repo: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await select(pilot, "src/app.py", "docs/notes.txt")

    assert snap_compare(build(repo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_streaming(snap_compare: Any, repo: Path, size: tuple[int, int]) -> None:
    fake = FakeBackend(chunk=9, pause_at=14)

    async def run_before(pilot: Pilot[Any]) -> None:
        await select(pilot, "src/util.py", "src/app.py")
        screen = await instruct(pilot, "rename foo to bar")
        await wait_for(pilot, lambda: fake.paused.is_set() and screen.current == "src/app.py")
        await wait_for(pilot, lambda: screen.progress["src/app.py"].chars == 14 * 9)
        await pilot.pause()

    app = build(repo, fake, clock=TickingClock(), stream_interval=0.0)
    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        fake.release.set()


def _review_snapshot(snap_compare: Any, repo: Path, size: tuple[int, int], split: bool, theme: str | None = None) -> bool:
    async def run_before(pilot: Pilot[Any]) -> None:
        if theme is not None:
            pilot.app.theme = theme
        await generate(pilot, "src/app.py", "src/util.py")
        screen = await review(pilot)
        await pilot.press("space")  # first hunk accepted, cursor on the second
        if split:
            await pilot.press("s")
        await pilot.pause()
        assert screen.query_one("DiffView").split is split

    return bool(snap_compare(build(repo), terminal_size=size, run_before=run_before))


@pytest.mark.parametrize("size", SIZES)
def test_review_unified(snap_compare: Any, repo: Path, size: tuple[int, int]) -> None:
    assert _review_snapshot(snap_compare, repo, size, split=False)


@pytest.mark.parametrize("size", SIZES)
def test_review_side_by_side(snap_compare: Any, repo: Path, size: tuple[int, int]) -> None:
    assert _review_snapshot(snap_compare, repo, size, split=True)


def test_review_light_theme(snap_compare: Any, repo: Path) -> None:
    assert _review_snapshot(snap_compare, repo, (80, 24), split=False, theme="textual-light")


THEMES = [pytest.param("textual-dark", id="dark"), pytest.param("textual-light", id="light")]


@pytest.mark.parametrize("theme", THEMES)
def test_picker_marks_a_file_over_the_context(snap_compare: Any, repo: Path, theme: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.theme = theme
        await select(pilot, "src/app.py", "src/util.py")  # app.py needs 120 of a 100-token context
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(build(repo, FakeBackend(max_context=100)), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_generate_after_a_cancel(snap_compare: Any, repo: Path, theme: str) -> None:
    fake = FakeBackend(chunk=9, pause_at=6)

    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.theme = theme
        await select(pilot, "src/app.py", "src/util.py")
        screen = await instruct(pilot, "rename foo to bar")
        await wait_for(pilot, lambda: fake.paused.is_set() and screen.progress["src/app.py"].chars == 6 * 9)
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.finished)
        pilot.app.clear_notifications()
        await pilot.pause()

    app = build(repo, fake, clock=TickingClock(), stream_interval=0.0)
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    finally:
        fake.release.set()


@pytest.mark.parametrize("theme", THEMES)
def test_quit_confirmation(snap_compare: Any, repo: Path, theme: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.theme = theme
        await generate(pilot, "src/app.py")
        pilot.app.clear_notifications()
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmScreen")
        await pilot.pause()

    assert snap_compare(build(repo, clock=TickingClock()), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_review_with_the_file_list(snap_compare: Any, repo: Path, theme: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.theme = theme
        await generate(pilot, "src/app.py", "src/util.py")
        await review(pilot)
        await pilot.press("a", "f")  # the first file accepted; the list opened at 80 columns
        await pilot.pause()

    assert snap_compare(build(repo), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_generate_finished_with_speed_and_summary(snap_compare: Any, repo: Path, theme: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.theme = theme
        await generate(pilot, "src/util.py", "src/app.py")  # the sparkline: app.py, streamed last
        pilot.app.clear_notifications()
        await pilot.pause()

    app = build(repo, FakeBackend(chunk=5), clock=TickingClock(), stream_interval=0.0)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
