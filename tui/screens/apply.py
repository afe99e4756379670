"""The apply screen: write the accepted hunks through ``fastapply.apply.apply_results``.

Shows what will be written, lets the user opt into a commit with an editable message, runs the
write in a worker (git hooks may take a while) and shows what happened. Undo (ctrl+z, an app
key) restores the last apply and its result appears here too; ctrl+s then applies again. When
the undone apply's commit is still HEAD and already holds the files, applying again with commit
ticked writes them and says so (``tui/recommit.py``); otherwise a refused commit says it was
the undo that left the files differing from that commit. Safety lives in the core: a file
changed since it was read is refused and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Static

from fastapply.apply import default_commit_message
from fastapply.tui.messages import ApplyDone, ApplyFailed
from fastapply.tui.screens._summary import describe_apply
from fastapply.tui.widgets.status_bar import StatusBar


class ApplyScreen(Screen[None]):
    CSS_PATH = "apply.tcss"
    BINDINGS = [
        Binding("ctrl+s", "apply", "apply"),
        Binding("ctrl+n", "new_edit", "new edit"),
        Binding("escape", "back", "back to review"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.applying = False
        self.record: Any = None

    @property
    def session(self) -> Any:
        return self.app.session  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Vertical(id="apply-body"):
            yield Label("apply", classes="section-title")
            yield Static(self._plan(), id="apply-plan")
            yield Checkbox("commit the written files", id="apply-commit")
            # select_on_focus off: tabbing in must not let the first key replace the message
            yield Input(
                default_commit_message(self.session.instruction),
                id="apply-message",
                disabled=True,
                select_on_focus=False,
            )
            with Horizontal(id="apply-buttons"):
                yield Button("Apply", id="apply-go", variant="primary")
                yield Button("New edit", id="apply-new")
            yield Static("", id="apply-result")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#apply-go", Button).focus()

    def _plan(self) -> Table:
        table = Table(box=None, expand=True, show_edge=False, pad_edge=False)
        table.add_column("file", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("hunks", justify="right", no_wrap=True)
        for result in self.session.reviewable():
            accepted, total = self.session.counts(result.path)
            if self.session.blocked(result.path):
                # its checks failed and ! was not pressed in review: it is not written
                table.add_row(Text(result.path, style="dim"), Text("checks failed: not applied", style="bold red"))
                continue
            style = "" if accepted else "dim"
            table.add_row(Text(result.path, style=style), Text(f"{accepted}/{total}", style=style))
        return table

    @on(Checkbox.Changed, "#apply-commit")
    def _commit_toggled(self, event: Checkbox.Changed) -> None:
        self.query_one("#apply-message", Input).disabled = not event.value

    @on(Button.Pressed, "#apply-go")
    def _go(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#apply-new")
    def _new(self) -> None:
        self.action_new_edit()

    @on(Input.Submitted, "#apply-message")
    def _message_submitted(self) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        if self.applying:
            return
        if self.record is not None:
            self.notify("already applied: ctrl+z undoes, ctrl+n starts a new edit", severity="warning")
            return
        commit = self.query_one("#apply-commit", Checkbox).value
        message = self.query_one("#apply-message", Input).value.strip() or None
        self.applying = True
        self.query_one("#apply-result", Static).update("writing…")
        self._apply(self.session.to_apply(), self.session.accepted(), commit, message, self.session.instruction)

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def _apply(self, results: list[Any], accepted: dict[str, set[int]], commit: bool, message: str | None, instruction: str) -> None:
        from fastapply.apply import apply_results
        from fastapply.tui.recommit import held_by_head, undo_note

        held: str | None = None
        try:
            held = held_by_head(results, accepted) if commit else None
            record = apply_results(
                results, accepted=accepted, commit=commit and held is None, message=message, instruction=instruction
            )
        except Exception as exc:  # refusals and git failures are shown, never raised
            error = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
            if commit and held is None:
                error += undo_note(self.session.repo_root, self.session.undone_commit)
            self.post_message(ApplyFailed(error))
            return
        self.post_message(ApplyDone(record, held))

    def on_apply_done(self, message: ApplyDone) -> None:
        self.applying = False
        self.record = message.record
        self.session.applied = bool(getattr(message.record, "files", []))
        text = describe_apply(message.record, message.held_by)
        self.query_one("#apply-result", Static).update(Text(text, style="bold green"))
        self.notify(text, title="applied")

    def on_apply_failed(self, message: ApplyFailed) -> None:
        self.applying = False
        self.query_one("#apply-result", Static).update(Text(f"not applied: {message.error}", style="bold red"))
        self.notify(message.error, title="apply refused", severity="error", timeout=10)

    def show_undo(self, report: Any, text: str) -> None:
        """An undo ran: when it restored this screen's apply, that apply can be made again."""
        if getattr(report, "status", "") == "undone" and self.record is not None:
            if getattr(report, "apply_id", None) == getattr(self.record, "id", None):
                self.record = None
                self.session.applied = False
                text += " · ctrl+s applies again"
        self.query_one("#apply-result", Static).update(Text(f"undo: {text}", style="bold yellow"))

    def action_back(self) -> None:
        if self.applying:
            return
        if self.record is not None:
            self.action_new_edit()
            return
        self.app.pop_screen()

    def action_new_edit(self) -> None:
        """Back to the picker with a clean session (after an apply, or to abandon this one,
        asking first when unapplied rewrites would be lost)."""
        if self.applying:
            return
        lost = self.app.unapplied()  # type: ignore[attr-defined]
        if not lost:
            self._new_edit()
            return
        from fastapply.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._new_edit()

        plural = "s" if lost != 1 else ""
        self.app.push_screen(ConfirmScreen(f"Start a new edit and drop {lost} unapplied rewrite{plural}?"), answered)

    def _new_edit(self) -> None:
        from fastapply.tui.screens.pick import PickScreen

        self.session.reset()
        while len(self.app.screen_stack) > 2 and not isinstance(self.app.screen, PickScreen):
            self.app.pop_screen()
        if isinstance(self.app.screen, PickScreen):
            self.app.screen.action_refresh()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            ("Apply now", "Write the accepted hunks", self.action_apply),
            ("New edit", "Start again from the file picker", self.action_new_edit),
        ]
