"""Text a file or a terminal cannot take as it is: where a string holds a lone surrogate, and how
to show a name with one, or with control characters, on a terminal.

A lone surrogate reaches Python strings two ways: a file name whose bytes are not UTF-8 (the file
system decodes them with ``surrogateescape``) and a JSON ``\\ud800`` escape (an argument, a job
file, a request body, a server's reply). No file, tokenizer or strict terminal accepts one.
Knows nothing about where the text came from.
"""

from __future__ import annotations


def lone_surrogate(text: str) -> int | None:
    """The index of the first character UTF-8 cannot encode, or None when ``text`` is valid."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def shown(text: str) -> str:
    """``text`` for a terminal: bytes of a name that is not UTF-8 as ``\\xff`` escapes (a text
    stream with strict errors cannot write the surrogates they were decoded to), and control
    characters as ``\\x0a`` (a newline in a name would split a report line, an escape sequence
    would drive the terminal)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").translate(_CONTROLS)
