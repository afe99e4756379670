"""Issue 17 in the TUI: each file's checks and attempts are shown, a failing one applies only on request.

The real app over a real repository, the core's real check and retry loop (the built-in Python
parse check) and a scripted backend whose first answers do not parse (``ScriptedBackend``),
loaded through the real seam, ``fastapply.backend.load_model``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console
from tui_fakes import (
    notifications,
    ScriptedBackend,
    build,
    generate,
    instruct,
    review,
    select,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the fake through load_model)
    wait_for,
)

from fastapply.config import Config
from fastapply.tui.screens._checks import clean_output
from fastapply.tui.screens._progress import reason_line
from fastapply.tui.screens.apply import ApplyScreen
from fastapply.tui.screens.review import ReviewScreen


def _plain(renderable: Any) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def _pane(app: Any) -> str:
    return str(app.screen.query_one("#review-checks").render())


async def _apply(pilot: Any) -> Any:
    app: Any = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ApplyScreen))
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: app.screen.record is not None)
    return app.screen


async def test_an_answer_that_does_not_parse_is_retried_and_the_fix_applies_normally(repo: Path) -> None:
    before = (repo / "src/app.py").read_text()
    fake = ScriptedBackend(broken=1)
    app = build(repo, fake)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await generate(pilot, "src/app.py")
        entry = screen.progress["src/app.py"]
        result = app.session.results["src/app.py"]
        assert (entry.state, entry.attempt, result.attempts, result.status) == ("done", 2, 2, "changed")
        assert "2 attempts" in reason_line(entry).plain
        assert len(fake.calls) == 2
        # the retry is told what the parser said of the first answer
        failed = [c for c in result.checks if not c.ok]
        assert failed and failed[0].attempt == 1
        assert failed[0].output.splitlines()[0] in fake.requests[1].instruction
        await review(pilot)
        pane = _pane(app)
        assert "2 attempts" in pane and "✓" in pane and "not applied" not in pane
        await pilot.press("a", "enter")
        await _apply(pilot)
    assert (repo / "src/app.py").read_text() == before.replace("foo", "bar")
    assert "def (:" not in (repo / "src/app.py").read_text()


async def test_the_generate_screen_shows_a_retry_while_it_runs(repo: Path) -> None:
    fake = ScriptedBackend(broken=1, hold_retry=True)
    app = build(repo, fake)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, "src/app.py")
        screen = await instruct(pilot, "rename foo")
        entry = screen.progress["src/app.py"]
        await wait_for(pilot, lambda: fake.paused.is_set() and entry.state == "retrying")
        assert entry.attempt == 2
        assert str(screen.query_one("#gen-files").get_cell("src/app.py", "state")) == "retry 2"
        assert "parse:python failed; attempt 2" in reason_line(entry).plain
        assert not screen.finished and app.session.results.get("src/app.py") is None
        fake.release.set()
        await wait_for(pilot, lambda: screen.finished)
        assert (entry.state, entry.attempt) == ("done", 2)


async def test_a_file_whose_checks_always_fail_is_shown_and_not_applied_by_the_normal_apply(repo: Path) -> None:
    app_before = (repo / "src/app.py").read_bytes()
    util_before = (repo / "src/util.py").read_text()
    fake = ScriptedBackend(broken=3)  # every attempt of src/app.py (3, the default); util.py passes
    app = build(repo, fake)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await generate(pilot, "src/app.py", "src/util.py")
        entry = screen.progress["src/app.py"]
        failing = app.session.results["src/app.py"]
        assert (entry.state, entry.attempt, failing.status, failing.attempts) == ("check failed", 3, "check-failed", 3)
        assert [c.attempt for c in failing.checks if not c.ok] == [1, 2, 3]
        assert screen.progress["src/util.py"].state == "done"
        review_screen = await review(pilot)
        assert [r.path for r in review_screen.results] == ["src/app.py", "src/util.py"]
        pane = _pane(app)
        parser_says = failing.checks[-1].output.splitlines()[0]
        assert "✗" in pane and parser_says in pane
        assert "not applied: press ! to apply despite failing checks" in pane
        await pilot.press("A", "enter")  # accept everything, then the normal apply
        apply_screen = await _apply(pilot)
        assert "checks failed: not applied" in _plain(apply_screen._plan())
        assert [f for f in getattr(apply_screen.record, "files", [])]  # util.py was written
    assert (repo / "src/app.py").read_bytes() == app_before
    assert (repo / "src/util.py").read_text() == util_before.replace("foo", "bar")


async def test_a_failing_file_applies_after_the_explicit_key_and_only_then(repo: Path) -> None:
    before = (repo / "src/app.py").read_bytes()
    app = build(repo, ScriptedBackend(broken=99))
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "src/app.py")
        failing = app.session.results["src/app.py"]
        assert failing.status == "check-failed" and failing.hunks
        await review(pilot)
        await pilot.press("a", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)  # nothing else is accepted: the apply is refused
        assert "! applies one anyway" in notifications(app)
        assert (repo / "src/app.py").read_bytes() == before
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert "applied despite failing checks" in _pane(app)
        assert app.session.forced == {"src/app.py"}
        await pilot.press("enter")
        await _apply(pilot)
    assert (repo / "src/app.py").read_text() == failing.after  # the candidate, as asked
    assert "def (:" in failing.after


async def test_the_key_pressed_twice_takes_the_permission_back(repo: Path) -> None:
    app = build(repo, ScriptedBackend(broken=99))
    async with app.run_test(size=(100, 30)) as pilot:
        await generate(pilot, "src/app.py")
        await review(pilot)
        await pilot.press("a", "exclamation_mark", "exclamation_mark")
        await pilot.pause()
        assert app.session.forced == set()
        assert app.session.accepted() == {"src/app.py": set()}
        assert "not applied: press !" in _pane(app)


async def test_the_projects_max_attempts_reaches_the_run(repo: Path) -> None:
    fake = ScriptedBackend(broken=99)
    app = build(repo, fake, project=Config(max_attempts=1))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await generate(pilot, "src/app.py")
        assert screen.progress["src/app.py"].state == "check failed"
    assert len(fake.calls) == 1


def test_check_output_is_cleaned_and_cut_before_it_reaches_the_screen() -> None:
    raw = "\x1b[31merror\x1b[0m: bad\tthing\x07\n" + "x" * 500 + "\n\n" + "\n".join(f"line {i}" for i in range(9))
    lines = clean_output(raw, lines=3, width=40)
    assert lines[0] == "error: bad    thing"
    assert lines[1] == "x" * 39 + "…"
    assert lines[2] == "line 0"
    assert lines[3] == "[8 more lines]"
    assert all("\x1b" not in line and "\x07" not in line for line in lines)
