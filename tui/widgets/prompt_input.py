"""A multi-line instruction input: enter sends, shift+enter or ctrl+j adds a newline, up/down
walk the history when the cursor is on the first or last line.

It posts ``PromptInput.Submitted`` with the text; the screen decides what sending means. The
history list is shared with the caller (newest last) and only read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = frozenset({"shift+enter", "ctrl+j"})


class PromptInput(TextArea):
    DEFAULT_CSS = """
    PromptInput { height: 1fr; min-height: 3; }
    """

    @dataclass(eq=False)
    class Submitted(Message):
        text: str

    def __init__(self, history: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs)
        self.entries = history if history is not None else []
        self._position = len(self.entries)  # == len(history): the user's own draft
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self.text))
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "up" and self.cursor_location[0] == 0 and self._recall(-1):
            event.stop()
            event.prevent_default()
            return
        if event.key == "down" and self.cursor_location[0] == self.document.line_count - 1 and self._recall(1):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def _recall(self, step: int) -> bool:
        target = self._position + step
        if target < 0 or target > len(self.entries):
            return False
        if self._position == len(self.entries):
            self._draft = self.text
        self._position = target
        self.load_text(self.entries[target] if target < len(self.entries) else self._draft)
        self.move_cursor(self.document.end)
        return True

    def reset_history_position(self) -> None:
        self._position = len(self.entries)
