"""Two small modal prompts for the picker: a fuzzy file finder and a glob pattern input.

Both return their answer through ``dismiss``: the finder a path (or None), the glob prompt a
pattern (or None). They rank and filter with ``fastapply.tui._match``; they do not change the
selection themselves.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from fastapply.tui._match import fuzzy_rank


class FinderScreen(ModalScreen[str | None]):
    """Type to narrow the list; enter picks the highlighted file; escape closes."""

    CSS_PATH = "finder.tcss"
    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("down", "move(1)", "next", show=False),
        Binding("up", "move(-1)", "previous", show=False),
    ]

    def __init__(self, paths: list[str], *, title: str = "find a file (enter toggles it in the selection)") -> None:
        super().__init__()
        self.paths = paths
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="finder-box"):
            yield Label(self.title_text, classes="section-title")
            yield Input(placeholder="type part of a path", id="finder-input")
            yield OptionList(id="finder-list")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(path, id=path) for path in fuzzy_rank(query, self.paths, limit=200)])
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed, "#finder-input")
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#finder-input")
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            self.dismiss(None)
            return
        self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not options.option_count:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_close(self) -> None:
        self.dismiss(None)


class GlobScreen(ModalScreen[str | None]):
    """Ask for a pattern such as ``src/**/*.py``; enter adds every selectable match."""

    CSS_PATH = "finder.tcss"
    BINDINGS = [Binding("escape", "close", "close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="finder-box"):
            yield Label("add files by glob (** spans directories)", classes="section-title")
            yield Input(placeholder="src/**/*.py", id="glob-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#glob-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_close(self) -> None:
        self.dismiss(None)
