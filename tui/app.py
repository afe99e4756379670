"""The thin Textual app: holds the session and the model, and opens the first screen.

Screens do the work (pick, instruct, generate, review, apply); the app only loads the model in a
background thread through ``fastapply.backend.load_model`` (the CLI's seam), keeps the model's
state for the status bar, offers app-wide keys (help, undo, palette, quit) and the model switch
(local models, and the server the configuration names: ``tui/model_switch.py``), and turns
worker failures into notifications. Quitting cancels every generation in flight and asks first only
when unapplied rewrites would be lost. ``create_app`` is the factory the CLI, the tests and the
latency script share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from fastapply.remote.options import RemoteOptions
from fastapply.tui.config import AppConfig
from fastapply.tui.messages import ModelLoaded, ModelLoadFailed, UndoDone, UndoFailed
from fastapply.tui.model_switch import configured_endpoint
from fastapply.tui.session import Session


SLOW_LOAD_SECONDS = 8.0


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
        # priority: ctrl+z undoes the apply on every screen, never the typing in an input
        # shown in the help screen; the footer keeps its 80 columns for each screen's own keys
        Binding("ctrl+z", "undo", "undo apply", priority=True, show=False),
        Binding("ctrl+q", "quit", "quit", priority=True, show=False),
        Binding("ctrl+c", "quit", "quit", show=False),
    ]

    model_state: reactive[str] = reactive("loading")
    """``loading``, ``ready`` or ``failed``; the status bar watches it."""
    model_busy: reactive[str] = reactive("")
    """What a ready model is doing besides generating (its one-off draft-width measurement)."""

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
        self._cancels: list[threading.Event] = []
        self._load_started = 0.0
        self._load_number = 0  # only the newest load's outcome counts (a switch supersedes)
        self._endpoint = configured_endpoint(config)  # the server the switch offers, if any

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

    def load_model(self) -> None:
        """Load the backend in a daemon thread (quitting never waits on a load); only posts."""
        self._load_started = time.monotonic()
        self._load_number += 1
        threading.Thread(target=self._load, args=(self._load_number,), name="fastapply-load", daemon=True).start()
        self.set_timer(SLOW_LOAD_SECONDS, self._slow_load_hint)

    def _load(self, number: int) -> None:
        from fastapply import backend as backend_module
        from fastapply.tui.model_hint import uncached_hub_id

        remote = self.config.remote
        hint = None if remote is not None else uncached_hub_id(self.config.model)
        if hint:
            self.call_from_thread(self.notify, hint, title="loading", severity="warning", timeout=15)
        # remote= only when a server is named or local is forced, as the CLI passes it
        extra: dict[str, Any] = {"remote": remote} if remote is not None else {}
        if remote is None and self.config.local:
            extra["remote"] = False
        try:
            backend = backend_module.load_model(
                self.config.model or None, device=self.config.device, dtype=self.config.dtype, **extra
            )
        except Exception as exc:  # any failure to load becomes a notification, not a crash
            self.post_message(ModelLoadFailed(_describe(exc), number))
            return
        self.post_message(ModelLoaded(backend, number))

    def _slow_load_hint(self) -> None:
        if self.model_state == "loading" and time.monotonic() - self._load_started >= SLOW_LOAD_SECONDS:
            self.notify(
                f"still loading after {SLOW_LOAD_SECONDS:.0f}s: a model not on this machine is fetched "
                "(or retried) over the network; HF_HUB_OFFLINE=1 makes that fail at once",
                title="loading",
                timeout=10,
            )

    def on_model_loaded(self, message: ModelLoaded) -> None:
        if message.load != self._load_number:
            return  # a model the user has since switched away from
        backend = message.backend
        self.backend = backend
        self.model_name = str(getattr(backend, "name", self.config.model))
        self.model_device = str(getattr(backend, "device", self.model_device))
        self.model_dtype = str(getattr(backend, "dtype", self.model_dtype))
        self.model_state = "ready"

    def on_model_load_failed(self, message: ModelLoadFailed) -> None:
        if message.load != self._load_number:
            return
        self.model_error = message.error
        self.model_state = "failed"
        self.notify(message.error, title="model failed to load", severity="error", timeout=15)

    # -- app-wide actions ----------------------------------------------------------------------

    def action_reload_model(self) -> None:
        self.model_error = ""
        self.model_state = "loading"
        self.load_model()

    def action_switch_model(self) -> None:
        from fastapply.models import local_models
        from fastapply.tui.model_switch import model_choices
        from fastapply.tui.screens.finder import FinderScreen

        choices = {c.label: c for c in model_choices(self.config, [s for s, _ in local_models()], self._endpoint)}
        title = "switch model (local models, and the configured server; enter loads it)"

        def chosen(label: str | None) -> None:
            choice = choices.get(label or "")
            if choice is not None:
                self.switch_model(choice.model, remote=choice.remote)

        self.push_screen(FinderScreen(list(choices), title=title), chosen)

    def switch_model(self, spec: str, *, remote: RemoteOptions | None = None) -> None:
        """Load ``spec`` instead of the current model, on ``remote`` when given (not while a
        generation runs)."""
        from dataclasses import replace

        if any(getattr(screen, "running", False) for screen in self.screen_stack):
            self.notify("a generation is running: cancel it first", severity="warning")
            return
        # a local choice stays local even while FASTAPPLY_API_BASE names a server
        self.config = replace(self.config, model=spec, remote=remote, local=remote is None)
        self.backend = None
        self.model_name = spec
        self.model_device = self.config.device or "auto"
        self.model_dtype = self.config.dtype or "auto"
        self.action_reload_model()

    def action_help(self) -> None:
        from fastapply.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def track_cancel(self, cancel: threading.Event) -> None:
        """Remember a generation's cancel event, so quitting stops it."""
        self._cancels = [c for c in self._cancels if not c.is_set()] + [cancel]

    def unapplied(self) -> int:
        session = self.session
        return 0 if session is None or session.applied else len(session.reviewable())

    async def action_quit(self) -> None:
        lost = self.unapplied()
        if not lost:
            self._quit_now()
            return
        from fastapply.tui.screens.confirm import ConfirmScreen

        if isinstance(self.screen, ConfirmScreen):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._quit_now()

        plural = "s" if lost != 1 else ""
        self.push_screen(ConfirmScreen(f"Quit and lose {lost} unapplied rewrite{plural}?"), answered)

    def _quit_now(self) -> None:
        for cancel in self._cancels:
            cancel.set()
        self.exit()

    def action_undo(self) -> None:
        if self.repo is None:
            self.notify("no repository open", severity="warning")
            return
        self.undo_last()

    @work(thread=True, exclusive=True, group="undo", exit_on_error=False)
    def undo_last(self) -> None:
        from fastapply.undo import list_applies, undo_last

        try:
            pending = [r for r in list_applies(self.repo.root) if not r.undone]
            commit = getattr(pending[0], "commit", None) if pending else None
            report = undo_last(self.repo.root)
        except Exception as exc:  # a refused or failed undo is shown, never raised
            self.post_message(UndoFailed(_describe(exc)))
            return
        self.post_message(UndoDone(report, commit if getattr(report, "status", "") == "undone" else None))

    def on_undo_done(self, message: UndoDone) -> None:
        from fastapply.tui.screens._summary import describe_undo
        from fastapply.tui.screens.pick import PickScreen

        text = describe_undo(message.report, message.commit)
        if message.commit and self.session is not None:
            self.session.undone_commit = message.commit
        self.notify(text, title="undo", timeout=10 if message.commit else 5)
        for screen in self.screen_stack:
            show = getattr(screen, "show_undo", None)
            if show is not None:
                show(message.report, text)
            if isinstance(screen, PickScreen):
                screen.action_refresh()  # the badges follow the files back

    def on_undo_failed(self, message: UndoFailed) -> None:
        self.notify(message.error, title="undo failed", severity="error", timeout=10)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "List every key", self.action_help)
        yield SystemCommand("Undo last apply", "Restore the files of the last apply", self.action_undo)
        yield SystemCommand("Reload model", "Load the model again", self.action_reload_model)
        yield SystemCommand(
            "Switch model", "Load another local model (fastapply models lists them) or the configured server",
            self.action_switch_model,
        )
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
