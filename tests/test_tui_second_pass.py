"""Issue 16's defects, one Pilot test each, on the real app over a real repository.

Each test reproduces what a user hit (a hang, a lost cursor, a stale badge, a reason gone with a
toast) and checks the behaviour they rely on instead. The fake backend is loaded through the real
seam, ``fastapply.backend.load_model``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapply.tui.screens.apply import ApplyScreen
from fastapply.tui.screens.confirm import ConfirmScreen
from fastapply.tui.screens.generate import GenerateScreen
from fastapply.tui.screens.instruct import InstructScreen
from fastapply.tui.screens.pick import PickScreen
from fastapply.tui.widgets.file_tree import FileTree
from fastapply.tui.widgets.prompt_input import PromptInput
from fastapply.tui.widgets.selected_list import SelectedTable
from textual.widgets import Footer
from tui_fakes import (
    FakeBackend,
    build,
    generate,
    git,
    held_loader,
    instruct,
    notifications,
    ready_picker,
    review,
    select,
    start_stuck,
    to_apply,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the fake through load_model)
    wait_for,
)


# -- 1: a file over the context is refused before it is sent; every way out ends a run -------


async def test_a_file_over_the_context_cannot_be_sent_and_says_the_numbers(repo: Path) -> None:
    fake = FakeBackend(max_context=100)  # src/app.py is 60 tokens: in and out need 120
    app = build(repo, fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py")
        table = app.screen.query_one(SelectedTable)
        assert "✗" in str(table.get_row("src/app.py")[2])  # the row says which file
        assert "(src/app.py needs 120 of 100)" in str(app.screen.query_one("#selected-total").render())
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        assert "over the context: 60 tokens in and as many out need 120; the model holds 100" in notifications(app)
    assert fake.calls == []


async def test_a_file_found_over_the_context_after_the_load_is_refused_unsent(repo: Path) -> None:
    release = threading.Event()
    fake = FakeBackend(max_context=100)

    app = build(repo, loader=held_loader(release, fake))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py", "src/util.py", model=False)  # estimates only, no context yet
        screen = await instruct(pilot, "rename foo")
        release.set()
        await wait_for(pilot, lambda: screen.finished)
        assert screen.progress["src/app.py"].state == "refused"
        assert "the model holds 100" in screen.progress["src/app.py"].reason
        assert screen.progress["src/util.py"].state != "refused"
    assert "src/app.py" not in fake.calls


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_escape_and_ctrl_c_end_a_generation_within_a_second_even_in_prefill(repo: Path, key: str) -> None:
    fake = FakeBackend(prefill=60.0)
    app = build(repo, fake)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start_stuck(pilot)
        assert "sending" in str(screen.query_one("#gen-total").render())
        pressed = time.monotonic()
        await pilot.press(key)
        await wait_for(pilot, lambda: screen.finished, timeout=5)
        assert time.monotonic() - pressed < 1.0
        assert screen.progress["src/app.py"].state == "cancelled"
        assert isinstance(app.screen, GenerateScreen)
        if key == "ctrl+c":  # once the run is over, ctrl+c quits (nothing to lose here)
            await pilot.press("ctrl+c")
            await wait_for(pilot, lambda: not app.is_running, timeout=2)


async def test_ctrl_q_quits_within_a_second_even_when_the_backend_ignores_cancel(repo: Path) -> None:
    stuck = threading.Event()

    class Deaf(FakeBackend):
        def generate(self, request: Any) -> Any:
            self.calls.append(request.path)
            stuck.wait(30)  # never looks at request.cancel
            return super().generate(request)

    app = build(repo, Deaf())
    try:
        pressed = 0.0
        async with app.run_test(size=(80, 24)) as pilot:
            await select(pilot, "src/app.py")
            screen = await instruct(pilot, "rename foo")
            await wait_for(pilot, lambda: screen.progress["src/app.py"].state == "starting")
            cancel = screen._cancel
            pressed = time.monotonic()
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: not app.is_running, timeout=5)
        assert time.monotonic() - pressed < 1.0
        assert cancel.is_set()  # the run was told to stop, not just left behind
    finally:
        stuck.set()


# -- 3, 4: the tree has a cursor from the start; removing keeps the cursor's place ----------


async def test_the_first_space_selects_without_an_arrow_key_first(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready_picker(pilot)
        tree = screen.query_one(FileTree)
        assert tree.cursor_line == 0
        await pilot.press("space")
        assert app.session.selected == ["README.md"]


async def test_removing_a_file_keeps_the_cursor_on_the_next_one(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "README.md", "src/app.py", "src/util.py", "docs/notes.txt")
        table = app.screen.query_one(SelectedTable)
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("delete")
        await pilot.pause()
        assert app.session.selected == ["README.md", "src/util.py", "docs/notes.txt"]
        assert table.cursor_row == 1
        await pilot.press("delete")  # the file that moved up under the cursor
        await pilot.pause()
        assert app.session.selected == ["README.md", "docs/notes.txt"]


# -- 5, 9, 10: undo after a commit; the commit message; badges after an undo ----------------


async def _apply(pilot: Any, *, commit: bool) -> ApplyScreen:
    app = pilot.app
    await generate(pilot, "src/app.py")
    await review(pilot)
    screen = await to_apply(pilot)
    if commit:
        await pilot.click("#apply-commit")
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: screen.record is not None)
    return screen


async def test_undo_after_a_commit_says_the_commit_stays_and_apply_works_again(repo: Path) -> None:
    before = (repo / "src/app.py").read_bytes()
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _apply(pilot, commit=True)
        commit = screen.record.commit
        assert commit
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: (repo / "src/app.py").read_bytes() == before)
        await wait_for(pilot, lambda: "stays in history" in notifications(app))
        assert commit[:10] in notifications(app)
        assert "ctrl+s applies again" in str(screen.query_one("#apply-result").render())
        await pilot.press("ctrl+s")  # no longer "already applied"
        await wait_for(pilot, lambda: screen.record is not None and (repo / "src/app.py").read_bytes() != before)
        assert "already applied" not in notifications(app)
        assert screen.record.commit is None  # the first commit already holds these changes


async def test_tabbing_into_the_commit_message_does_not_select_it(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        await review(pilot)
        await to_apply(pilot)
        await pilot.click("#apply-commit")
        message = app.screen.query_one("#apply-message")
        default = message.value
        assert default == "fastapply: rename foo"
        while app.focused is not message:  # tab into it, as a user does
            await pilot.press("tab")
        await pilot.press("!")  # the first key must not replace the message
        assert len(message.value) == len(default) + 1 and message.value.replace("!", "", 1) == default


async def test_tree_badges_follow_an_undo(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _apply(pilot, commit=False)
        pick = next(s for s in app.screen_stack if isinstance(s, PickScreen))
        label = lambda: str(pick.query_one(FileTree)._file_nodes["src/app.py"].label)  # noqa: E731
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: label().endswith(" M"))
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: not label().endswith(" M"))


# -- 6, 7, 14: cancel leaves the rest "not run" and retry runs them; no stale waiting line ---


async def test_after_a_cancel_the_rest_is_not_run_and_r_runs_it(repo: Path) -> None:
    fake = FakeBackend(pause_at=3)
    app = build(repo, fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py", "src/util.py")
        screen = await instruct(pilot, "rename foo")
        await wait_for(pilot, lambda: fake.paused.is_set())
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.finished)
        total = str(screen.query_one("#gen-total").render())
        assert "1/2 files" in total and "1 not run" in total and "2 to retry (r)" in total
        fake.release.set()
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.finished and not screen.running and len(fake.calls) == 3)
        assert {p: e.state for p, e in screen.progress.items()} == {"src/app.py": "done", "src/util.py": "done"}
        assert len(app.session.reviewable()) == 2


async def test_the_waiting_line_goes_once_the_model_is_ready(repo: Path) -> None:
    release = threading.Event()
    fake = FakeBackend(pause_at=0)  # held before any text: the line must go without it

    app = build(repo, loader=held_loader(release, fake))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py", model=False)
        screen = await instruct(pilot, "rename foo")
        await pilot.pause(0.1)
        assert "waiting for the model" in str(screen.query_one("#gen-total").render())
        release.set()
        await wait_for(pilot, lambda: fake.paused.is_set())
        await pilot.pause()
        assert "waiting for the model" not in str(screen.query_one("#gen-total").render())
        fake.release.set()


async def test_why_a_file_was_cut_off_stays_on_screen(repo: Path) -> None:
    app = build(repo, FakeBackend(finish="length"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "src/util.py")
        app.clear_notifications()
        await pilot.pause(0.1)
        reason = str(screen.query_one("#gen-reason").render())
        assert "cut off" in reason and "token limit" in reason


# -- 8: ctrl+z is the apply's undo on every screen --------------------------------------------


async def test_ctrl_z_on_the_instruct_screen_is_undo_not_typing_undo(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/util.py")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InstructScreen))
        await pilot.press(*"rename foo")
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: "nothing to undo" in notifications(app))
        assert app.screen.query_one(PromptInput).text == "rename foo"


# -- 12: footers fit at 80 columns -----------------------------------------------------------


def _footer_fits(app: Any, *needed: str) -> None:
    """Every footer item lies inside 80 columns and clear of the palette key docked right."""
    footer = app.screen.query_one(Footer)
    items = list(footer.query("FooterKey, FooterLabel"))
    palette = [w for w in items if w.has_class("-command-palette")]
    others = [w for w in items if w not in palette]
    edge = palette[0].region.x if palette else 80
    placed = [(str(w.render()).strip(), w.region.x, w.region.right) for w in others]
    assert all(0 <= x and right <= edge for _, x, right in placed), placed
    shown = " ".join(text for text, _, _ in placed)
    for word in needed:
        assert word in shown, shown


async def test_every_footer_fits_80_columns_with_the_keys_that_matter(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py", "src/util.py")
        _footer_fits(app, "instruct", "help")
        screen = await instruct(pilot, "rename foo")
        await wait_for(pilot, lambda: screen.finished)
        await pilot.pause()
        _footer_fits(app, "review", "help")
        await review(pilot)
        await pilot.pause()
        _footer_fits(app, "apply", "help", "file", "all", "]", "[", "A", "D")
        await to_apply(pilot)
        await pilot.pause()
        _footer_fits(app, "apply", "help")


# -- 13: quitting asks only when unapplied results would be lost -----------------------------


async def test_quit_asks_when_rewrites_are_unapplied_and_not_otherwise(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "1 unapplied rewrite" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, GenerateScreen)
        await pilot.press("ctrl+q", "y")
        await wait_for(pilot, lambda: not app.is_running)

    quiet = build(repo)
    async with quiet.run_test(size=(80, 24)) as pilot:
        await ready_picker(pilot)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not quiet.is_running, timeout=1)


async def test_escape_after_a_run_asks_before_dropping_rewrites(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # no
        await pilot.pause()
        assert isinstance(app.screen, GenerateScreen)
        assert len(app.session.reviewable()) == 1


# -- issue 13: the configuration reaches the TUI's listing and its edits ----------------------


async def test_the_configured_size_limit_reaches_the_file_listing(repo: Path) -> None:
    app = build(repo, max_bytes=100)  # src/app.py is 240 bytes, src/util.py 88
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready_picker(pilot)
        assert screen.files["src/app.py"].too_large and not screen.files["src/util.py"].too_large
        await select(pilot, "src/app.py", "src/util.py")
        assert app.session.selected == ["src/util.py"]


@pytest.mark.parametrize("allow", [False, True])
async def test_allow_deletion_reaches_the_edit(repo: Path, allow: bool) -> None:
    (repo / "many.txt").write_text("keep\n" + "gone\n" * 40)
    git(repo, "add", "many.txt")
    app = build(repo, FakeBackend(old="gone\n", new=""), allow_deletion=allow)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "many.txt", text="delete the gone lines")
        result = app.session.results["many.txt"]
        assert result.status == ("changed" if allow else "refused"), result.reason
        assert screen.progress["many.txt"].state == ("done" if allow else "refused")
