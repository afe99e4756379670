"""The review screen: walk the hunks of each finished rewrite and accept or reject them.

Decisions live in the session; the screen shows one file at a time in a ``DiffView`` (unified or
side by side) beside a list of the files (``f`` shows or hides it; wide terminals show it from
the start), counts accepted hunks, runs ``n``/``p`` on to the next or previous file past the last
or first hunk, and warns with a banner when the file changed on disk since it was read. ``e``
takes a rewrite through ``$EDITOR`` (``fastapply.tui.editor``), ``i`` asks for a follow-up that
the generate screen runs drafting from these rewrites, ``r`` goes back to retry what did not finish.
Each file's checks are shown above the diff (``fastapply.tui.screens._checks``); a file whose
checks failed is reviewed like any other but applied only after ``!`` was pressed for it. For ``review_grace`` seconds after it opens every key is ignored, so a key pressed
for the previous screen cannot approve anything. It does not write files: enter opens the apply
screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from fastapply.tui.widgets.diff_view import DiffView
from fastapply.tui.widgets.review_files import ReviewFiles
from fastapply.tui.widgets.status_bar import StatusBar

STALE_CHECK_SECONDS = 1.0
FILE_LIST_MIN_WIDTH = 110  # below this the diff needs the room: the list opens with f
HUNK = Binding.Group("hunk", compact=True)
DECIDE = Binding.Group("✓✗", compact=True)
DECIDE_FILE = Binding.Group("file✓✗", compact=True)
DECIDE_ALL = Binding.Group("all✓✗ ", compact=True)  # the space parts it from the next key
FILES = Binding.Group("file", compact=True)


class ReviewScreen(Screen[None]):
    CSS_PATH = "review.tcss"
    # groups keep the footer within 80 columns; the help screen lists each key on its own
    BINDINGS = [
        Binding("n,j", "move(1)", "next hunk", key_display="n", group=HUNK),
        Binding("p,k", "move(-1)", "prev hunk", key_display="p", group=HUNK),
        Binding("space", "decide(True)", "accept hunk", key_display="␣", group=DECIDE),
        Binding("x", "decide(False)", "reject hunk", group=DECIDE),
        Binding("a", "decide_file(True)", "accept file", group=DECIDE_FILE),
        Binding("d", "decide_file(False)", "reject file", group=DECIDE_FILE),
        Binding("A", "decide_all(True)", "accept all", group=DECIDE_ALL),
        Binding("D", "decide_all(False)", "reject all", group=DECIDE_ALL),
        Binding("right_square_bracket,tab", "file(1)", "next file", key_display="]", group=FILES),
        Binding("left_square_bracket,shift+tab", "file(-1)", "prev file", key_display="[", group=FILES),
        Binding("s", "toggle_split", "split", tooltip="side by side / unified diff"),
        Binding("f", "toggle_files", "files", show=False, tooltip="show / hide the file list"),
        Binding("e", "edit", "edit", show=False, tooltip="open the rewrite in $EDITOR and review the edited text"),
        Binding("i", "follow_up", "follow-up", show=False, tooltip="a follow-up instruction, drafted from these rewrites"),
        Binding("r", "retry", "retry", show=False, tooltip="back to generate and run again the files that did not finish"),
        Binding("exclamation_mark", "force", "apply anyway", key_display="!", show=False,
                tooltip="apply this file despite failing checks (press again to take it back)"),
        Binding("enter", "apply", "apply…"),
        Binding("escape", "back", "back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.file_index = 0
        self.split = False
        self.opened_at = time.monotonic()  # keys can arrive before on_mount: the grace starts here
        self.stale: set[str] = set()

    @property
    def session(self) -> Any:
        return self.app.session  # type: ignore[attr-defined]

    @property
    def results(self) -> list[Any]:
        return self.session.reviewable()

    @property
    def result(self) -> Any:
        return self.results[self.file_index]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="review-header")
        yield Static("", id="review-banner")
        yield Static("", id="review-checks")
        with Horizontal(id="review-body"):
            yield ReviewFiles(id="review-files")
            yield DiffView(id="diff")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self.opened_at = time.monotonic()
        wide = self.app.size.width >= FILE_LIST_MIN_WIDTH and len(self.results) > 1
        self.query_one(ReviewFiles).display = wide
        await self._show_file()
        self.query_one(DiffView).focus()
        self.set_interval(STALE_CHECK_SECONDS, self._check_stale)

    def in_grace(self) -> bool:
        grace: float = self.app.config.review_grace  # type: ignore[attr-defined]
        return time.monotonic() - self.opened_at < grace

    # -- display -------------------------------------------------------------------------------

    async def _show_file(self, *, last: bool = False) -> None:
        result = self.result
        cursor = len(result.hunks) - 1 if last else 0
        await self.query_one(DiffView).show(
            result, self.session.decisions.get(result.path, {}), split=self.split, cursor=cursor
        )
        self._check_stale()
        self._refresh_checks()
        self._refresh_header()

    def _refresh_checks(self) -> None:
        from fastapply.tui.screens._checks import checks_text

        result = self.result
        text = checks_text(result, forced=result.path in self.session.forced)
        pane = self.query_one("#review-checks", Static)
        pane.set_class(bool(text.plain), "-visible")
        pane.set_class(self.session.blocked(result.path), "-blocked")
        pane.update(text)

    def _refresh_files(self) -> None:
        rows = []
        for result in self.results:
            accepted, total = self.session.counts(result.path)
            rows.append((result.path, accepted, total, result.path in self.stale))
        files = self.query_one(ReviewFiles)
        with files.prevent(OptionList.OptionHighlighted):
            files.show(rows, self.file_index)

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.in_grace() or event.option_id is None:
            return
        paths = [r.path for r in self.results]
        if event.option_id in paths:
            self.file_index = paths.index(event.option_id)
            await self._show_file()
            self.query_one(DiffView).focus()

    def _check_stale(self) -> None:
        if self.file_index >= len(self.results):
            return  # a new edit emptied the session while this screen was being removed
        result = self.result
        try:
            changed = bool(result.changed_on_disk())
        except OSError:
            changed = True
        self.stale.discard(result.path)
        if changed:
            self.stale.add(result.path)
        banner = self.query_one("#review-banner", Static)
        banner.set_class(changed, "-visible")
        if changed:
            banner.update(f"⚠ {result.path} changed on disk since it was read: applying it will be refused")

    def _refresh_header(self) -> None:
        view = self.query_one(DiffView)
        result = self.result
        accepted, total = self.session.counts(result.path)
        all_accepted, all_total = self.session.counts()
        header = Text(no_wrap=True, overflow="ellipsis")
        header.append(f"file {self.file_index + 1}/{len(self.results)} ", style="bold")
        header.append(result.path, style="bold")
        header.append(f"  hunk {view.cursor + 1}/{view.hunk_count}")
        header.append(f"  accepted {accepted}/{total}", style="green" if accepted else "")
        header.append(f"  all {all_accepted}/{all_total}")
        header.append("  side by side" if self.split else "  unified", style="dim")
        self.query_one("#review-header", Static).update(header)
        self._refresh_files()

    # -- actions -------------------------------------------------------------------------------

    async def action_move(self, step: int) -> None:
        if self.in_grace():
            return
        view = self.query_one(DiffView)
        target = view.cursor + step
        if 0 <= target < view.hunk_count or len(self.results) < 2:
            view.move_cursor(target)
            self._refresh_header()
            return
        # past the last (or first) hunk: on to the next (or previous) file
        self.file_index = (self.file_index + step) % len(self.results)
        await self._show_file(last=step < 0)

    async def action_edit(self) -> None:
        """Open this rewrite in ``$EDITOR``; the edited text becomes the result to review."""
        from textual.app import SuspendNotSupported

        from fastapply.tui.editor import EditorError, edit_in_editor, with_text

        if self.in_grace():
            return
        result = self.result
        try:
            try:
                with self.app.suspend():
                    text = edit_in_editor(result.after, Path(result.path).suffix)
            except SuspendNotSupported:  # no terminal to hand over (headless): run it as is
                text = edit_in_editor(result.after, Path(result.path).suffix)
        except EditorError as exc:
            self.notify(str(exc), title="editor", severity="error", timeout=8)
            return
        if text == result.after:
            self.notify("no change in the editor")
            return
        edited = with_text(result, text)
        self.session.results[result.path] = edited
        self.session.decisions.pop(result.path, None)  # new hunks: nothing decided yet
        if not self.results:
            self.notify(f"{result.path}: {edited.reason}; nothing left to review")
            self.app.pop_screen()
            return
        paths = [r.path for r in self.results]
        self.file_index = paths.index(result.path) if result.path in paths else min(self.file_index, len(paths) - 1)
        await self._show_file()
        self.notify(f"{result.path}: {edited.reason}, {len(edited.hunks)} hunk(s) to review")

    def action_follow_up(self) -> None:
        """Ask for a follow-up; the generate screen runs it on the reviewed files' rewrites."""
        from fastapply.tui.screens.generate import GenerateScreen
        from fastapply.tui.screens.instruct import InstructScreen

        if self.in_grace():
            return
        predictions = {r.path: r.after for r in self.results}

        def sent(text: str | None) -> None:
            if not text:
                return
            self.app.pop_screen()  # this review: the results it shows are being replaced
            screen = self.app.screen
            if isinstance(screen, GenerateScreen):
                screen.follow_up(text, predictions)

        self.app.push_screen(InstructScreen(follow_up=True), sent)

    def action_retry(self) -> None:
        """Back to the generate screen, running again the files cancelled, cut off or failed."""
        from fastapply.tui.screens.generate import GenerateScreen

        if self.in_grace():
            return
        self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, GenerateScreen):
            screen.action_retry()

    def action_force(self) -> None:
        """Allow (or take back) applying this file although its last candidate failed its checks."""
        from fastapply.tui.session import is_check_failed

        if self.in_grace():
            return
        result = self.result
        if not is_check_failed(result):
            self.notify(f"{result.path}: its checks did not fail; nothing to force", severity="warning")
            return
        allowed = self.session.force(result.path)
        self._refresh_checks()
        self._refresh_header()
        if allowed:
            self.notify(f"{result.path}: will be applied despite failing checks", severity="warning")
        else:
            self.notify(f"{result.path}: not applied (its checks failed)")

    def action_toggle_files(self) -> None:
        files = self.query_one(ReviewFiles)
        files.display = not files.display

    def action_decide(self, accepted: bool) -> None:
        if self.in_grace():
            return
        view = self.query_one(DiffView)
        if not view.hunk_count:
            return
        hunk = self.result.hunks[view.cursor]
        self.session.decide(self.result.path, hunk.index, accepted)
        view.set_decision(view.cursor, accepted)
        view.move_cursor(view.cursor + 1)
        self._refresh_header()

    def action_decide_file(self, accepted: bool) -> None:
        if self.in_grace():
            return
        self._decide_result(self.result, accepted)
        view = self.query_one(DiffView)
        for position in range(view.hunk_count):
            view.set_decision(position, accepted)
        self._refresh_header()

    def action_decide_all(self, accepted: bool) -> None:
        if self.in_grace():
            return
        for result in self.results:
            self._decide_result(result, accepted)
        view = self.query_one(DiffView)
        for position in range(view.hunk_count):
            view.set_decision(position, accepted)
        self._refresh_header()

    def _decide_result(self, result: Any, accepted: bool) -> None:
        for hunk in result.hunks:
            self.session.decide(result.path, hunk.index, accepted)

    async def action_file(self, step: int) -> None:
        if self.in_grace() or len(self.results) < 2:
            return
        self.file_index = (self.file_index + step) % len(self.results)
        await self._show_file()

    def action_toggle_split(self) -> None:
        if self.in_grace():
            return
        self.split = not self.split
        self.query_one(DiffView).set_split(self.split)
        self._refresh_header()

    def action_apply(self) -> None:
        if self.in_grace():
            return
        accepted, _ = self.session.counts()
        if not accepted:
            self.notify("no hunk accepted yet (space accepts, a accepts the file)", severity="warning")
            return
        if not any(self.session.accepted().values()):
            self.notify("only files whose checks failed are accepted: ! applies one anyway", severity="warning")
            return
        from fastapply.tui.screens.apply import ApplyScreen

        self.app.push_screen(ApplyScreen())

    def action_back(self) -> None:
        if self.in_grace():
            return
        self.app.pop_screen()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            ("Accept all hunks", "Accept every hunk of every file", lambda: self.action_decide_all(True)),
            ("Reject all hunks", "Reject every hunk of every file", lambda: self.action_decide_all(False)),
            ("Toggle side by side", "Switch between unified and side-by-side diffs", self.action_toggle_split),
            ("Apply accepted hunks", "Open the apply screen", self.action_apply),
            ("Follow-up instruction", "Ask for more, drafted from these rewrites (i)", self.action_follow_up),
            ("Edit in $EDITOR", "Open this rewrite in your editor (e)", self.action_edit),
        ]
