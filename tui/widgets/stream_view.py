"""The live text of the file being rewritten.

A ``Log`` that follows the end while the user has not scrolled away; once they scroll up it stays
where they are, so reading while tokens stream works. It only displays what it is given.
"""

from __future__ import annotations

from textual.widgets import Log


class StreamView(Log):
    DEFAULT_CSS = """
    StreamView { height: 1fr; border: round $primary 60%; background: $surface; }
    """

    def show_text(self, title: str, text: str) -> None:
        """Replace the contents (another file was chosen or started)."""
        self.border_title = title
        self.clear()
        self.write(text, scroll_end=True)

    def append(self, text: str) -> None:
        # the scroll target, not the position: a scroll-up animation in flight means "stay"
        follow = self.max_scroll_y == 0 or (
            self.scroll_target_y >= self.max_scroll_y - 0.5 and self.is_vertical_scroll_end
        )
        self.write(text, scroll_end=follow)
