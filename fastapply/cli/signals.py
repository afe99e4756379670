"""How the command meets its process: SIGTERM as an interrupt, and a stdout that may close early.

``terminate_as_interrupt`` makes SIGTERM raise ``Terminated`` (a KeyboardInterrupt) in the main
thread, so the same clean-up as Ctrl-C runs. ``broken_pipe_to_devnull`` puts a guard on
``sys.stdout``: when the reader goes away (``| head -1``) the descriptor is pointed at the null
device, as Python's documentation on SIGPIPE advises, and the run goes on quietly, with no
traceback and no "Exception ignored" at exit. Both restore what they changed.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from fastapply.errors import Terminated


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class PipeGuard:
    """A text stream that turns a broken pipe into silence (see the module docstring)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._to_devnull()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._to_devnull()

    def _to_devnull(self) -> None:
        self.broken = True
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def broken_pipe_to_devnull() -> Iterator[PipeGuard]:
    original = sys.stdout
    guard = PipeGuard(original)
    sys.stdout = guard  # type: ignore[assignment]
    try:
        yield guard
        guard.flush()
    finally:
        sys.stdout = original
