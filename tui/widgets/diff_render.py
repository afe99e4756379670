"""Rich renderables for one hunk: unified or side by side, with syntax colour.

The whole old and new texts are highlighted once (so multi-line strings and comments colour
correctly) and each hunk line borrows its highlighted line by number. Added and removed lines get
a green or red background that works in light and dark themes. Pure Rich: no Textual, no files.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from functools import lru_cache
from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

NO_NEWLINE_PREFIX = "\\"


@dataclass(frozen=True)
class DiffColours:
    added: Style
    removed: Style
    added_sign: Style
    removed_sign: Style
    number: Style
    theme: str


DARK = DiffColours(
    added=Style(bgcolor="#1d3b26"),
    removed=Style(bgcolor="#47202a"),
    added_sign=Style(color="#7ee787", bold=True),
    removed_sign=Style(color="#ff7b72", bold=True),
    number=Style(color="#6e7681"),
    theme="monokai",
)
LIGHT = DiffColours(
    added=Style(bgcolor="#dcfbe3"),
    removed=Style(bgcolor="#ffe3e3"),
    added_sign=Style(color="#116329", bold=True),
    removed_sign=Style(color="#a40e26", bold=True),
    number=Style(color="#8c959f"),
    theme="friendly",
)


def colours(dark: bool) -> DiffColours:
    return DARK if dark else LIGHT


@lru_cache(maxsize=256)
def lexer_name(path: str) -> str:
    """The pygments alias for ``path``'s file name, or ``text``.

    Reads pygments' built-in lexer table directly: the public lookup scans installed plugins
    through package metadata, which costs most of a second the first time a diff is shown.
    """
    from pygments.lexers._mapping import LEXERS

    name = path.rsplit("/", 1)[-1]
    for _module, _name, aliases, patterns, _mimes in LEXERS.values():
        if aliases and any(fnmatch(name, pattern) for pattern in patterns):
            return str(aliases[0])
    return "text"


def highlight_lines(code: str, path: str, dark: bool) -> list[Text]:
    """``code`` highlighted for ``path``'s language, one ``Text`` per line, without backgrounds."""
    lexer = lexer_name(path)
    syntax = Syntax(code, lexer, theme=colours(dark).theme, background_color="default")
    highlighted = syntax.highlight(code)
    plain = Text(highlighted.plain)
    for span in highlighted.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(str(span.style))
        plain.stylize(Style(color=style.color, bold=style.bold, italic=style.italic), span.start, span.end)
    lines = plain.split("\n", allow_blank=True)
    return list(lines)


def _line(lines: list[Text], number: int, fallback: str) -> Text:
    if 1 <= number <= len(lines):
        return lines[number - 1].copy()
    return Text(fallback)


@dataclass(frozen=True)
class Row:
    """One displayed diff line: its kind (`` ``, ``-``, ``+``, ``\\``) and line numbers."""

    kind: str
    old: int | None
    new: int | None
    text: str


def rows(hunk: Any) -> list[Row]:
    old, new = hunk.old_start, hunk.new_start
    out: list[Row] = []
    for line in hunk.lines:
        kind, body = line[:1], line[1:]
        if kind == NO_NEWLINE_PREFIX:
            out.append(Row(kind, None, None, line))
        elif kind == "-":
            out.append(Row(kind, old, None, body))
            old += 1
        elif kind == "+":
            out.append(Row(kind, None, new, body))
            new += 1
        else:
            out.append(Row(" ", old, new, body))
            old += 1
            new += 1
    return out


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


def unified(hunk: Any, old_lines: list[Text], new_lines: list[Text], dark: bool) -> Table:
    c = colours(dark)
    table = Table.grid(expand=True, padding=(0, 1))
    table.add_column(justify="right", style=c.number, no_wrap=True, min_width=3)
    table.add_column(justify="right", style=c.number, no_wrap=True, min_width=3)
    table.add_column(width=1, no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for row in rows(hunk):
        if row.kind == NO_NEWLINE_PREFIX:
            table.add_row("", "", "", Text(row.text, style="dim italic"))
        elif row.kind == "-":
            table.add_row(_num(row.old), "", Text("-", style=c.removed_sign),
                          _line(old_lines, row.old or 0, row.text), style=c.removed)
        elif row.kind == "+":
            table.add_row("", _num(row.new), Text("+", style=c.added_sign),
                          _line(new_lines, row.new or 0, row.text), style=c.added)
        else:
            table.add_row(_num(row.old), _num(row.new), " ", _line(new_lines, row.new or 0, row.text))
    return table


def _cell(text: Text, style: Style | None) -> RenderableType:
    return Padding(text, 0, style=style or "", expand=True) if style is not None else text


def side_by_side(hunk: Any, old_lines: list[Text], new_lines: list[Text], dark: bool) -> Table:
    """Old on the left, new on the right; a run of removals is paired with the additions after it."""
    c = colours(dark)
    table = Table.grid(expand=True, padding=(0, 1))
    table.add_column(justify="right", style=c.number, no_wrap=True, min_width=3)
    table.add_column(ratio=1, overflow="fold")
    table.add_column(justify="right", style=c.number, no_wrap=True, min_width=3)
    table.add_column(ratio=1, overflow="fold")
    pending_old: list[Row] = []
    pending_new: list[Row] = []

    def flush() -> None:
        for i in range(max(len(pending_old), len(pending_new))):
            left = pending_old[i] if i < len(pending_old) else None
            right = pending_new[i] if i < len(pending_new) else None
            table.add_row(
                _num(left.old) if left else "",
                _cell(_line(old_lines, left.old or 0, left.text), c.removed) if left else "",
                _num(right.new) if right else "",
                _cell(_line(new_lines, right.new or 0, right.text), c.added) if right else "",
            )
        pending_old.clear()
        pending_new.clear()

    for row in rows(hunk):
        if row.kind == "-":
            if pending_new:
                flush()
            pending_old.append(row)
        elif row.kind == "+":
            pending_new.append(row)
        elif row.kind == NO_NEWLINE_PREFIX:
            flush()
            table.add_row("", Text(row.text, style="dim italic"), "", "")
        else:
            flush()
            table.add_row(_num(row.old), _line(old_lines, row.old or 0, row.text),
                          _num(row.new), _line(new_lines, row.new or 0, row.text))
    flush()
    return table


def hunk_renderable(
    hunk: Any, old_lines: list[Text], new_lines: list[Text], *, dark: bool, split: bool, title: Text
) -> RenderableType:
    body = side_by_side(hunk, old_lines, new_lines, dark) if split else unified(hunk, old_lines, new_lines, dark)
    return Group(title, body)
