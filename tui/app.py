"""The thin Textual app: holds the session and the model, and opens the first screen.

Screens do the work (pick, instruct, generate, review, apply); the app only loads the model in a
background worker, keeps the model's state for the status bar, offers app-wide keys (help, undo,
palette) and turns worker failures into notifications. ``create_app`` is the factory the CLI, the
tests and the latency script share.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from fastapply.tui.config import AppConfig
from fastapply.tui.messages import ModelLoaded, ModelLoadFailed, UndoDone, UndoFailed
from fastapply.tui.session import Session


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class FastApplyApp(App[int]):
    """Pick files, instruct, watch rewrites stream, review hunks, apply through git."""

    TITLE = "fastapply"
    CSS_PATH = "app.tcss"
    COMMAND_PALETTE_BINDING = "ctrl+k"
    BINDINGS = [
        Binding("question_mark,f1", "help", "help"),
        Binding("ctrl+z", "undo", "undo apply"),
        Binding("ctrl+q", "quit", "quit", priority=True),
    ]

    model_state: reactive[str] = reactive("loading")
    """``loading``, ``ready`` or ``failed``; the status bar watches it."""

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self.config = config
        self.backend: Any = None
        self.model_name = config.model
        self.model_device = config.device or "auto"
        self.model_dtype = config.dtype or "auto"
        self.model_error = ""
        self.repo: Any = None
        self.session: Session | None = None
        self.history: list[str] = []

    # -- startup -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        from fastapply.tui import history
        from fastapply.tui.screens.pick import PickScreen

        self.history = history.load(self.config.history_path)
        self.repo = self._open_repo()
        root = self.repo.root if self.repo is not None else self.config.path
        self.session = Session(repo_root=root)
        self.push_screen(PickScreen())
        self.load_model()

    def _open_repo(self) -> Any:
        from fastapply.errors import FastapplyError
        from fastapply.repo import find_repo

        try:
            return find_repo(self.config.path)
        except (FastapplyError, OSError, ValueError) as exc:
            self.notify(_describe(exc), title="not a git repository", severity="error", timeout=15)
            return None

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def load_model(self) -> None:
        """Load the backend in a thread; only posts a message."""
        loader = self.config.backend_loader
        try:
            if loader is None:
                from fastapply.backend import load_backend

                backend = load_backend(
                    self.config.model, device=self.config.device, dtype=self.config.dtype
                )
            else:
                backend = loader()
        except Exception as exc:  # any failure to load becomes a notification, not a crash
            self.post_message(ModelLoadFailed(_describe(exc)))
            return
        self.post_message(ModelLoaded(backend))

    def on_model_loaded(self, message: ModelLoaded) -> None:
        backend = message.backend
        self.backend = backend
        self.model_name = str(getattr(backend, "name", self.config.model))
        self.model_device = str(getattr(backend, "device", self.model_device))
        self.model_dtype = str(getattr(backend, "dtype", self.model_dtype))
        self.model_state = "ready"

    def on_model_load_failed(self, message: ModelLoadFailed) -> None:
        self.model_error = message.error
        self.model_state = "failed"
        self.notify(message.error, title="model failed to load", severity="error", timeout=15)

    # -- app-wide actions ----------------------------------------------------------------------

    def action_reload_model(self) -> None:
        self.model_error = ""
        self.model_state = "loading"
        self.load_model()

    def action_help(self) -> None:
        from fastapply.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_undo(self) -> None:
        if self.repo is None:
            self.notify("no repository open", severity="warning")
            return
        self.undo_last()

    @work(thread=True, exclusive=True, group="undo", exit_on_error=False)
    def undo_last(self) -> None:
        from fastapply.undo import undo_last

        try:
            report = undo_last(self.repo.root)
        except Exception as exc:  # a refused or failed undo is shown, never raised
            self.post_message(UndoFailed(_describe(exc)))
            return
        self.post_message(UndoDone(report))

    def on_undo_done(self, message: UndoDone) -> None:
        from fastapply.tui.screens._summary import describe_undo

        text = describe_undo(message.report)
        self.notify(text, title="undo")
        show = getattr(self.screen, "show_undo", None)
        if show is not None:
            show(text)

    def on_undo_failed(self, message: UndoFailed) -> None:
        self.notify(message.error, title="undo failed", severity="error", timeout=10)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "List every key", self.action_help)
        yield SystemCommand("Undo last apply", "Restore the files of the last apply", self.action_undo)
        yield SystemCommand("Reload model", "Load the model again", self.action_reload_model)
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            for title, help_text, callback in commands():
                yield SystemCommand(title, help_text, callback)


def create_app(config: AppConfig | None = None, **overrides: Any) -> FastApplyApp:
    """Build the app; ``overrides`` replace fields of ``config`` (handy in tests)."""
    from dataclasses import replace

    config = config or AppConfig()
    if overrides:
        config = replace(config, **overrides)
    return FastApplyApp(config)
