"""Running a blocking ``Backend.generate`` from the event loop, one generation thread, events in order.

``GenerationRunner.start`` hands a request to the single worker thread and returns a ``Running``:
an asyncio queue of ``("text", piece)`` events ending with ``("end", None)``, a cancel flag wired
to ``request.cancel``, and ``finish()``, which cancels and waits until the thread has let go of the
model. Knows asyncio and the backend's request type, not HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio

from fastapply.backend import Backend
from fastapply.engine.types import GenerationRequest, GenerationResult

T = TypeVar("T")


class Running:
    """One generation in flight on the worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor,
                 backend: Backend, request: GenerationRequest) -> None:
        self.events: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
        self.cancel = threading.Event()
        self.prompt_tokens = 0  # as the server counted them, for engines that do not report it
        self.checked = loop.time()  # when the caller last looked for a client that hung up
        request.cancel = self.cancel
        # Pieces are queued through the loop in call order, and the end after them: the future's
        # callback is scheduled only once ``generate`` has returned.
        request.on_text = lambda piece: loop.call_soon_threadsafe(self.events.put_nowait, ("text", piece))
        self.future: asyncio.Future[GenerationResult] = loop.run_in_executor(executor, backend.generate, request)
        self.future.add_done_callback(lambda _: self.events.put_nowait(("end", None)))

    def result(self) -> GenerationResult:
        """The result once ``("end", None)`` has arrived; re-raises what ``generate`` raised."""
        return self.future.result()

    async def finish(self) -> None:
        """Cancel if still running and wait for the thread to return, whatever cancels the caller."""
        if not self.future.done():
            self.cancel.set()
        with anyio.CancelScope(shield=True):
            await asyncio.wait({self.future})


class GenerationRunner:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastapply-generate")

    def start(self, request: GenerationRequest) -> Running:
        return Running(asyncio.get_running_loop(), self.executor, self.backend, request)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the generation thread (tokenizer work never overlaps a generation)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
