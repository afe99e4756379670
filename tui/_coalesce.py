"""Coalesce a fast stream of text pieces into at most ~30 emissions a second.

The engine calls ``on_text`` once per accepted run of tokens, which can be hundreds of times a
second; posting a message for each would flood the UI thread. A ``Coalescer`` buffers the pieces
and emits the joined text when the interval has passed since the last emission, and on ``flush``.
It knows nothing about Textual: the caller decides what ``emit`` does (posting a message).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEFAULT_INTERVAL = 1 / 30


class Coalescer:
    """Buffer text pieces and hand them to ``emit`` at most once per ``interval`` seconds."""

    def __init__(
        self,
        emit: Callable[[str], None],
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0, got {interval!r}")
        self._emit = emit
        self._interval = interval
        self._clock = clock
        self._pieces: list[str] = []
        self._last = float("-inf")
        # push and flush may race when a cancel arrives from another thread
        self._lock = threading.Lock()
        self.chars = 0

    def push(self, text: str) -> None:
        """Add a piece; emit the buffer if the interval has passed."""
        if not text:
            return
        with self._lock:
            self._pieces.append(text)
            self.chars += len(text)
            if self._clock() - self._last >= self._interval:
                self._emit_locked()

    def flush(self) -> None:
        """Emit whatever is buffered now (call once when the stream ends)."""
        with self._lock:
            self._emit_locked()

    def _emit_locked(self) -> None:
        if not self._pieces:
            return
        text = "".join(self._pieces)
        self._pieces.clear()
        self._last = self._clock()
        self._emit(text)
