"""Pilot tests for the TUI flows after the instruction: stream, cancel, review, apply, commit, undo.

Each test drives the real app over a real git repository with the fake backend of
``tui_fakes`` and checks what the user would rely on: what gets selected, what is offered for
review, and what ends up on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapply.tui.config import AppConfig
from fastapply.tui.screens.apply import ApplyScreen
from fastapply.tui.screens.generate import GenerateScreen
from fastapply.tui.screens.help import HelpScreen, key_sections
from fastapply.tui.screens.pick import PickScreen
from fastapply.tui.screens.review import ReviewScreen
from fastapply.tui.widgets.stream_view import StreamView
from tui_fakes import (
    FakeBackend,
    build,
    generate,
    git,
    instruct,
    ready_picker,
    review,
    select,
    to_apply,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the fake through load_model)
    wait_for,
)

from fastapply.diff import merge_hunks


# -- generate --------------------------------------------------------------------------------


async def test_stream_shows_text_rates_and_acceptance(repo: Path) -> None:
    app = build(repo, FakeBackend(delay=0.002))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "src/util.py", "src/app.py")
        assert [r.status for r in app.session.results.values()] == ["changed", "changed"]
        stream = screen.query_one(StreamView)
        assert "value = 'bar'" in "\n".join(stream.lines)  # the last file (app.py) streamed
        app_row = screen.progress["src/app.py"]
        assert app_row.state == "done" and app_row.exact
        assert app_row.tokens_per_second == pytest.approx(200)
        assert app_row.acceptance == pytest.approx(45 / 60)
        assert "2/2 files" in str(screen.query_one("#gen-total").render())


async def test_updates_are_coalesced(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 240 characters in 1-character pieces: the screen must get far fewer than 240 updates
    seen: list[str] = []
    original = GenerateScreen.on_text_streamed

    def count(self: GenerateScreen, message: Any) -> None:
        seen.append(message.text)
        original(self, message)

    monkeypatch.setattr(GenerateScreen, "on_text_streamed", count)
    fake = FakeBackend(chunk=1, delay=0.001)
    app = build(repo, fake, stream_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py")
        screen = await instruct(pilot, "rename foo")
        await wait_for(pilot, lambda: screen.finished)
        assert "".join(seen).endswith("return value\n")
        assert len(seen) < 240 / 3


async def test_escape_cancels_and_cancelled_files_are_not_offered(repo: Path) -> None:
    fake = FakeBackend(pause_at=3)
    app = build(repo, fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py", "src/util.py")
        screen = await instruct(pilot, "rename foo")
        await wait_for(pilot, lambda: fake.paused.is_set())
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.finished)
        assert screen.cancelled
        assert screen.progress["src/app.py"].state == "cancelled"
        # the second file never started: it is "not run", not a finished "cancelled ... 100%"
        assert screen.progress["src/util.py"].state == "not run"
        assert screen.progress["src/util.py"].fraction == 0.0
        assert fake.calls == ["src/app.py"]
        assert app.session.reviewable() == []
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, GenerateScreen)  # nothing to review


async def test_cut_off_output_is_marked_and_never_offered(repo: Path) -> None:
    app = build(repo, FakeBackend(finish="length"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "src/util.py")
        assert screen.progress["src/util.py"].state == "cut off"
        assert app.session.reviewable() == []


async def test_engine_error_on_one_file_keeps_the_others(repo: Path) -> None:
    fake = FakeBackend(fail_paths=("src/util.py",))
    app = build(repo, fake)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "src/util.py", "src/app.py")
        assert screen.progress["src/util.py"].state == "failed"
        assert [r.path for r in app.session.reviewable()] == ["src/app.py"]


async def test_typing_and_scrolling_work_while_a_file_streams(repo: Path) -> None:
    long_text = "".join(f"line {i} foo\n" for i in range(400))
    (repo / "long.txt").write_text(long_text)
    git(repo, "add", "long.txt")
    # streams steadily, then holds at chunk 100 so the stream cannot end before the checks
    fake = FakeBackend(chunk=40, delay=0.005, pause_at=100)
    app = build(repo, fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "long.txt")
        screen = await instruct(pilot, "rename foo")
        stream = screen.query_one(StreamView)
        await wait_for(pilot, lambda: stream.line_count > 60)
        stream.focus()
        await pilot.press("home")
        await pilot.pause()
        assert stream.scroll_y == 0
        lines_then = stream.line_count
        await pilot.press("ctrl+k")  # the palette: typing goes to its input while text streams
        await pilot.pause()
        await pilot.press(*"review")
        await pilot.pause()
        palette_input = app.screen.query_one("Input")
        assert palette_input.value == "review"
        assert not screen.finished, "the stream should still be running while typing"
        await pilot.press("escape")
        fake.release.set()
        await wait_for(pilot, lambda: screen.finished)
        assert stream.line_count > lines_then
        assert stream.scroll_y == 0, "the view must stay where the user scrolled"
        assert app.session.results["long.txt"].after == long_text.replace("foo", "bar")


# -- review and apply ------------------------------------------------------------------------


async def test_review_mixed_accept_reject_writes_only_accepted_hunks(repo: Path) -> None:
    before = (repo / "src/app.py").read_text()
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        screen = await review(pilot)
        assert len(app.session.results["src/app.py"].hunks) == 2
        await pilot.press("space", "x")
        assert app.session.decisions["src/app.py"] == {0: True, 1: False}
        assert "accepted 1/2" in str(screen.query_one("#review-header").render())
        await pilot.press("s")  # side by side keeps the decisions
        assert screen.query_one("DiffView").split
        view = screen.query_one("DiffView")
        dark_colour = view._new[8].spans[0].style
        app.theme = "textual-light"  # the diff is coloured again for a light background
        await pilot.pause()
        assert view._new[8].spans[0].style != dark_colour
        assert app.session.decisions["src/app.py"] == {0: True, 1: False}
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApplyScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.record is not None)
        result = app.session.results["src/app.py"]
    expected = merge_hunks(before, result.after, {0})
    assert (repo / "src/app.py").read_text() == expected
    assert "return value" in expected and "value = 'foo'" in expected and "'USER', 'bar'" in expected


async def test_file_and_all_decisions_and_file_switching(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py", "src/util.py")
        screen = await review(pilot)
        assert [r.path for r in app.session.reviewable()] == ["src/app.py", "src/util.py"], {
            p: (r.status, r.reason) for p, r in app.session.results.items()}
        await pilot.press("A")
        assert app.session.counts() == (3, 3)
        await pilot.press("d")
        assert app.session.counts("src/app.py") == (0, 2)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.result.path == "src/util.py"
        await pilot.press("D")
        assert app.session.counts() == (0, 3)
        await pilot.press("enter")  # nothing accepted: stays
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)


async def test_keys_are_ignored_right_after_the_review_opens(repo: Path) -> None:
    assert AppConfig().review_grace == 0.5  # what users get
    # A grace far longer than the burst takes, so a slow, shared CI machine cannot race it...
    app = build(repo, review_grace=60.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        await pilot.press("enter", "space", "A", "enter")  # a burst that would approve everything
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert app.session.counts() == (0, 2)
        app.screen.opened_at -= 60.0  # ...then its end, without waiting for it
        assert not app.screen.in_grace()
        await pilot.press("space")
        assert app.session.counts() == (1, 2)


async def test_commit_uses_the_edited_message(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        await review(pilot)
        screen = await to_apply(pilot)
        await pilot.click("#apply-commit")
        message = screen.query_one("#apply-message")
        assert not message.disabled
        message.value = "rename foo to bar"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.record is not None)
        assert screen.record.commit
    log = git(repo, "log", "-1", "--format=%s%n%b")
    assert log.startswith("rename foo to bar")
    assert "fastapply" in log
    assert "src/app.py" in git(repo, "show", "--name-only", "--format=", "HEAD")
    assert git(repo, "status", "--porcelain", "src/app.py") == ""


async def test_ctrl_z_undoes_the_apply_and_shows_it(repo: Path) -> None:
    before = (repo / "src/app.py").read_bytes()
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        await review(pilot)
        await to_apply(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.record is not None)
        assert (repo / "src/app.py").read_bytes() != before
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: (repo / "src/app.py").read_bytes() == before)
        await pilot.pause(0.1)
        assert "restored 1 file" in str(app.screen.query_one("#apply-result").render())
        await pilot.press("ctrl+z")  # nothing left
        await wait_for(pilot, lambda: any("nothing to undo" in n.message for n in app._notifications))


async def test_changed_on_disk_shows_banner_and_apply_is_refused(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        screen = await review(pilot)
        banner = screen.query_one("#review-banner")
        assert not banner.has_class("-visible")
        (repo / "src/app.py").write_text("someone else was here\n")
        await wait_for(pilot, lambda: banner.has_class("-visible"), timeout=3)
        assert "changed on disk" in str(banner.render())
        await to_apply(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "not applied" in str(app.screen.query_one("#apply-result").render()))
        assert app.screen.record is None
    assert (repo / "src/app.py").read_text() == "someone else was here\n"


async def test_new_edit_returns_to_a_clean_picker(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        await review(pilot)
        await to_apply(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.record is not None)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        assert app.session.selected == [] and app.session.results == {}
        await wait_for(pilot, lambda: app.screen.files.get("src/app.py") is not None
                       and app.screen.files["src/app.py"].status == "modified")


# -- always ----------------------------------------------------------------------------------


async def test_help_lists_keys_of_every_screen(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready_picker(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(f"{keys} {does}" for _, rows in key_sections() for keys, does in rows)
        for expected in ("find file", "glob add", "ctrl+j", "accept hunk", "reject hunk",
                         "unified", "undo apply", "cancel / back", "command palette"):
            assert expected in text, expected
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)


async def test_palette_offers_app_and_screen_actions(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate(pilot, "src/app.py")
        screen = await review(pilot)
        titles = {c.title for c in app.get_system_commands(screen)}
        assert {"Undo last apply", "Help", "Accept all hunks", "Toggle side by side"} <= titles
        accept_all = next(c for c in app.get_system_commands(screen) if c.title == "Accept all hunks")
        accept_all.callback()
        assert app.session.counts() == (2, 2)
