"""The list of selected files with their size and token estimate, and the total against context.

Rows come from the screen as ``SelectedRow`` values; the widget only lays them out and posts
``SelectedList.Removed`` when the user removes the row under the cursor. It does not read files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static


@dataclass(frozen=True)
class SelectedRow:
    path: str
    size: int
    tokens: int
    exact: bool  # counted by the model's tokenizer, not estimated from the size


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def token_text(tokens: int, exact: bool) -> str:
    return f"{tokens:,}" if exact else f"~{tokens:,}"


class SelectedTable(DataTable[Any]):
    BINDINGS = [Binding("delete,backspace", "remove_row", "remove", show=True)]

    @dataclass(eq=False)
    class Removed(Message):
        path: str

    def action_remove_row(self) -> None:
        if self.row_count == 0:
            return
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        if row_key.value is not None:
            self.post_message(self.Removed(str(row_key.value)))


class SelectedList(Vertical):
    """Title, table of selected files, and a totals line."""

    DEFAULT_CSS = """
    SelectedList { height: 1fr; }
    SelectedList > SelectedTable { height: 1fr; }
    SelectedList > #selected-total { height: auto; padding: 0 1; }
    SelectedList > #selected-total.-over { color: $error; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        table = SelectedTable(id="selected-table", cursor_type="row", zebra_stripes=False)
        table.add_column("file", key="file")
        table.add_column("size", key="size")
        table.add_column("tokens", key="tokens")
        yield table
        yield Static("nothing selected: space on a file, ctrl+p to find, g for a glob", id="selected-total")

    def show(self, rows: list[SelectedRow], max_context: int | None) -> None:
        table = self.query_one(SelectedTable)
        table.clear()
        for row in rows:
            table.add_row(
                row.path,
                Text(human_size(row.size), justify="right"),
                Text(token_text(row.tokens, row.exact), justify="right"),
                key=row.path,
            )
        total = self.query_one("#selected-total", Static)
        if not rows:
            total.update("nothing selected: space on a file, ctrl+p to find, g for a glob")
            total.remove_class("-over")
            return
        tokens = sum(r.tokens for r in rows)
        exact = all(r.exact for r in rows)
        size = sum(r.size for r in rows)
        largest = max(r.tokens for r in rows)
        line = f"{len(rows)} file{'s' if len(rows) != 1 else ''} · {human_size(size)} · {token_text(tokens, exact)} tokens"
        # each file is rewritten on its own: the prompt holds the file and the output repeats it
        over = max_context is not None and largest * 2 > max_context
        if max_context is not None:
            line += f" · context {max_context:,}"
            if over:
                line += " · largest file too big for the context"
        total.update(line)
        total.set_class(over, "-over")
