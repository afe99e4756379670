"""The help screen: every key of every screen, read from the bindings themselves.

Because the table is built from the ``BINDINGS`` of the app, the screens and the widgets, a key
added anywhere shows up here without a second list to keep in step.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# keys handled in code rather than by a binding
EXTRA_KEYS: dict[str, list[tuple[str, str]]] = {
    "instruct": [
        ("enter", "send the instruction"),
        ("shift+enter, ctrl+j", "new line"),
        ("up / down", "previous / next instruction from the history"),
    ],
    "everywhere": [("ctrl+k", "command palette")],
    "pick": [
        ("enter", "select a file, fold a folder"),
        ("ctrl+p, then type", "fuzzy find; enter toggles the file, escape closes"),
    ],
}


def _display(key: str) -> str:
    names = {
        "question_mark": "?",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "space": "space",
    }
    return ", ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


def key_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(keys, what they do)]) for the whole app, in the order a user meets them."""
    from fastapply.tui.app import FastApplyApp
    from fastapply.tui.screens.apply import ApplyScreen
    from fastapply.tui.screens.generate import GenerateScreen
    from fastapply.tui.screens.instruct import InstructScreen
    from fastapply.tui.screens.pick import PickScreen
    from fastapply.tui.screens.review import ReviewScreen
    from fastapply.tui.widgets.file_tree import FileTree
    from fastapply.tui.widgets.selected_list import SelectedTable

    owners: list[tuple[str, list[Any]]] = [
        ("everywhere", [FastApplyApp]),
        ("pick", [PickScreen, FileTree, SelectedTable]),
        ("instruct", [InstructScreen]),
        ("generate", [GenerateScreen]),
        ("review", [ReviewScreen]),
        ("apply", [ApplyScreen]),
    ]
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for name, classes in owners:
        rows: list[tuple[str, str]] = []
        for cls in classes:
            for binding in cls.BINDINGS:
                if isinstance(binding, Binding) and binding.description:
                    # a footer label is kept short; the tooltip, where given, says it in full
                    rows.append((_display(binding.key), binding.tooltip or binding.description))
        rows.extend(EXTRA_KEYS.get(name, []))
        sections.append((name, rows))
    return sections


def key_table() -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("keys", style="bold", no_wrap=True)
    table.add_column("does")
    for name, rows in key_sections():
        table.add_row(Text(name, style="bold underline"), "")
        for keys, does in rows:
            table.add_row(f"  {keys}", does)
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,question_mark", "close", "close help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(key_table(), id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "keys · escape closes"

    def action_close(self) -> None:
        self.dismiss(None)
