"""The instruct screen: say what to do with the selected files.

Enter sends; the instruction is remembered in the history and the generate screen opens (or, for
a follow-up on rewrites under review, the screen is dismissed with the text). Escape goes back.
It does not run the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from fastapply.tui import history
from fastapply.tui.widgets.prompt_input import PromptInput
from fastapply.tui.widgets.status_bar import StatusBar


def files_line(paths: list[str], width: int = 70) -> str:
    text = ", ".join(paths)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"{len(paths)} file{'s' if len(paths) != 1 else ''}: {text}"


class InstructScreen(Screen[str | None]):
    CSS_PATH = "instruct.tcss"
    BINDINGS = [Binding("escape", "back", "back")]

    def __init__(self, *, follow_up: bool = False) -> None:
        super().__init__()
        self.follow_up = follow_up  # dismissed with the text instead of opening the generate screen

    def compose(self) -> ComposeResult:
        app: Any = self.app
        yield StatusBar()
        with Vertical(id="instruct-body"):
            if self.follow_up:
                paths = [r.path for r in app.session.reviewable()]
                yield Label("follow-up (drafted from the rewrites under review)", classes="section-title")
                yield Static(files_line(paths), id="instruct-files", classes="muted")
            else:
                yield Label("instruction", classes="section-title")
                yield Static(files_line(app.session.selected), id="instruct-files", classes="muted")
            yield PromptInput(app.history, id="prompt")
            yield Static(
                "enter sends · shift+enter or ctrl+j: new line · up/down: history",
                id="instruct-hint",
                classes="muted",
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        prompt = self.query_one(PromptInput)
        prompt.load_text("" if self.follow_up else self.app.session.instruction)  # type: ignore[attr-defined]
        prompt.move_cursor(prompt.document.end)
        prompt.focus()

    @on(PromptInput.Submitted)
    def _submitted(self, event: PromptInput.Submitted) -> None:
        text = event.text.strip()
        if not text:
            self.notify("write an instruction first", severity="warning")
            return
        app: Any = self.app
        history.remember(app.history, text, app.config.history_path)
        self.query_one(PromptInput).reset_history_position()
        if self.follow_up:
            self.dismiss(text)
            return
        app.session.start_generation(text)
        from fastapply.tui.screens.generate import GenerateScreen

        self.app.push_screen(GenerateScreen())

    def action_back(self) -> None:
        if self.follow_up:
            self.dismiss(None)
            return
        self.app.pop_screen()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [("Back to files", "Change the selection", self.action_back)]
