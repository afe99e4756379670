"""The generate screen: rewrite each selected file in a worker and show the text as it streams.

The worker calls ``fastapply.edit.edit_file`` file by file in a thread, coalesces the streamed
text to ~30 updates a second and only posts messages; this screen turns them into a table of
per-file state, tokens/s and draft acceptance, a progress bar, and the live text. Escape cancels;
a cancelled or cut-off file is marked and never reaches the review. It does not write files.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.progress_bar import ProgressBar as RichProgressBar
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from fastapply.tui._coalesce import Coalescer
from fastapply.tui.messages import (
    FileFailed,
    FileFinished,
    FileStarted,
    GenerationDone,
    TextStreamed,
)
from fastapply.tui.session import is_reviewable
from fastapply.tui.widgets.status_bar import StatusBar
from fastapply.tui.widgets.stream_view import StreamView

CHARS_PER_TOKEN = 4  # live rates are estimated from characters; exact stats arrive per file


@dataclass
class FileProgress:
    path: str
    size: int
    state: str = "waiting"  # waiting, streaming, done, unchanged, cancelled, cut off, refused, failed
    chars: int = 0
    seconds: float = 0.0
    tokens: int = 0
    tokens_per_second: float = 0.0
    acceptance: float | None = None
    exact: bool = False
    reason: str = ""

    @property
    def fraction(self) -> float:
        if self.state not in ("waiting", "streaming"):
            return 1.0
        return min(0.99, self.chars / max(1, self.size))


STATE_STYLE = {
    "waiting": "dim",
    "streaming": "bold yellow",
    "done": "bold green",
    "unchanged": "green",
    "cancelled": "bold red",
    "cut off": "bold red",
    "refused": "bold red",
    "failed": "bold red",
}


def result_state(result: Any) -> str:
    if is_reviewable(result):
        return "done"
    if result.finish_reason == "cancelled":
        return "cancelled"
    if result.finish_reason == "length":
        return "cut off"
    if result.status == "unchanged":
        return "unchanged"
    return result.status if result.status in ("refused", "failed") else "failed"


def progress_line(fraction: float, width: int = 40) -> Table:
    bar = Table.grid(padding=(0, 1))
    bar.add_column(width=width)
    bar.add_column(justify="right", width=4)
    bar.add_row(RichProgressBar(total=100, completed=fraction * 100, width=width), f"{fraction:.0%}")
    return bar


class GenerateScreen(Screen[None]):
    CSS_PATH = "generate.tcss"
    BINDINGS = [
        Binding("escape", "cancel_or_back", "cancel / back"),
        Binding("enter", "review", "review", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.progress: dict[str, FileProgress] = {}
        self.texts: dict[str, list[str]] = {}
        self.current: str | None = None
        self.running = False
        self.finished = False
        self.cancelled = False
        self._cancel = threading.Event()

    @property
    def session(self) -> Any:
        return self.app.session  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(Text(self.session.instruction.splitlines()[0] if self.session.instruction else "", no_wrap=True, overflow="ellipsis"), id="gen-instruction")
        table: DataTable[Any] = DataTable(id="gen-files", cursor_type="row")
        table.add_column("file", key="file")
        table.add_column("state", key="state", width=9)
        table.add_column("tok/s", key="tps", width=7)
        table.add_column("accept", key="accept", width=6)
        table.add_column("done", key="done", width=4)
        yield table
        yield Static("", id="gen-progress")
        yield Static("", id="gen-total")
        yield StreamView(id="gen-stream")
        yield Footer()

    def on_mount(self) -> None:
        root = self.session.repo_root
        table = self.query_one("#gen-files", DataTable)
        for path in self.session.selected:
            try:
                size = (root / path).stat().st_size
            except OSError:
                size = 1
            self.progress[path] = FileProgress(path, size)
            self.texts[path] = []
            table.add_row(*self._cells(self.progress[path]), key=path)
        self._refresh_totals()
        self.watch(self.app, "model_state", self._model_state_changed)

    def on_unmount(self) -> None:
        self._cancel.set()  # leaving the screen (or quitting) stops the worker

    def _model_state_changed(self, state: str) -> None:
        if self.running or self.finished:
            return
        if state == "ready":
            self._start()
        elif state == "failed":
            error = getattr(self.app, "model_error", "")
            self.query_one("#gen-total", Static).update(Text(f"the model failed to load: {error}", style="bold red"))
        else:
            self.query_one("#gen-total", Static).update("waiting for the model to load…")

    def _start(self) -> None:
        self.running = True
        app: Any = self.app
        self._generate(app.backend, app.repo, list(self.session.selected), self.session.instruction)

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False)
    def _generate(self, backend: Any, repo: Any, paths: list[str], instruction: str) -> None:
        """Rewrite each file in turn; only posts messages, stops early when cancelled."""
        from fastapply.edit import EditOptions, EditRequest, edit_file

        config: Any = self.app.config  # type: ignore[attr-defined]
        clock: Callable[[], float] = config.clock
        options = EditOptions(max_new_tokens=config.max_new_tokens)
        for index, path in enumerate(paths):
            if self._cancel.is_set():
                break
            self.post_message(FileStarted(path, index, len(paths)))
            started = clock()
            total = 0

            def emit(text: str, path: str = path, started: float = started) -> None:
                nonlocal total
                total += len(text)
                self.post_message(TextStreamed(path, text, total, clock() - started))

            coalescer = Coalescer(emit, interval=config.stream_interval, clock=clock)
            try:
                result = edit_file(
                    backend,
                    EditRequest(path=str(repo.root / path), instruction=instruction, options=options),
                    repo=repo,
                    on_text=coalescer.push,
                    cancel=self._cancel,
                )
            except Exception as exc:  # one file's failure is reported; the others go on
                coalescer.flush()
                self.post_message(FileFailed(path, f"{type(exc).__name__}: {exc}"))
                continue
            coalescer.flush()
            self.post_message(FileFinished(path, result, clock() - started))
        self.post_message(GenerationDone(self._cancel.is_set()))

    # -- messages from the worker -------------------------------------------------------------

    def on_file_started(self, message: FileStarted) -> None:
        self.current = message.path
        entry = self.progress[message.path]
        entry.state = "streaming"
        self._update_row(entry)
        table = self.query_one("#gen-files", DataTable)
        table.move_cursor(row=message.index)
        self.query_one(StreamView).show_text(f"{message.path} ({message.index + 1}/{message.total})", "")

    def on_text_streamed(self, message: TextStreamed) -> None:
        entry = self.progress[message.path]
        entry.chars = message.chars
        entry.seconds = message.seconds
        entry.tokens = message.chars // CHARS_PER_TOKEN
        entry.tokens_per_second = entry.tokens / message.seconds if message.seconds > 0 else 0.0
        self.texts[message.path].append(message.text)
        if message.path == self.current:
            self.query_one(StreamView).append(message.text)
        self._update_row(entry)
        self._refresh_totals()

    def on_file_finished(self, message: FileFinished) -> None:
        result = message.result
        self.session.results[message.path] = result
        entry = self.progress[message.path]
        entry.state = result_state(result)
        entry.reason = result.reason
        stats = result.stats
        if stats is not None:
            entry.tokens = stats.tokens
            entry.seconds = stats.seconds
            entry.tokens_per_second = stats.tokens_per_second
            entry.acceptance = stats.acceptance if stats.draft_proposed else None
            entry.exact = True
        self._update_row(entry)
        self._refresh_totals()
        if entry.state not in ("done", "unchanged") and entry.reason:
            self.notify(f"{message.path}: {entry.reason}", severity="warning", timeout=6)

    def on_file_failed(self, message: FileFailed) -> None:
        entry = self.progress[message.path]
        entry.state, entry.reason = "failed", message.error
        self._update_row(entry)
        self._refresh_totals()
        self.notify(f"{message.path}: {message.error}", severity="error", timeout=10)

    def on_generation_done(self, message: GenerationDone) -> None:
        self.running = False
        self.finished = True
        self.cancelled = message.cancelled
        for entry in self.progress.values():
            if entry.state in ("waiting", "streaming"):
                entry.state = "cancelled"
                self._update_row(entry)
        self._refresh_totals()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#gen-files")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        path = event.row_key.value
        if path is None or path == self.current or not self.finished:
            return
        self.current = str(path)
        self.query_one(StreamView).show_text(self.current, "".join(self.texts.get(self.current, [])))

    # -- display -------------------------------------------------------------------------------

    def _cells(self, entry: FileProgress) -> tuple[Any, ...]:
        tps = "" if entry.tokens_per_second <= 0 else f"{'' if entry.exact else '~'}{entry.tokens_per_second:,.0f}"
        accept = "" if entry.acceptance is None else f"{entry.acceptance:.0%}"
        return (
            Text(entry.path, no_wrap=True, overflow="ellipsis"),
            Text(entry.state, style=STATE_STYLE.get(entry.state, "")),
            Text(tps, justify="right"),
            Text(accept, justify="right"),
            Text(f"{entry.fraction:.0%}", justify="right"),
        )

    def _update_row(self, entry: FileProgress) -> None:
        table = self.query_one("#gen-files", DataTable)
        for key, value in zip(("file", "state", "tps", "accept", "done"), self._cells(entry)):
            table.update_cell(entry.path, key, value)

    def _refresh_totals(self) -> None:
        entries = list(self.progress.values())
        done = sum(1 for e in entries if e.state not in ("waiting", "streaming"))
        fraction = sum(e.fraction for e in entries) / max(1, len(entries))
        # fixed-size lines updated without a layout pass: a relayout per update is what made
        # typing lag behind a fast stream
        self.query_one("#gen-progress", Static).update(progress_line(fraction), layout=False)
        tokens = sum(e.tokens for e in entries)
        seconds = sum(e.seconds for e in entries)
        rate = f"{tokens / seconds:,.0f} tok/s" if seconds > 0 else "– tok/s"
        line = f"{done}/{len(entries)} files · {tokens:,} tokens · {rate}"
        if self.finished:
            ready = len(self.session.reviewable())
            line += f" · {ready} to review"
            line += " · cancelled" if self.cancelled else ""
            line += " · enter: review" if ready else " · escape: back"
        elif self.running:
            line += " · escape: cancel"
        self.query_one("#gen-total", Static).update(line, layout=False)

    # -- actions -------------------------------------------------------------------------------

    def action_cancel_or_back(self) -> None:
        if self.running:
            self._cancel.set()
            self.query_one("#gen-total", Static).update("cancelling…")
            return
        self.app.pop_screen()

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
            ("Review", "Review the finished rewrites", self.action_review),
        ]
