"""A scrollable diff of one file: one ``HunkView`` per hunk, a cursor, and accept/reject marks.

The screen owns the decisions and tells the view what to show; the view only renders, moves the
highlight and scrolls the cursor hunk into sight.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from fastapply.tui.widgets.diff_render import highlight_lines, hunk_renderable

MARKS = {True: ("✓ accepted", "bold green"), False: ("✗ rejected", "bold red"), None: ("· undecided", "dim")}


class HunkView(Static):
    DEFAULT_CSS = """
    HunkView {
        height: auto;
        margin: 0 0 1 0;
        border-left: outer $panel;
        padding: 0 1 0 0;
    }
    HunkView.-accepted { border-left: outer $success; }
    HunkView.-rejected { border-left: outer $error; }
    HunkView.-cursor { border-left: thick $accent; background: $boost; }
    """

    def __init__(self, hunk: Any, number: int, total: int) -> None:
        super().__init__("")
        self.hunk = hunk
        self.number = number
        self.total = total
        self.decision: bool | None = None

    def draw(self, old_lines: list[Text], new_lines: list[Text], *, dark: bool, split: bool) -> None:
        mark, style = MARKS[self.decision]
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(f"hunk {self.number}/{self.total} ", style="bold")
        title.append(f"{self.hunk.header}  ", style="dim")
        title.append(f"+{self.hunk.added} -{self.hunk.removed}  ")
        title.append(mark, style=style)
        self.set_class(self.decision is True, "-accepted")
        self.set_class(self.decision is False, "-rejected")
        self.update(hunk_renderable(self.hunk, old_lines, new_lines, dark=dark, split=split, title=title))


class DiffView(VerticalScroll):
    DEFAULT_CSS = """
    DiffView { height: 1fr; background: $surface; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.split = False
        self.cursor = 0
        self._old: list[Text] = []
        self._new: list[Text] = []
        self._views: list[HunkView] = []
        self._result: Any = None

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self, _theme: str) -> None:
        # syntax and diff colours differ between light and dark themes
        if self._result is not None:
            self._highlight(self._result)
            self.redraw()

    def _highlight(self, result: Any) -> None:
        self._old = highlight_lines(result.before, result.path, self.dark)
        self._new = highlight_lines(result.after, result.path, self.dark)

    @property
    def dark(self) -> bool:
        return bool(self.app.current_theme.dark)

    async def show(self, result: Any, decisions: dict[int, bool], *, split: bool, cursor: int = 0) -> None:
        """Replace the contents with ``result``'s hunks."""
        self.split = split
        self._result = result
        self._highlight(result)
        await self.remove_children()
        total = len(result.hunks)
        self._views = [HunkView(h, i + 1, total) for i, h in enumerate(result.hunks)]
        for view in self._views:
            view.decision = decisions.get(view.hunk.index)
        await self.mount_all(self._views)
        self.redraw()
        self.move_cursor(cursor)

    def redraw(self) -> None:
        for view in self._views:
            view.draw(self._old, self._new, dark=self.dark, split=self.split)

    def set_split(self, split: bool) -> None:
        self.split = split
        self.redraw()
        self.move_cursor(self.cursor)

    def set_decision(self, position: int, decision: bool | None) -> None:
        view = self._views[position]
        view.decision = decision
        view.draw(self._old, self._new, dark=self.dark, split=self.split)

    def move_cursor(self, position: int) -> None:
        if not self._views:
            return
        position = max(0, min(len(self._views) - 1, position))
        self._views[self.cursor if self.cursor < len(self._views) else 0].remove_class("-cursor")
        self.cursor = position
        view = self._views[position]
        view.add_class("-cursor")
        self.call_after_refresh(self.scroll_to_widget, view, animate=False, top=True)

    @property
    def hunk_count(self) -> int:
        return len(self._views)
