"""Pilot flows of the first two screens: picking files (tree, finder, globs, the selected list) and
writing the instruction.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from fastapply.tui.screens.generate import GenerateScreen
from fastapply.tui.screens.instruct import InstructScreen
from fastapply.tui.screens.pick import PickScreen
from fastapply.tui.widgets.file_tree import FileTree
from fastapply.tui.widgets.prompt_input import PromptInput
from fastapply.tui.widgets.status_bar import StatusBar
from tui_fakes import (
    FakeBackend,
    build,
    held_loader,
    instruct,
    ready_picker,
    select,
    tui_model_seam,  # noqa: F401  (autouse: the app loads the fake through load_model)
    wait_for,
)


# -- pick ------------------------------------------------------------------------------------


async def test_space_selects_text_files_and_refuses_binary(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/app.py", "logo.png", "docs/notes.txt")
        assert app.session.selected == ["src/app.py", "docs/notes.txt"]
        assert any("binary" in n.message for n in app._notifications)
        await select(pilot, "src/app.py")  # space again unselects
        assert app.session.selected == ["docs/notes.txt"]
        table = app.screen.query_one("#selected-table")
        table.focus()
        await pilot.press("delete")  # removing from the selected list unselects too
        assert app.session.selected == []



async def test_a_file_whose_name_is_not_utf8_is_shown_escaped_and_cannot_be_selected(repo: Path) -> None:
    name = os.fsdecode(b"bad\xff.py")  # the core refuses to edit it, so the picker does not offer it
    (repo / name).write_text("x = 1\n")
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready_picker(pilot)
        label = str(screen.query_one(FileTree)._file_nodes[name].label)
        assert "bad\\xff.py" in label and "name not UTF-8" in label and "\udcff" not in label
        await select(pilot, name)
        assert app.session.selected == []
        assert any("name not UTF-8" in n.message and "\udcff" not in n.message for n in app._notifications)

async def test_tree_shows_git_status_badges(repo: Path) -> None:
    (repo / "huge.txt").write_bytes(b"x" * 1_000_001)  # over the core's default size limit
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready_picker(pilot)
        labels = {p: str(n.label) for p, n in screen.query_one(FileTree)._file_nodes.items()}
        assert labels["docs/notes.txt"].endswith(" M")
        assert labels["src/util.py"].endswith(" S")
        assert labels["src/new_module.py"].endswith(" N")
        assert labels["src/app.py"].endswith("app.py")
        assert "binary" in labels["logo.png"]
        assert "too large" in labels["huge.txt"]
        await select(pilot, "huge.txt")
        assert app.session.selected == []


async def test_fuzzy_finder_adds_the_chosen_file(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready_picker(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"utl")
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.selected == ["src/util.py"]
        assert isinstance(app.screen, PickScreen)


async def test_glob_adds_every_selectable_match(repo: Path) -> None:
    (repo / "src/deep/er").mkdir(parents=True)
    (repo / "src/deep/er/x.py").write_text("x = 1\n")
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready_picker(pilot)
        await pilot.press("g")
        await pilot.pause()
        await pilot.press(*"src/**/*.py", "enter")
        await pilot.pause()
        assert sorted(app.session.selected) == [
            "src/app.py", "src/deep/er/x.py", "src/new_module.py", "src/util.py",
        ]


async def test_selected_list_warns_when_a_file_exceeds_the_context(repo: Path) -> None:
    app = build(repo, FakeBackend(max_context=100))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/util.py")
        total = app.screen.query_one("#selected-total")
        assert "context 100" in str(total.render())
        assert not total.has_class("-over")
        await select(pilot, "src/app.py")  # 240 bytes, 60 tokens: twice that passes 100
        assert total.has_class("-over")


async def test_picker_works_while_the_model_loads(repo: Path) -> None:
    release = threading.Event()
    fake = FakeBackend()

    app = build(repo, loader=held_loader(release, fake))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen) and bool(app.screen.files))
        assert app.model_state == "loading"
        assert "loading model" in str(app.screen.query_one(StatusBar).render())
        await select(pilot, "src/util.py", model=False)
        assert app.session.selected == ["src/util.py"]
        screen = await instruct(pilot, "rename foo")
        await pilot.pause(0.1)
        assert not screen.running and "waiting for the model" in str(screen.query_one("#gen-total").render())
        release.set()
        await wait_for(pilot, lambda: screen.finished)
        assert [r.status for r in app.session.results.values()] == ["changed"]


async def test_model_load_failure_is_a_notification_and_reload_recovers(repo: Path) -> None:
    attempts: list[int] = []

    def broken_once() -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("weights missing")
        return FakeBackend()

    app = build(repo, loader=broken_once)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.model_state == "failed")
        assert any("weights missing" in n.message for n in app._notifications)
        assert "load failed" in str(app.screen.query_one(StatusBar).render())
        await select(pilot, "src/util.py")  # still usable
        screen = await instruct(pilot, "rename foo")
        await pilot.pause()
        assert "failed to load" in str(screen.query_one("#gen-total").render())
        assert not screen.running
        reload = next(c for c in app.get_system_commands(screen) if c.title == "Reload model")
        reload.callback()  # from the palette: the waiting screen starts once the model is there
        await wait_for(pilot, lambda: screen.finished)
        assert app.model_state == "ready"
        assert [r.status for r in app.session.results.values()] == ["changed"]


# -- instruct --------------------------------------------------------------------------------


async def test_enter_sends_ctrl_j_adds_a_line_and_up_recalls_history(repo: Path, tmp_path: Path) -> None:
    history_file = tmp_path / "history.jsonl"
    app = build(repo, history_path=history_file)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/util.py")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InstructScreen))
        await pilot.press(*"first", "ctrl+j", *"second", "shift+enter", *"third", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
        assert app.session.instruction == "first\nsecond\nthird"
        await wait_for(pilot, lambda: app.screen.finished)
        await pilot.press("escape", "y")  # y: dropping the unreviewed rewrite is asked first
        await wait_for(pilot, lambda: isinstance(app.screen, InstructScreen))
        prompt = app.screen.query_one(PromptInput)
        prompt.load_text("draft")
        await pilot.press("up")
        assert prompt.text == "first\nsecond\nthird"
        await pilot.press("down")
        assert prompt.text == "draft"
    assert "first\\nsecond\\nthird" in history_file.read_text()


async def test_empty_instruction_is_not_sent(repo: Path) -> None:
    app = build(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, "src/util.py")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InstructScreen))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, InstructScreen)
