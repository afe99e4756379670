"""The review's file list: each reviewable file with its accepted/total hunks, to jump between.

An ``OptionList`` whose option ids are repository-relative paths; the screen fills it from the
session, keeps its highlight on the file shown, and handles ``OptionSelected`` (a jump). It does
not know about decisions beyond the counts it is given.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option


def file_prompt(path: str, accepted: int, total: int, stale: bool) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    mark, style = ("✓", "bold green") if total and accepted == total else ("·", "dim") if not accepted else ("◐", "yellow")
    text.append(f"{mark} ", style=style)
    text.append(f"{accepted}/{total} ", style="dim")
    text.append(path.rsplit("/", 1)[-1], style="bold red" if stale else "")
    return text


class ReviewFiles(OptionList):
    DEFAULT_CSS = """
    ReviewFiles { width: 24; height: 1fr; border: none; border-right: vkey $primary 50%; padding: 0; }
    """

    def show(self, rows: list[tuple[str, int, int, bool]], current: int) -> None:
        """``rows``: (path, accepted, total, changed on disk) per file, in review order."""
        self.clear_options()
        self.add_options([Option(file_prompt(*row), id=row[0]) for row in rows])
        if rows:
            self.highlighted = max(0, min(current, len(rows) - 1))
