"""Applying again after undoing a committed apply (issue 16, the known bug after defect 5).

Undo restores the files and leaves the commit in history. Applying the same rewrite again with
"commit" still ticked used to be refused as "your own changes"; now the files are written and
the screen says HEAD already holds them. A different choice of hunks cannot be committed on
top, and the refusal says it is the undo's doing and what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapply.tui.screens.apply import ApplyScreen
from fastapply.tui.screens.review import ReviewScreen
from textual.widgets import Checkbox
from tui_fakes import (
    build,
    generate,
    git,
    review,
    to_apply,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the fake through load_model)
    wait_for,
)


def _result(screen: ApplyScreen) -> str:
    return str(screen.query_one("#apply-result").render())


def _commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD").strip())


async def _commit_then_undo(pilot: Any, repo: Path) -> tuple[ApplyScreen, str, bytes, bytes]:
    app = pilot.app
    before = (repo / "src/app.py").read_bytes()
    await generate(pilot, "src/app.py")
    await review(pilot)
    screen = await to_apply(pilot)
    await pilot.click("#apply-commit")
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: screen.record is not None)
    commit, after = screen.record.commit, (repo / "src/app.py").read_bytes()
    assert commit and after != before
    await pilot.press("ctrl+z")
    await wait_for(pilot, lambda: (repo / "src/app.py").read_bytes() == before and screen.record is None)
    return screen, commit, before, after


async def test_applying_again_with_commit_ticked_writes_and_says_head_holds_it(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, commit, before, after = await _commit_then_undo(pilot, repo)
        commits = _commits(repo)
        assert screen.query_one("#apply-commit", Checkbox).value  # the choice is left as it was
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.record is not None or "not applied" in _result(screen))
        assert "not applied" not in _result(screen), _result(screen)
        assert (repo / "src/app.py").read_bytes() == after
        assert f"not committed again: HEAD {commit[:10]} already holds these changes" in _result(screen)
        assert _commits(repo) == commits and git(repo, "status", "--porcelain", "src/app.py").strip() == ""
        await pilot.press("ctrl+z")  # the second apply is undone like any other
        await wait_for(pilot, lambda: (repo / "src/app.py").read_bytes() == before)


async def test_other_hunks_after_the_undo_are_refused_with_the_reason(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, commit, before, _ = await _commit_then_undo(pilot, repo)
        await pilot.press("escape")  # back to review: take only the first hunk this time
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await pilot.press("D", "space", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApplyScreen) and app.screen is not screen)
        again = app.screen
        await pilot.click("#apply-commit")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "not applied" in _result(again))
        text = _result(again)
        assert f"before commit {commit[:10]}, which is still HEAD" in text, text
        assert "untick commit to write only" in text
        assert (repo / "src/app.py").read_bytes() == before  # refused before anything was written
