"""The pick screen: choose the files to rewrite from a git-aware tree, a fuzzy finder or a glob.

It lists the repository in a worker (with the configuration's size limit), keeps the selection in
the session, and shows each selected file's size and token count (the model's tokenizer once
loaded, an estimate from the size before). A file whose rewrite cannot fit the model's context is
marked in its row and stops ``i`` with the numbers, so it is never sent. It does not generate
anything: ``i`` moves on to the instruct screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label

from fastapply.unicode import shown
from fastapply.tui._match import glob_filter
from fastapply.tui.messages import FilesFailed, FilesListed
from fastapply.tui.screens.finder import FinderScreen, GlobScreen
from fastapply.tui.widgets.file_tree import FileTree, selectable, unselectable
from fastapply.tui.widgets.selected_list import SelectedList, SelectedRow, SelectedTable
from fastapply.tui.tokens import TokenCount, context_of, count_tokens, estimate_tokens, over_context
from fastapply.tui.widgets.status_bar import StatusBar


class PickScreen(Screen[None]):
    CSS_PATH = "pick.tcss"
    BINDINGS = [
        Binding("i", "instruct", "instruct"),
        Binding("ctrl+p", "find", "find file"),
        Binding("g", "glob", "glob add"),
        Binding("c", "clear", "clear", tooltip="clear the selection"),
        Binding("r", "refresh", "refresh", show=False),
        Binding("tab", "app.focus_next", "switch pane", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, Any] = {}
        self._tokens: dict[str, TokenCount] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="pick-body"):
            with Vertical(id="pick-tree-pane"):
                yield Label("repository", classes="section-title")
                yield FileTree(id="file-tree")
            with Vertical(id="pick-side"):
                yield Label("selected", classes="section-title")
                yield SelectedList(id="selected")
        yield Footer(compact=True)

    @property
    def session(self) -> Any:
        return self.app.session  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        self.watch(self.app, "model_state", self._model_state_changed, init=False)
        self.query_one(FileTree).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        # the selection may have been cleared by an apply while this screen was underneath
        if self.files:
            self.query_one(FileTree).set_selected(self.session.selected)
            self._show_selected()

    def action_refresh(self) -> None:
        repo = getattr(self.app, "repo", None)
        if repo is not None:
            self._list_files(repo)

    @work(thread=True, exclusive=True, group="list-files", exit_on_error=False)
    def _list_files(self, repo: Any) -> None:
        from fastapply.repo import list_files

        max_bytes: int = self.app.config.max_bytes  # type: ignore[attr-defined]
        try:
            files = list_files(repo, max_bytes=max_bytes)
        except Exception as exc:  # git failing must show as a notification
            self.post_message(FilesFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(FilesListed(files))

    def on_files_listed(self, message: FilesListed) -> None:
        self.files = {f.path: f for f in message.files}
        # a selected file that vanished or became unselectable is dropped
        self.session.selected[:] = [
            p for p in self.session.selected if p in self.files and selectable(self.files[p])
        ]
        self.query_one(FileTree).load(message.files, self.session.selected)
        self._show_selected()

    def on_files_failed(self, message: FilesFailed) -> None:
        self.notify(message.error, title="could not list files", severity="error", timeout=10)

    def _model_state_changed(self, state: str) -> None:
        if state in ("ready", "loading"):
            self._tokens.clear()  # counted anew by this model's tokenizer (or estimated meanwhile)
            self._show_selected()

    # -- selection -----------------------------------------------------------------------------

    def toggle(self, path: str) -> None:
        entry = self.files.get(path)
        if entry is None:
            return
        why = unselectable(entry)
        if why is not None:
            self.notify(f"{shown(path)}: {why}, so it cannot be rewritten", severity="warning")
            return
        self.session.toggle(path)
        self.query_one(FileTree).set_selected(self.session.selected)
        self._show_selected()

    @on(FileTree.Toggled)
    def _tree_toggled(self, event: FileTree.Toggled) -> None:
        self.toggle(event.path)

    @on(SelectedTable.Removed)
    def _removed(self, event: SelectedTable.Removed) -> None:
        self.toggle(event.path)

    def _token_count(self, path: str) -> TokenCount:
        backend = getattr(self.app, "backend", None)
        cached = self._tokens.get(path)
        if cached is not None and (cached.exact or backend is None):
            return cached
        count = TokenCount(estimate_tokens(self.files[path].size), False)
        if backend is not None:
            try:
                text = (self.session.repo_root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                pass  # keep the estimate
            else:
                count = count_tokens(backend, text)
        self._tokens[path] = count
        return count

    def _max_context(self) -> int | None:
        return context_of(getattr(self.app, "backend", None))

    def over_context(self) -> list[tuple[str, str]]:
        """(path, why) of each selected file that cannot fit the model's context."""
        limit = self._max_context()
        out = []
        for path in self.session.selected:
            if path in self.files:
                why = over_context(self._token_count(path), limit)
                if why is not None:
                    out.append((path, why))
        return out

    def _show_selected(self) -> None:
        rows = []
        limit = self._max_context()
        for path in self.session.selected:
            if path in self.files:
                count = self._token_count(path)
                over = over_context(count, limit) is not None
                rows.append(SelectedRow(path, self.files[path].size, count.tokens, count.exact, over))
        self.query_one(SelectedList).show(rows, limit)

    def selectable_paths(self) -> list[str]:
        return [p for p, f in self.files.items() if selectable(f)]

    # -- actions -------------------------------------------------------------------------------

    def action_find(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.toggle(path)
                self.query_one(FileTree).move_to(path)

        self.app.push_screen(FinderScreen(self.selectable_paths()), chosen)

    def action_glob(self) -> None:
        def chosen(pattern: str | None) -> None:
            if not pattern:
                return
            matches = glob_filter(pattern, self.selectable_paths())
            added = self.session.add(matches)
            self.query_one(FileTree).set_selected(self.session.selected)
            self._show_selected()
            self.notify(f"{pattern}: {len(matches)} match, {added} added")

        self.app.push_screen(GlobScreen(), chosen)

    def action_clear(self) -> None:
        self.session.selected.clear()
        self.query_one(FileTree).set_selected([])
        self._show_selected()

    def action_instruct(self) -> None:
        if not self.session.selected:
            self.notify("select at least one file first", severity="warning")
            return
        over = self.over_context()
        if over:
            path, why = over[0]
            more = f" (and {len(over) - 1} more)" if len(over) > 1 else ""
            self.notify(
                f"{path}: {why}{more}. Remove it (delete in the selected list) to go on.",
                title="too big for the model",
                severity="error",
                timeout=10,
            )
            return
        from fastapply.tui.screens.instruct import InstructScreen

        self.app.push_screen(InstructScreen())

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            ("Find file", "Fuzzy-find a file and toggle it", self.action_find),
            ("Add files by glob", "Select every file matching a pattern", self.action_glob),
            ("Clear selection", "Unselect every file", self.action_clear),
            ("Write the instruction", "Go on to the instruction", self.action_instruct),
        ]
