"""The one-line status bar: repository, branch, and the model's name, device, dtype and state.

It watches the app's ``model_state`` (and ``model_busy``: a ready model measuring its draft
widths) and redraws itself; while the model loads it shows a small spinner driven by a timer
that stops once loading ends. It knows nothing about screens.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class StatusBar(Static):
    """Shows where we are and whether the model is ready."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._frame = 0
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self.watch(self.app, "model_state", self._state_changed)
        self.watch(self.app, "model_busy", lambda _: self.update(self.render_status()), init=False)

    def _state_changed(self, state: str) -> None:
        if state == "loading" and self._timer is None:
            self._timer = self.set_interval(0.12, self._tick)
        elif state != "loading" and self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.update(self.render_status())

    def _tick(self) -> None:
        self._frame += 1
        self.update(self.render_status())

    def render_status(self) -> Text:
        app: Any = self.app
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("fastapply", style="bold")
        repo = getattr(app, "repo", None)
        if repo is not None:
            text.append(f"  {repo.root.name}")
            if getattr(repo, "branch", None):
                text.append(f" ({repo.branch})", style="dim")
        text.append("  │  ", style="dim")
        text.append(f"{app.model_name} · {app.model_device} · {app.model_dtype}  ")
        state = app.model_state
        busy = getattr(app, "model_busy", "")
        if state == "ready" and busy:
            text.append(f"◐ {busy}", style="bold cyan")
        elif state == "ready":
            text.append("● ready", style="bold green")
        elif state == "failed":
            text.append("✗ load failed", style="bold red")
        else:
            text.append(f"{SPINNER[self._frame % len(SPINNER)]} loading model", style="bold yellow")
        return text
