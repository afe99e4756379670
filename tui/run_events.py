"""The generate screen's ``fastapply.batch.Events``: turn the core's progress into messages.

``run_edits`` calls these from the worker thread. Each file's text is coalesced to about 30
messages a second (``Coalescer``) and every call becomes one message posted to the screen; the
screen updates itself in its handlers. It knows the message types and the core's result shape,
not widgets.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.message import Message

from fastapply.batch import Events
from fastapply.tui._coalesce import Coalescer
from fastapply.tui.messages import DraftMeasured, DraftMeasuring, FileFinished, FileRetrying, FileStarted, TextStreamed


class ScreenEvents(Events):
    """Posts ``FileStarted``, ``TextStreamed``, ``FileRetrying``, ``FileFinished`` and
    ``DraftMeasuring`` and ``DraftMeasured`` (``measuring`` and ``measured`` are the engine's
    calibration callbacks) for one run."""

    def __init__(
        self,
        post: Callable[[Message], Any],
        root: Path,
        paths: list[str],
        *,
        interval: float,
        clock: Callable[[], float],
    ) -> None:
        self._post = post
        self._root = root
        self._paths = paths  # repository-relative, in run order
        self._interval = interval
        self._clock = clock
        self._started: dict[str, float] = {}
        self._coalescers: dict[str, Coalescer] = {}
        self._current = ""  # the file started last: the one a calibration runs before

    def relative(self, path: str) -> str:
        """The repository-relative name of ``path`` (the core may hand back the absolute one)."""
        if os.path.isabs(path):
            return Path(os.path.relpath(path, self._root)).as_posix()
        return path

    def file_started(self, path: str) -> None:
        name = self.relative(path)
        started = self._clock()
        self._started[name] = started
        self._current = name
        self._stream(name, started)
        index = self._paths.index(name) if name in self._paths else 0
        self._post(FileStarted(name, index, len(self._paths)))

    def file_retrying(self, path: str, attempt: int, failed: list[Any]) -> None:
        name = self.relative(path)
        coalescer = self._coalescers.get(name)
        if coalescer is not None:
            coalescer.flush()  # the last attempt's text arrives before the retry is announced
        self._post(FileRetrying(name, attempt, list(failed)))
        self._stream(name, self._clock())  # a new attempt streams a new text, counted from zero

    def _stream(self, name: str, started: float) -> None:
        total = 0

        def emit(text: str) -> None:
            nonlocal total
            total += len(text)
            self._post(TextStreamed(name, text, total, self._clock() - started))

        self._coalescers[name] = Coalescer(emit, interval=self._interval, clock=self._clock)

    def measuring(self) -> None:
        """Called by the engine (``fastapply.backend.on_calibration``) just before it calibrates."""
        self._post(DraftMeasuring(self._current))

    def measured(self, seconds: float) -> None:
        """Called by the engine once the calibration is over, with its seconds."""
        self._post(DraftMeasured(self._current, seconds))

    def text(self, path: str, piece: str) -> None:
        coalescer = self._coalescers.get(self.relative(path))
        if coalescer is not None:
            coalescer.push(piece)

    def file_completed(self, result: Any, *, written: bool) -> None:
        name = self.relative(result.path)
        coalescer = self._coalescers.pop(name, None)
        if coalescer is not None:
            coalescer.flush()
        started = self._started.pop(name, self._clock())
        self._post(FileFinished(name, result, self._clock() - started))
