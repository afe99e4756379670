"""The generate screen's figures: the engine's one-off draft-width measurement is named while it
runs and kept out of the file's time and rate; each file's speed is sampled into a bounded
history that the sparkline shows; the run ends with its tokens/s and draft acceptance.

The backends are fakes loaded through the real seam (``fastapply.backend.load_model``); the
measuring one exposes ``config.on_measure`` as the engine does, so the app reaches it through
``fastapply.backend.on_calibration``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable
from tui_fakes import (
    FakeBackend,
    held_loader,
    MeasuringBackend,
    TickingClock,
    build,
    generate,
    instruct,
    select,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the fake through load_model)
    wait_for,
)

from fastapply.tui.screens._progress import SPEED_SAMPLES
from fastapply.tui.widgets.speed_line import SpeedLine
from fastapply.tui.widgets.status_bar import StatusBar


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_the_measurement_is_named_on_the_row_and_the_run_line_and_kept_out_of_the_figures(repo: Path) -> None:
    release = threading.Event()
    fake = MeasuringBackend()

    app = build(repo, loader=held_loader(release, fake))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py", model=False)
        screen = await instruct(pilot, "rename foo")
        await pilot.pause(0.1)
        assert "waiting for the model" in _text(screen, "#gen-total")
        release.set()
        await wait_for(pilot, lambda: screen.progress["src/app.py"].state == "measuring")
        await pilot.pause()
        total = _text(screen, "#gen-total")
        assert "waiting for the model" not in total
        assert "measuring draft widths for this model, once per model and device" in total
        row = screen.query_one("#gen-files", DataTable).get_row("src/app.py")
        assert str(row[1]).startswith("measure ")
        assert "not counted in its time" in _text(screen, "#gen-reason")
        status = screen.query_one(StatusBar)
        assert "measuring draft widths" in str(status.render())
        fake.measured.set()
        await wait_for(pilot, lambda: screen.finished)
        await pilot.pause()
        assert "● ready" in str(status.render())
        entry = screen.progress["src/app.py"]
        stats = app.session.results["src/app.py"].stats
        # the engine's time to first token and rate, not the wait that held the measurement
        assert entry.first_text == pytest.approx(0.1)
        assert entry.tokens_per_second == pytest.approx(stats.tokens / (stats.seconds - 0.1))
        reason = _text(screen, "#gen-reason")
        assert "first text after 0.1s" in reason and "draft widths measured first, not counted" in reason
        assert "measuring" not in _text(screen, "#gen-total")


async def test_a_backend_that_does_not_measure_never_says_it_does(repo: Path) -> None:
    app = build(repo, FakeBackend())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "src/app.py")
        assert not screen.progress["src/app.py"].measured
        assert "measur" not in _text(screen, "#gen-reason")


async def test_each_file_keeps_a_bounded_speed_history_that_the_sparkline_shows(repo: Path) -> None:
    (repo / "long.txt").write_text("foo line\n" * 60)  # 540 characters in 1-character pieces
    fake = FakeBackend(chunk=1)
    app = build(repo, fake, clock=TickingClock(), stream_interval=0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "docs/notes.txt", "long.txt")
        speeds = {path: list(entry.speeds) for path, entry in screen.progress.items()}
        assert len(speeds["long.txt"]) == SPEED_SAMPLES  # bounded: far more pieces than samples
        assert 0 < len(speeds["docs/notes.txt"]) < SPEED_SAMPLES
        assert all(rate > 0 for rates in speeds.values() for rate in rates)
        spark = screen.query_one(SpeedLine)
        assert spark.speeds() == speeds["long.txt"]  # the file that streamed last
        table = screen.query_one("#gen-files", DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        assert spark.speeds() == speeds["docs/notes.txt"]  # follows the highlighted file


async def test_the_run_ends_with_its_rate_and_draft_acceptance(repo: Path) -> None:
    app = build(repo, FakeBackend())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "src/app.py", "src/util.py")
        results = [app.session.results[p].stats for p in ("src/app.py", "src/util.py")]
        tokens = sum(s.tokens for s in results)
        rate = tokens / sum(s.seconds for s in results)
        accepted = sum(s.draft_accepted for s in results) / sum(s.draft_proposed for s in results)
        total = _text(screen, "#gen-total")
        assert f"2/2 files · {tokens:,} tokens · {rate:,.0f} tok/s · draft {accepted:.0%}" in total


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_a_cancel_during_the_measurement_ends_the_run_without_waiting_for_the_model(repo: Path, key: str) -> None:
    fake = MeasuringBackend(deaf=True)  # one long forward under way does not look at cancel
    app = build(repo, fake)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await select(pilot, "src/app.py", "src/util.py")
            screen = await instruct(pilot, "rename foo")
            await wait_for(pilot, lambda: screen.progress["src/app.py"].state == "measuring")
            pressed = time.monotonic()
            await pilot.press(key)
            await wait_for(pilot, lambda: screen.finished, timeout=5)
            # The deaf backend never returns before ``measured`` is set below, so a run that waited
            # for it could not finish at all; the bound leaves room for a slow, shared CI machine.
            assert time.monotonic() - pressed < 3.0
            states = {path: entry.state for path, entry in screen.progress.items()}
            assert states == {"src/app.py": "cancelled", "src/util.py": "not run"}
            assert "draft widths" in screen.progress["src/app.py"].reason
            status = screen.query_one(StatusBar)
            assert "measuring draft widths" in str(status.render())  # the model is still at it
            fake.measured.set()  # the abandoned generation ends; what it says is not this run's
            await wait_for(pilot, lambda: "● ready" in str(status.render()))
            assert screen.progress["src/app.py"].state == "cancelled" and not screen.running
            await pilot.press("r")  # the retry runs once the model is free
            await wait_for(pilot, lambda: screen.finished and not screen.running, timeout=5)
            assert {p: e.state for p, e in screen.progress.items()} == {"src/app.py": "done", "src/util.py": "done"}
    finally:
        fake.measured.set()


async def test_while_a_file_streams_its_first_text_figure_leaves_the_measurement_out(repo: Path) -> None:
    fake = MeasuringBackend(pause_at=2)
    app = build(repo, loader=lambda *_: fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py", model=False)
        screen = await instruct(pilot, "rename foo")
        await wait_for(pilot, lambda: screen.progress["src/app.py"].state == "measuring")
        time.sleep(0.6)  # the measurement takes 0.6 s
        fake.measured.set()
        await wait_for(pilot, fake.paused.is_set)
        await wait_for(pilot, lambda: screen.progress["src/app.py"].state == "streaming")
        entry = screen.progress["src/app.py"]
        assert entry.measure_seconds >= 0.6
        assert entry.first_text is not None and entry.first_text < 0.3
        assert "first text after 0.6s" not in _text(screen, "#gen-reason")
        fake.release.set()
        await wait_for(pilot, lambda: screen.finished)
