"""Getting the file out of a remote model's reply, strictly, and streaming it as it arrives.

A reply that continues fastapply's pre-filled output (completions mode, or a chat server that
continues a final assistant message) *is* the file up to the close marker, as it is locally. A
fresh chat reply must hold the file between the output markers, or be exactly one fenced code
block; anything else (chatter only, two blocks) raises ``NotAFile`` with the reason, and nothing is
written. Knows the prompt's markers, not HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapply.engine.prompt import CLOSE_OUTPUT, OPEN_OUTPUT

_FENCE = re.compile(r"^[ \t]*(```|~~~)")


class NotAFile(ValueError):
    """The reply does not hold exactly one file; ``str()`` says why."""


def _without_lead_newline(text: str) -> str:
    return text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text


def continued_file(text: str) -> str:
    """The file in a reply that continues ``<updated-code>\\n``: everything before the close marker."""
    at = text.find(CLOSE_OUTPUT)
    return text[:at] if at >= 0 else text


def _between_markers(text: str) -> str:
    body = _without_lead_newline(text.split(OPEN_OUTPUT, 1)[1])
    at = body.find(CLOSE_OUTPUT)
    if at < 0:
        return body  # the stop sequence ended it; servers never return the stop string
    if OPEN_OUTPUT in body[at:]:
        raise NotAFile(f"the reply holds more than one {OPEN_OUTPUT} block")
    return body[:at]


def _fenced(text: str) -> str:
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if not fences:
        raise NotAFile(f"the reply has no {OPEN_OUTPUT} markers and no fenced code block (only prose?)")
    if len(fences) != 2:
        raise NotAFile(f"the reply has {len(fences)} code fence lines, not exactly one fenced block")
    start, end = fences
    return "".join(line + "\n" for line in lines[start + 1 : end])


def reply_file(text: str) -> str:
    """The file in a fresh reply: between the markers, else the one fenced block."""
    count = text.count(OPEN_OUTPUT)
    if count > 1:
        raise NotAFile(f"the reply holds {count} {OPEN_OUTPUT} blocks, not one")
    return _between_markers(text) if count == 1 else _fenced(text)


def _marker_prefix_len(text: str, marker: str) -> int:
    for n in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:n]):
            return n
    return 0


class FileStream:
    """Hands ``on_text`` the file's text as the reply streams in, never a marker or chatter.

    A continued reply streams at once; a fresh one once its open marker has arrived (a fenced reply
    only at the end, when it is known to be one block).
    """

    def __init__(self, on_text: Callable[[str], None] | None, *, continued: bool) -> None:
        self.on_text = on_text
        self.continued = continued
        self.raw = ""
        self.sent = ""

    def _visible(self) -> str:
        if self.continued:
            body = self.raw
        elif OPEN_OUTPUT in self.raw:
            body = _without_lead_newline(self.raw.split(OPEN_OUTPUT, 1)[1])
        else:
            return ""
        at = body.find(CLOSE_OUTPUT)
        return body[:at] if at >= 0 else body[: len(body) - _marker_prefix_len(body, CLOSE_OUTPUT)]

    def _emit(self, visible: str) -> None:
        if self.on_text is not None and len(visible) > len(self.sent) and visible.startswith(self.sent):
            piece, self.sent = visible[len(self.sent) :], visible
            self.on_text(piece)

    def push(self, piece: str) -> None:
        self.raw += piece
        self._emit(self._visible())

    def finish(self, file_text: str) -> None:
        """The rest of the file once it is known (the part a held-back tail or a fence kept back)."""
        self._emit(file_text)
