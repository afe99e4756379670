"""The list of selected files with their size and token estimate, and the total against context.

Rows come from the screen as ``SelectedRow`` values; the widget only lays them out (the size and
token columns always visible, long paths shortened from the left, a file over the context marked,
and the totals line naming the first such file with the tokens it needs against the context)
and posts ``SelectedList.Removed`` when the user removes the row under the cursor, keeping the
cursor where it was. It does not read files.
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

from fastapply.tui.tokens import needed_tokens


@dataclass(frozen=True)
class SelectedRow:
    path: str
    size: int
    tokens: int
    exact: bool  # counted by the model's tokenizer, not estimated from the size
    over: bool = False  # its rewrite cannot fit the model's context


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def token_text(tokens: int, exact: bool) -> str:
    return f"{tokens:,}" if exact else f"~{tokens:,}"


def shorten_path(path: str, width: int) -> str:
    """``path`` in at most ``width`` cells, cut from the left (the file name matters most)."""
    if len(path) <= width:
        return path
    return "…" + path[len(path) - max(1, width - 1) :]


SIZE_WIDTH = 8
TOKENS_WIDTH = 9
# each column carries one cell of padding on both sides; two cells for the scrollbar
CHROME = 3 * 2 + 2


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: list[SelectedRow] = []
        self._max_context: int | None = None

    def compose(self) -> ComposeResult:
        yield SelectedTable(id="selected-table", cursor_type="row", zebra_stripes=False)
        yield Static("nothing selected: space on a file, ctrl+p to find, g for a glob", id="selected-total")

    def on_resize(self) -> None:
        self.show(self._rows, self._max_context)

    def _file_width(self) -> int:
        return max(8, self.size.width - SIZE_WIDTH - TOKENS_WIDTH - CHROME)

    def show(self, rows: list[SelectedRow], max_context: int | None) -> None:
        self._rows, self._max_context = list(rows), max_context
        table = self.query_one(SelectedTable)
        cursor = table.cursor_row
        table.clear(columns=True)  # columns sized anew: they shrink back after a clear
        width = self._file_width()
        table.add_column("file", key="file", width=min(width, max([4, *(len(r.path) for r in rows)])))
        table.add_column(Text("size", justify="right"), key="size", width=SIZE_WIDTH)
        table.add_column(Text("tokens", justify="right"), key="tokens", width=TOKENS_WIDTH)
        for row in rows:
            style = "bold red" if row.over else ""
            table.add_row(
                Text(shorten_path(row.path, width), style=style, no_wrap=True),
                Text(human_size(row.size), justify="right"),
                Text(token_text(row.tokens, row.exact) + (" ✗" if row.over else ""), justify="right", style=style),
                key=row.path,
            )
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1), animate=False)
        total = self.query_one("#selected-total", Static)
        if not rows:
            total.update("nothing selected: space on a file, ctrl+p to find, g for a glob")
            total.remove_class("-over")
            return
        tokens = sum(r.tokens for r in rows)
        exact = all(r.exact for r in rows)
        size = sum(r.size for r in rows)
        over = [r for r in rows if r.over]
        line = f"{len(rows)} file{'s' if len(rows) != 1 else ''} · {human_size(size)} · {token_text(tokens, exact)} tokens"
        if max_context is not None:
            line += f" · context {max_context:,}"
        if over:
            # each file is rewritten on its own: the prompt holds the file and the output repeats it
            first = over[0]
            needs = token_text(needed_tokens(first.tokens), first.exact)
            of = f" of {max_context:,}" if max_context is not None else ""
            line += f" · ✗ {len(over)} too big for the context ({first.path} needs {needs}{of})"
        total.update(line)
        total.set_class(bool(over), "-over")
