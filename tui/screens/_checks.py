"""How a file's checks read in review: passed or failed, the captured output trimmed, the block.

Fed a ``fastapply.edit.EditResult`` (read by attribute: ``attempts``, ``checks``, ``status``).
Check output is whatever a command printed: it is shown only through ``rich.text.Text`` (no
markup), with escape and control characters removed and cut to a few short lines, so it can
never reach the layout raw. Knows nothing about widgets or the session.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

OUTPUT_LINES = 4  # of each failing check's output
LINE_CHARS = 160
# ANSI escape sequences, then any other control character but the newline
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x09\x0b-\x1f\x7f]")


def clean_output(output: str, *, lines: int = OUTPUT_LINES, width: int = LINE_CHARS) -> list[str]:
    """At most ``lines`` non-empty lines of ``output``, each at most ``width`` characters."""
    kept = [line.rstrip() for line in _ESCAPES.sub("", output.replace("\t", "    ")).splitlines() if line.strip()]
    shown = [line if len(line) <= width else line[: width - 1] + "…" for line in kept[:lines]]
    if len(kept) > lines:
        shown.append(f"[{len(kept) - lines} more line{'s' if len(kept) - lines != 1 else ''}]")
    return shown


def last_checks(result: Any) -> list[Any]:
    """The check results of the last attempt that was checked."""
    checks = list(getattr(result, "checks", []) or [])
    if not checks:
        return []
    last = max(getattr(c, "attempt", 1) for c in checks)
    return [c for c in checks if getattr(c, "attempt", 1) == last]


def checks_text(result: Any, *, forced: bool) -> Text:
    """The checks pane of one file; empty when no check applied to it."""
    checks = last_checks(result)
    text = Text()
    if not checks:
        return text
    attempts = int(getattr(result, "attempts", 1) or 1)
    text.append("checks", style="bold")
    text.append(f" · {attempts} attempt{'s' if attempts != 1 else ''}:")
    for check in checks:
        mark, style = ("✓", "green") if check.ok else ("✗", "bold red")
        text.append(f"  {mark} {check.name}", style=style)
    for check in checks:
        if check.ok:
            continue
        for line in clean_output(str(check.output or "")) or ["(no output)"]:
            text.append("\n  ")
            text.append(line, style="red")
    if getattr(result, "status", "") == "check-failed":
        text.append("\n")
        if forced:
            text.append("! pressed: applied despite failing checks (! again takes it back)", style="bold yellow")
        else:
            text.append("not applied: press ! to apply despite failing checks", style="bold red")
    return text
