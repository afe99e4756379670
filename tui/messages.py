"""Messages that workers and widgets post; plain dataclasses so they read like data.

Workers run in threads and never touch widgets: they post one of these and the screen that owns
the worker updates itself in its handler. Nothing here knows how a message is displayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass(eq=False)
class ModelLoaded(Message):
    """The backend finished loading in the background (``load`` numbers the load asked for)."""

    backend: Any
    load: int = 0


@dataclass(eq=False)
class ModelLoadFailed(Message):
    error: str
    load: int = 0


@dataclass(eq=False)
class FileStarted(Message):
    """The generate worker began rewriting ``path`` (``index`` of ``total``, from 0)."""

    path: str
    index: int
    total: int


@dataclass(eq=False)
class TextStreamed(Message):
    """Accepted text for ``path`` since the previous message (coalesced to ~30 a second).

    ``chars`` and ``seconds`` are running totals for the file, measured in the worker.
    """

    path: str
    text: str
    chars: int
    seconds: float


@dataclass(eq=False)
class DraftMeasuring(Message):
    """The engine is about to measure its draft widths before ``path``'s first token.

    Once per model, device and dtype (the result is cached); a wait of seconds otherwise silent.
    """

    path: str


@dataclass(eq=False)
class DraftMeasured(Message):
    """The engine's draft-width measurement before ``path``'s first token took ``seconds``."""

    path: str
    seconds: float


@dataclass(eq=False)
class FileRetrying(Message):
    """``path``'s candidate failed its checks; attempt ``attempt`` (from 2) starts now.

    ``failed`` holds the failing ``fastapply.checks.CheckResult`` objects of the previous attempt.
    """

    path: str
    attempt: int
    failed: list[Any]


@dataclass(eq=False)
class FileFinished(Message):
    """The rewrite of ``path`` ended; ``result`` is a ``fastapply.edit.EditResult``."""

    path: str
    result: Any
    seconds: float


@dataclass(eq=False)
class GenerationDone(Message):
    """The run ended; ``error`` says why when it ended by an unexpected failure."""

    cancelled: bool
    error: str = ""


@dataclass(eq=False)
class ApplyDone(Message):
    """``record`` is the ``fastapply.apply.ApplyRecord`` of the write (and commit).

    ``held_by``: a commit was asked for, but HEAD (this sha) already held the written files.
    """

    record: Any
    held_by: str | None = None


@dataclass(eq=False)
class ApplyFailed(Message):
    error: str


@dataclass(eq=False)
class UndoDone(Message):
    """``commit`` is the commit the undone apply made, which undo leaves in history."""

    report: Any
    commit: str | None = None


@dataclass(eq=False)
class UndoFailed(Message):
    error: str


@dataclass(eq=False)
class FilesListed(Message):
    """The repository's files (``fastapply.repo.RepoFile``), listed by a worker."""

    files: list[Any]


@dataclass(eq=False)
class FilesFailed(Message):
    error: str
