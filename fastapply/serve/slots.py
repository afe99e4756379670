"""Admission to the one model: generations run one at a time, behind a bounded queue.

A request that finds ``max_waiting`` others already waiting is answered 429 at once; one that
waits longer than ``wait_timeout`` seconds is answered 503, and one whose ``gone`` says its client
has left (asked every ``poll`` seconds while it waits) gives its place up at once. The slot is held
until the generation has really ended (a cancelled one included), so the queue always tells the
truth about the model.
Knows asyncio, not HTTP or models.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapply.serve.errors import OVERLOADED, RATE_LIMIT, ApiError


class ClientGone(Exception):
    """The client hung up while its request waited for the model."""


class GenerationSlots:
    def __init__(self, max_waiting: int, wait_timeout: float) -> None:
        self.max_waiting = max_waiting
        self.wait_timeout = wait_timeout
        self._lock = asyncio.Lock()
        self.waiting = 0

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    @asynccontextmanager
    async def slot(self, gone: Callable[[], Awaitable[bool]] | None = None,
                   poll: float = 0.2) -> AsyncIterator[None]:
        """Hold the model for one generation. Raises ``ApiError`` 429 (queue full) or 503 (waited too
        long), or ``ClientGone`` once ``gone()`` is true while waiting."""
        if self._lock.locked() and self.waiting >= self.max_waiting:
            raise ApiError(
                429,
                f"the queue is full ({self.waiting} requests waiting for the model); retry later",
                RATE_LIMIT,
                code="queue_full",
            )
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_timeout):
                await self._acquire(gone, poll)
        except TimeoutError:
            raise ApiError(
                503,
                f"waited {self.wait_timeout:g} s for the model without getting it; retry later",
                OVERLOADED,
                code="queue_timeout",
            ) from None
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._lock.release()

    async def _acquire(self, gone: Callable[[], Awaitable[bool]] | None, poll: float) -> None:
        """Take the lock with one waiter (its place in line kept), asking ``gone`` every ``poll`` s."""
        if gone is None:
            await self._lock.acquire()
            return
        acquiring = asyncio.ensure_future(self._lock.acquire())
        try:
            while True:
                await asyncio.wait({acquiring}, timeout=poll)
                if acquiring.done():
                    return
                if await gone():
                    raise ClientGone
        except BaseException:
            if acquiring.done():
                if not acquiring.cancelled() and acquiring.exception() is None:
                    self._lock.release()  # got it just as we gave up: pass it on
            else:
                acquiring.cancel()  # Lock.acquire wakes the next waiter if it had been chosen
            raise
