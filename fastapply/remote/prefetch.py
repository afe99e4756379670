"""Keeping N remote requests in flight while the edit loop takes results one at a time.

``Prefetching`` wraps a backend (a remote one: a vLLM server batches what it is sent at once).
``prefetch(requests)`` starts them on ``jobs`` threads; ``generate(request)`` then returns the
prefetched result for a matching request (same path, file, instruction and budget), replaying its
text through ``on_text``, or generates directly when nothing was prefetched. The caller still
judges and writes each result in order, through the one safe write path. A cancel on the request
being waited for cancels everything in flight. Knows the ``Backend`` protocol, not HTTP.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from fastapply.backend import Backend
from fastapply.engine.types import GenerationRequest, GenerationResult, GenerationStats

Key = tuple[str, str, str, int | None, str | None]
POLL_SECONDS = 0.05


def request_key(request: GenerationRequest) -> Key:
    return (request.path, request.code, request.instruction, request.max_new_tokens, request.prediction)


class Prefetching:
    """A ``Backend`` that can start the next requests ahead of being asked for them."""

    def __init__(self, backend: Backend, jobs: int) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        self.backend = backend
        self.jobs = jobs
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fastapply-prefetch")
        self._pending: dict[Key, Future[GenerationResult]] = {}
        self._cancel = threading.Event()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def device(self) -> str:
        return self.backend.device

    @property
    def dtype(self) -> str:
        return self.backend.dtype

    @property
    def max_context(self) -> int:
        return self.backend.max_context

    def count_tokens(self, text: str) -> int:
        return self.backend.count_tokens(text)

    def prefetch(self, requests: list[GenerationRequest]) -> None:
        """Start ``requests`` (at most ``jobs`` at a time); their text streams nowhere until asked for."""
        with self._lock:
            for request in requests:
                key = request_key(request)
                if key not in self._pending:
                    quiet = replace(request, on_text=None, cancel=self._cancel)
                    self._pending[key] = self._pool.submit(self.backend.generate, quiet)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return sum(1 for f in self._pending.values() if not f.done())

    def generate(self, request: GenerationRequest) -> GenerationResult:
        with self._lock:
            future = self._pending.pop(request_key(request), None)
        if future is None:
            return self.backend.generate(request)
        while True:
            if request.cancel is not None and request.cancel.is_set():
                self.cancel_all()
                return GenerationResult(text="", stats=GenerationStats(finish_reason="cancelled"))
            try:
                result = future.result(timeout=POLL_SECONDS)
                break
            except TimeoutError:
                continue
        if request.on_text is not None and result.text:
            request.on_text(result.text)
        return result

    def cancel_all(self) -> None:
        self._cancel.set()
        with self._lock:
            for future in self._pending.values():
                future.cancel()
            self._pending.clear()

    def close(self) -> None:
        self.cancel_all()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Prefetching:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
