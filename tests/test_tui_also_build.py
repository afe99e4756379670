"""What a lazygit or aider user reaches for, beyond the second pass's defects: the review's file list,
`n` running on to the next file, the $EDITOR round trip, follow-up instructions, switching model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapply.tui.screens.instruct import InstructScreen
from fastapply.tui.widgets.prompt_input import PromptInput
from fastapply.tui.widgets.selected_list import SelectedTable
from tui_fakes import (
    FakeBackend,
    build,
    generate,
    notifications,
    review,
    select,
    to_apply,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the fake through load_model)
    wait_for,
)


# -- also build: the review's file list, n running on to the next file ------------------------


async def test_n_runs_on_to_the_next_file_and_p_comes_back_to_the_last_hunk(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py", "src/util.py")
        screen = await review(pilot)
        view = screen.query_one("DiffView")
        assert (screen.result.path, view.cursor) == ("src/app.py", 0)
        await pilot.press("n")
        assert (screen.result.path, view.cursor) == ("src/app.py", 1)
        await pilot.press("n")  # past the last hunk: the next file's first
        await pilot.pause()
        assert (screen.result.path, view.cursor) == ("src/util.py", 0)
        await pilot.press("p")  # before the first: the previous file's last
        await pilot.pause()
        assert (screen.result.path, view.cursor) == ("src/app.py", 1)


async def test_the_file_list_shows_counts_and_jumps_to_a_file(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(120, 40)) as pilot:
        await generate(pilot, "src/app.py", "src/util.py")
        screen = await review(pilot)
        files = screen.query_one("#review-files")
        assert files.display  # wide enough: shown from the start
        await pilot.press("a")
        assert "2/2" in str(files.get_option_at_index(0).prompt)
        assert "0/1" in str(files.get_option_at_index(1).prompt)
        files.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert screen.result.path == "src/util.py"
        await pilot.press("f")
        assert not files.display

    narrow = build(repo)
    async with narrow.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py", "src/util.py")
        screen = await review(pilot)
        assert not screen.query_one("#review-files").display  # 80 columns: the diff keeps them
        await pilot.press("f")
        assert screen.query_one("#review-files").display


# -- also build: the $EDITOR round trip -------------------------------------------------------


async def test_the_text_edited_in_editor_is_what_is_reviewed_and_written(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\np.write_text(p.read_text().replace('bar', 'baz'))\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/util.py")
        screen = await review(pilot)
        await pilot.press("space")  # a decision on the old hunks is dropped with them
        await pilot.press("e")
        await wait_for(pilot, lambda: "baz" in app.session.results["src/util.py"].after)
        result = app.session.results["src/util.py"]
        assert result.after == (repo / "src/util.py").read_text().replace("foo", "bar").replace("bar", "baz")
        assert app.session.decisions.get("src/util.py", {}) == {}
        view = screen.query_one("DiffView")
        assert view._views[0].hunk is result.hunks[0]  # the view shows the edited hunks
        await to_apply(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.record is not None)
    assert "return 'baz'" in (repo / "src/util.py").read_text()


async def test_a_failing_editor_keeps_the_rewrite(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "false")
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/util.py")
        await review(pilot)
        before = app.session.results["src/util.py"]
        await pilot.press("e")
        await wait_for(pilot, lambda: "exited with status 1" in notifications(app))
        assert app.session.results["src/util.py"] is before


# -- also build: a follow-up instruction drafted from the previous rewrite ---------------------


async def test_a_follow_up_drafts_from_the_previous_rewrite(repo: Path) -> None:
    fake = FakeBackend()
    app = build(repo, fake)
    async with app.run_test(size=(80, 24)) as pilot:
        generate_screen = await generate(pilot, "src/util.py")
        first = app.session.results["src/util.py"].after
        await review(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InstructScreen) and app.screen.follow_up)
        app.screen.query_one(PromptInput).load_text("now also add a docstring")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is generate_screen and len(fake.requests) == 2)
        await wait_for(pilot, lambda: generate_screen.finished)
        request = fake.requests[-1]
        assert request.prediction == first  # the drafter copies from what was reviewed
        assert request.code == (repo / "src/util.py").read_text()  # the rewrite is still of the file
        assert request.instruction == "rename foo\nnow also add a docstring"
        assert fake.requests[0].prediction is None
        assert app.session.results["src/util.py"].status == "changed"


# -- also build: switching model from the palette ---------------------------------------------


async def test_switching_model_loads_it_through_the_seam_and_recounts(repo: Path, tui_model_seam: Any) -> None:
    app = build(repo, FakeBackend(max_context=100))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py")
        table = app.screen.query_one(SelectedTable)
        assert "✗" in str(table.get_row("src/app.py")[2])  # too big for the first model
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Switch model" in titles
        tui_model_seam.backend = FakeBackend(max_context=4096, name="bigger")
        app.switch_model("some/other-model")
        await wait_for(pilot, lambda: app.model_state == "ready" and app.model_name == "bigger")
        await pilot.pause()
        assert tui_model_seam.loads[-1][0] == "some/other-model"
        assert app.config.model == "some/other-model"
        assert "✗" not in str(table.get_row("src/app.py")[2])  # fits the new model's context


async def test_r_in_review_goes_back_and_retries_the_files_that_did_not_finish(repo: Path) -> None:
    fake = FakeBackend(fail_paths=("src/util.py",))
    app = build(repo, fake)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "src/app.py", "src/util.py")
        assert screen.progress["src/util.py"].state == "failed"
        assert "fake failure" in screen.progress["src/util.py"].reason
        await review(pilot)
        fake.fail_paths = ()
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen is screen and fake.calls.count("src/util.py") == 2)
        await wait_for(pilot, lambda: screen.finished and screen.progress["src/util.py"].state == "done")
        assert fake.calls.count("src/app.py") == 1  # the finished file is kept, not run again
        assert len(app.session.reviewable()) == 2
