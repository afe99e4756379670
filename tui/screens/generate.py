"""The generate screen: run the core's edit loop over the selected files and show it streaming.

The run is ``fastapply.batch.run_edits`` (never written from here: ``write=False``) in a daemon
thread, fed a ``ScreenEvents`` that posts messages; this screen turns them into a table of
per-file state, tokens/s and draft acceptance, a progress bar beside a speed sparkline of the
file streaming (or highlighted), the reason of the highlighted file and the live text. A file
over the model's context is refused before anything is sent. The engine's one-off draft-width
measurement is shown on the file's row and the run's line, and kept out of the file's figures.
Escape or ctrl+c cancels within the engine's next check (between forwards, the measurement's
included); a run that has not stopped half a second later (one wide forward of a big model on a
CPU can take longer) is let go of and its later messages are ignored; because the thread is a
daemon, quitting never waits on it. ``r`` runs again the files that were cancelled, not run, cut
off or failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from fastapply.tui.messages import (
    DraftMeasured,
    DraftMeasuring,
    FileFinished,
    FileRetrying,
    FileStarted,
    GenerationDone,
    TextStreamed,
)
from fastapply.tui.screens._progress import (
    LIVE_STATES,
    PENDING_STATES,
    RETRY_STATES,
    FileProgress,
    progress_line,
    reason_line,
    row_cells,
    total_line,
)
from fastapply.tui.screens._worker import from_current_run
from fastapply.tui.widgets.run_table import RunTable
from fastapply.tui.widgets.speed_line import SpeedLine
from fastapply.tui.widgets.status_bar import StatusBar
from fastapply.tui.widgets.stream_view import StreamView

TICK_SECONDS = 0.5
LET_GO_SECONDS = 0.5  # after a cancel, how long a run may take to stop before the screen ends it


class GenerateScreen(Screen[None]):
    CSS_PATH = "generate.tcss"
    BINDINGS = [
        Binding("escape", "cancel_or_back", "cancel / back"),
        Binding("ctrl+c", "interrupt", "cancel", show=False, priority=True),
        Binding("enter", "review", "review", priority=True),
        Binding("r", "retry", "retry"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.progress: dict[str, FileProgress] = {}
        self.texts: dict[str, list[str]] = {}
        self.current: str | None = None
        self.running = False
        self.finished = False
        self.cancelled = False
        self.error = ""
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._sent_at: dict[str, float] = {}
        self._ticker: Timer | None = None
        self.run_number = 0  # messages stamped with another number are from a run let go of

    @property
    def session(self) -> Any:
        return self.app.session  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        first = self.session.instruction.splitlines()[0] if self.session.instruction else ""
        yield StatusBar()
        yield Static(Text(first, no_wrap=True, overflow="ellipsis"), id="gen-instruction")
        yield RunTable(id="gen-files")
        yield SpeedLine(id="gen-progress-row")
        yield Static("", id="gen-total")
        yield Static("", id="gen-reason")
        yield StreamView(id="gen-stream")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        root = self.session.repo_root
        table = self.query_one(RunTable)
        for path in self.session.selected:
            try:
                size = (root / path).stat().st_size
            except OSError:
                size = 1
            self.progress[path] = FileProgress(path, size)
            self.texts[path] = []
            table.add_file(path, row_cells(self.progress[path]))
        self._refresh_totals()
        self.watch(self.app, "model_state", self._model_state_changed)

    def on_unmount(self) -> None:
        self._cancel.set()  # leaving the screen (or quitting) stops the run
        self.app.model_busy = ""  # type: ignore[attr-defined]

    def _model_state_changed(self, state: str) -> None:
        if self.running or self.finished:
            return
        if state == "ready":
            self._start(list(self.session.selected))
        elif state == "failed":
            error = getattr(self.app, "model_error", "")
            self._total(Text(f"the model failed to load: {error}", style="bold red"))
        else:
            self._total("waiting for the model to load…")

    # -- the run -------------------------------------------------------------------------------

    def follow_up(self, text: str, predictions: dict[str, str]) -> None:
        """Run the reviewed files again with ``text`` added, drafting from their rewrites."""
        from fastapply.tui.predicting import follow_up_instruction

        self.session.instruction = follow_up_instruction(self.session.instruction, text)
        self.session.applied = False
        for path in predictions:
            self.session.decisions.pop(path, None)
        first = text.strip().splitlines()[0] if text.strip() else ""
        self.query_one("#gen-instruction", Static).update(Text(f"… {first}", no_wrap=True, overflow="ellipsis"))
        self._start(list(predictions), predictions)

    def _start(self, paths: list[str], predictions: dict[str, str] | None = None) -> None:
        from fastapply.tui.predicting import PredictingBackend
        from fastapply.tui.screens._worker import run_generation, stamped

        app: Any = self.app
        self.running, self.finished, self.cancelled, self.error = True, False, False, ""
        self.run_number += 1
        self._cancel = threading.Event()
        app.track_cancel(self._cancel)
        for path in paths:
            self.progress[path] = FileProgress(path, self.progress[path].size)
            self.texts[path] = []
            self.session.results.pop(path, None)
            self.session.forced.discard(path)  # a new result is blocked again until ! is pressed
            self._update_row(self.progress[path])
        self._refresh_totals()
        self.refresh_bindings()
        if self._ticker is None:
            self._ticker = self.set_interval(TICK_SECONDS, self._tick)
        self._thread = threading.Thread(
            target=run_generation,
            args=(
                stamped(self.post_message, self.run_number), app.config,
                PredictingBackend(app.backend, predictions) if predictions else app.backend,
                app.repo, paths, self.session.instruction, self._cancel,
            ),
            name="fastapply-generate",
            daemon=True,  # an engine that ignores cancel must never keep the process alive
        )
        self._thread.start()

    # -- messages from the worker -------------------------------------------------------------

    @from_current_run
    def on_file_started(self, message: FileStarted) -> None:
        self.current = message.path
        entry = self.progress[message.path]
        entry.state = "starting"
        # Wall time, not config.clock: that clock is the worker's (a test's ticking clock makes
        # rates reproducible only if the UI thread never calls it).
        self._sent_at[message.path] = time.monotonic()
        self._update_row(entry)
        self.query_one(RunTable).move_to(message.path)
        self.query_one(StreamView).show_text(f"{message.path} ({message.index + 1}/{message.total})", "")
        self.query_one(SpeedLine).show_speeds(entry.speeds)
        self._refresh_totals()

    @from_current_run
    def on_draft_measuring(self, message: DraftMeasuring) -> None:
        entry = self.progress.get(message.path)
        if entry is None or entry.state != "starting":
            return
        entry.state, entry.measured = "measuring", True
        self._sent_at[message.path] = time.monotonic()  # the row counts the measurement's seconds
        self.app.model_busy = "measuring draft widths"  # type: ignore[attr-defined]
        self._update_row(entry)
        self._refresh_totals()

    @from_current_run
    def on_draft_measured(self, message: DraftMeasured) -> None:
        entry = self.progress.get(message.path)
        if entry is not None:
            entry.measure_seconds = message.seconds

    @from_current_run
    def on_text_streamed(self, message: TextStreamed) -> None:
        entry = self.progress[message.path]
        first = entry.state != "streaming"
        if entry.state == "measuring":
            self.app.model_busy = ""  # type: ignore[attr-defined]
        entry.streamed(message.chars, message.seconds)
        self.texts[message.path].append(message.text)
        if message.path == self.current:
            self.query_one(StreamView).append(message.text)
            self.query_one(SpeedLine).show_speeds(entry.speeds)
        self._update_row(entry, reason=first)  # the reason line changes only with the state
        self._refresh_totals()

    @from_current_run
    def on_file_retrying(self, message: FileRetrying) -> None:
        entry = self.progress[message.path]
        entry.retrying(message.attempt, message.failed)
        self.texts[message.path] = []  # the new attempt's text replaces the failed one
        if message.path == self.current:
            self.query_one(StreamView).show_text(f"{message.path} (attempt {message.attempt})", "")
        self._update_row(entry)
        self._refresh_totals()

    @from_current_run
    def on_file_finished(self, message: FileFinished) -> None:
        result = message.result
        self.session.results[message.path] = result
        entry = self.progress[message.path]
        entry.finished(result)
        self._update_row(entry)
        self._refresh_totals()
        if entry.state == "check failed" and self.session.blocked(message.path):
            self.notify(f"{message.path}: {entry.reason}; review shows the checks (! applies it anyway)", severity="warning", timeout=6)
        elif entry.state not in ("done", "unchanged") and entry.reason:
            self.notify(f"{message.path}: {entry.reason}", severity="warning", timeout=4)

    def on_generation_done(self, message: GenerationDone) -> None:
        # a run let go of has stopped too: its measurement is over
        self.app.model_busy = ""  # type: ignore[attr-defined]
        if getattr(message, "run", self.run_number) != self.run_number:
            return
        self.running = False
        self.finished = True
        self.cancelled = message.cancelled
        self.error = message.error
        for entry in self.progress.values():
            if entry.state == "waiting":
                entry.state = "not run"
            elif entry.state in LIVE_STATES:
                entry.state, entry.reason = "cancelled", entry.reason or "cancelled"
            self._update_row(entry)
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        if message.error:
            self.notify(message.error, title="the run failed", severity="error", timeout=10)
        self._refresh_totals()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#gen-files")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        path = event.row_key.value
        if path is None:
            return
        self._show_reason(str(path))
        if path == self.current or not self.finished:
            return
        self.current = str(path)
        self.query_one(SpeedLine).show_speeds(self.progress[self.current].speeds)
        self.query_one(StreamView).show_text(self.current, "".join(self.texts.get(self.current, [])))

    # -- display -------------------------------------------------------------------------------

    def _tick(self) -> None:
        for entry in self.progress.values():
            if entry.state in PENDING_STATES:
                self._update_row(entry, reason=False)

    def _elapsed(self, path: str) -> float | None:
        sent = self._sent_at.get(path)
        return None if sent is None else time.monotonic() - sent

    def _update_row(self, entry: FileProgress, *, reason: bool = True) -> None:
        table = self.query_one(RunTable)
        now = self._elapsed(entry.path) if entry.state in PENDING_STATES else None
        table.show(entry.path, row_cells(entry, now))
        if reason and table.highlighted() == entry.path:
            self._show_reason(entry.path)

    def _show_reason(self, path: str) -> None:
        entry = self.progress.get(path)
        if entry is not None:
            self.query_one("#gen-reason", Static).update(reason_line(entry), layout=False)

    def _total(self, line: str | Text) -> None:
        self.query_one("#gen-total", Static).update(line, layout=False)

    def _refresh_totals(self) -> None:
        entries = list(self.progress.values())
        fraction = sum(e.fraction for e in entries) / max(1, len(entries))
        # fixed-size lines updated without a layout pass: a relayout per update is what made
        # typing lag behind a fast stream
        self.query_one(SpeedLine).show_progress(progress_line(fraction))
        ready = len(self.session.reviewable()) if self.finished else 0
        self._total(total_line(entries, running=self.running, finished=self.finished, ready=ready))

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("review", "retry") and not self.finished:
            return False  # hidden from the footer (and inactive) while the run goes on
        return True

    def action_cancel_or_back(self) -> None:
        if self.running:
            self._cancel_run()
            return
        lost = len(self.session.reviewable())
        if not lost:
            self.app.pop_screen()
            return
        from fastapply.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.session.drop_results()  # dropped: quitting later has nothing left to ask about
                self.app.pop_screen()

        self.app.push_screen(ConfirmScreen(f"Go back and drop {lost} unreviewed rewrite{'s' if lost != 1 else ''}?"), answered)

    async def action_interrupt(self) -> None:
        if self.running:
            self._cancel_run()
        else:
            await self.app.action_quit()  # asks first when rewrites would be lost

    def _cancel_run(self) -> None:
        self._cancel.set()
        self._total("cancelling…")
        self.set_timer(LET_GO_SECONDS, lambda run=self.run_number: self._let_go(run))

    def _let_go(self, run: int) -> None:
        """End run ``run`` here when it has not stopped since the cancel; ignore the rest of it."""
        if not self.running or run != self.run_number:
            return
        self.run_number += 1
        measuring = [e for e in self.progress.values() if e.state == "measuring"]
        for entry in measuring:
            entry.reason = (
                "cancelled while measuring draft widths; the forward under way finishes first (a retry waits for it)"
            )
        self.on_generation_done(GenerationDone(cancelled=True))
        if measuring:
            self.app.model_busy = "measuring draft widths"  # type: ignore[attr-defined]  # until its run ends

    def action_retry(self) -> None:
        if self.running:
            self.notify("still generating (escape cancels)", severity="warning")
            return
        paths = [p for p, e in self.progress.items() if e.state in RETRY_STATES]
        if not paths:
            self.notify("nothing to retry: no file was cancelled, cut off or failed", severity="warning")
            return
        if getattr(self.app, "backend", None) is None:
            self.notify("the model is not loaded", severity="warning")
            return
        self._start(paths)

    def action_review(self) -> None:
        if not self.finished:
            self.notify("still generating (escape cancels)", severity="warning")
            return
        if not self.session.reviewable():
            self.notify("nothing to review: no file finished with changes", severity="warning")
            return
        from fastapply.tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen())

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            ("Cancel generation", "Stop the rewrite (escape)", self.action_cancel_or_back),
            ("Retry", "Run again the files that were cancelled, not run, cut off or failed", self.action_retry),
            ("Review", "Review the finished rewrites", self.action_review),
        ]
