"""The generate screen's progress row: the run's progress bar, then one file's speed sparkline.

The sparkline is Textual's ``Sparkline`` over the tokens/s samples it is handed (the screen
hands it the file streaming now, or the one highlighted once the run is over). Both update
without a layout pass. It only displays what it is given.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static


class SpeedLine(Horizontal):
    DEFAULT_CSS = """
    SpeedLine { height: 1; padding: 0 1; }
    SpeedLine > #gen-progress { width: 46; }
    SpeedLine > #gen-speed-label { width: 7; color: $text-muted; }
    SpeedLine > #gen-speed { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="gen-progress")
        yield Static("tok/s", id="gen-speed-label")
        yield Sparkline([], id="gen-speed")

    def show_progress(self, bar: RenderableType) -> None:
        self.query_one("#gen-progress", Static).update(bar, layout=False)

    def show_speeds(self, samples: Sequence[float]) -> None:
        """The samples of one file (tokens/s, oldest first); none draws a flat line."""
        spark = self.query_one("#gen-speed", Sparkline)
        # a leading zero pins the scale's foot at 0 tok/s (the widget spans min..max of its
        # data), so a steady stream reads as steady and a dip by its true size
        data = [0.0, *samples] if samples else []
        if data != list(spark.data or []):
            spark.data = data

    def speeds(self) -> list[float]:
        """The samples shown now (without the zero that pins the scale)."""
        return list(self.query_one("#gen-speed", Sparkline).data or [])[1:]
