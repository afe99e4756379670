"""The generate screen's table of files: per file its state, tokens/s, draft acceptance and how
far it got.

The screen hands each row's cells (``fastapply.tui.screens._progress.row_cells`` makes them);
the table lays them out, moves its cursor to a file and says which file is highlighted. It
knows nothing about the run.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

# (key, label, width): the order of ``row_cells``; the file column takes what is left
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("file", "file", None), ("state", "state", 12), ("tps", "tok/s", 7), ("accept", "accept", 6), ("done", "done", 4),
)


class RunTable(DataTable[Any]):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def add_file(self, path: str, cells: tuple[Text, ...]) -> None:
        self.add_row(*cells, key=path)

    def show(self, path: str, cells: tuple[Text, ...]) -> None:
        for (key, _, _), value in zip(COLUMNS, cells):
            self.update_cell(path, key, value)

    def move_to(self, path: str) -> None:
        self.move_cursor(row=self.get_row_index(path))

    def highlighted(self) -> str | None:
        """The file under the cursor, or None when there are no rows."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)
