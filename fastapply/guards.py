"""Refusals of model output that must never reach disk even though generation finished cleanly.

Two failure modes of apply models: replacing code with a placeholder comment ("rest of the code
unchanged", "... existing code ...") and dropping most of the file. A placeholder only counts when
the output adds it; a file that already contained such a line may keep it. Mass deletion is
allowed when the caller says the instruction asks for it.

This module knows texts, not files or models.
"""

from __future__ import annotations

import re

_COMMENT = r"(?:#|//|/\*|<!--|--|;|%|\*)"
_PLACEHOLDER_PATTERNS = (
    # "rest of the code unchanged", "remaining methods stay the same", "other functions ..."
    r"\b(?:rest|remainder)\s+of\s+(?:the\s+)?(?:code|file|function|class|module|implementation|methods?|body)\b",
    r"\b(?:remaining|other|existing|unchanged|previous)\s+(?:code|methods?|functions?|lines?|implementation|content)\b"
    r"(?:\s+\w+){0,3}\s*(?:unchanged|the same|as before|here|omitted|\.\.\.)",
    r"\b(?:code|everything\s+else|implementation)\s+(?:remains?|stays?|is)\s+(?:the\s+same|unchanged)\b",
    r"\.\.\.\s*(?:existing|rest|remaining|unchanged|previous|same)\b",
    r"\b(?:unchanged|omitted\s+for\s+brevity|same\s+as\s+before)\s*\.\.\.",
)
_PLACEHOLDER = re.compile("|".join(f"(?:{p})" for p in _PLACEHOLDER_PATTERNS), re.IGNORECASE)
_BARE_ELLIPSIS = re.compile(rf"^\s*{_COMMENT}\s*(?:\.\.\.|…)\s*(?:\*/|-->)?\s*$")

MIN_LINES_FOR_DELETION_CHECK = 8
MAX_SHARE_REMOVED = 0.5


def _is_placeholder(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if _BARE_ELLIPSIS.match(stripped):
        return True
    return bool(re.match(rf"^{_COMMENT}", stripped)) and bool(_PLACEHOLDER.search(stripped))


def find_placeholder(before: str, after: str) -> str | None:
    """The first placeholder line that ``after`` adds to ``before``, or None."""
    existing = {line.strip() for line in before.split("\n")}
    for line in after.split("\n"):
        if line.strip() not in existing and _is_placeholder(line):
            return line.strip()
    return None


def _code_lines(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.strip())


def mass_deletion(before: str, after: str) -> str | None:
    """A reason when ``after`` drops most of ``before``'s non-blank lines, else None."""
    old, new = _code_lines(before), _code_lines(after)
    if old and not new:
        return f"the output is empty (the file had {old} non-blank lines)"
    if old < MIN_LINES_FOR_DELETION_CHECK:
        return None
    if new < old * (1 - MAX_SHARE_REMOVED):
        return f"the output drops most of the file ({old} -> {new} non-blank lines)"
    return None


def check_output(before: str, after: str, *, allow_deletion: bool = False) -> str | None:
    """Why ``after`` must not be written, or None when it may be."""
    placeholder = find_placeholder(before, after)
    if placeholder is not None:
        return f"placeholder in the output instead of code: {placeholder!r}"
    if not allow_deletion:
        return mass_deletion(before, after)
    return None
