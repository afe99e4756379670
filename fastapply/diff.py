"""Unified diffs and hunks between two texts, and building a text from a chosen set of hunks.

Hunks are the groups of changes with three lines of context that a unified diff shows; two hunks
never overlap or touch, so any subset of them can be applied on its own. Texts are compared line by
line with their endings, so a missing final newline is a change of its own and is marked with
``\\ No newline at end of file`` the way git writes it.

This module knows strings only: no files, encodings or git.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

CONTEXT = 3
NO_NEWLINE = "\\ No newline at end of file"


@dataclass(slots=True)
class Hunk:
    """One hunk. ``lines`` are the diff lines without their line endings, each starting with
    ``" "``, ``"-"`` or ``"+"``, plus ``NO_NEWLINE`` after a line that has no ending."""

    index: int
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[str] = field(default_factory=list)
    header: str = ""

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.startswith("+"))

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-"))


def _split(text: str) -> list[str]:
    # Only "\n" ends a line here; str.splitlines would also break on \r, form feeds and friends.
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _range(start: int, length: int) -> str:
    # The unified-diff convention: an empty range names the line before it.
    first = start + 1 if length else start
    return f"{first}" if length == 1 else f"{first},{length}"


def _groups(old: list[str], new: list[str]) -> list[list[tuple[str, int, int, int, int]]]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return list(matcher.get_grouped_opcodes(CONTEXT))


def _emit(prefix: str, line: str, out: list[str]) -> None:
    if line.endswith("\n"):
        out.append(prefix + line[:-1])
    else:
        out.append(prefix + line)
        out.append(NO_NEWLINE)


def split_hunks(before: str, after: str) -> list[Hunk]:
    """The hunks that turn ``before`` into ``after``, in order, numbered from 0."""
    if before == after:
        return []
    old, new = _split(before), _split(after)
    hunks: list[Hunk] = []
    for index, group in enumerate(_groups(old, new)):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        lines: list[str] = []
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                for line in old[a1:a2]:
                    _emit(" ", line, lines)
                continue
            for line in old[a1:a2]:
                _emit("-", line, lines)
            for line in new[b1:b2]:
                _emit("+", line, lines)
        header = f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@"
        hunks.append(
            Hunk(
                index=index,
                old_start=i1 + 1 if i2 > i1 else i1,
                old_len=i2 - i1,
                new_start=j1 + 1 if j2 > j1 else j1,
                new_len=j2 - j1,
                lines=lines,
                header=header,
            )
        )
    return hunks


def format_hunks(hunks: list[Hunk], path: str) -> str:
    """A unified diff (``--- a/path``, ``+++ b/path``) made of ``hunks``; empty when none."""
    if not hunks:
        return ""
    out = [f"--- a/{path}", f"+++ b/{path}"]
    for hunk in hunks:
        out.append(hunk.header)
        out.extend(hunk.lines)
    return "\n".join(out) + "\n"


def unified_diff(before: str, after: str, path: str) -> str:
    """The unified diff from ``before`` to ``after``; empty when they are equal."""
    return format_hunks(split_hunks(before, after), path)


def merge_hunks(before: str, after: str, accepted: set[int]) -> str:
    """``before`` with only the hunks (by index, as ``split_hunks`` numbers them) in ``accepted``."""
    if before == after or not accepted:
        return before
    old, new = _split(before), _split(after)
    out: list[str] = []
    at = 0  # next line of ``old`` not yet copied
    for index, group in enumerate(_groups(old, new)):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        out.extend(old[at:i1])
        out.extend(new[j1:j2] if index in accepted else old[i1:i2])
        at = i2
    out.extend(old[at:])
    return "".join(out)
