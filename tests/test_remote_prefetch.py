"""Keeping N remote requests in flight (``fastapply.remote.prefetch``) against a real HTTP server.

Properties: with ``jobs`` N the server sees N requests at once (never more), and the results,
taken one at a time in order, are the ones sequential requests give; streamed text still reaches
``on_text``; a cancel while waiting cancels what is in flight.
"""

from __future__ import annotations

import threading

from test_remote import CODE, RENAMED, base_of, canned

from fastapply.engine.prompt import CLOSE_OUTPUT, OPEN_OUTPUT
from fastapply.engine.types import GenerationRequest
from fastapply.remote.backend import RemoteBackend
from fastapply.remote.options import RemoteOptions
from fastapply.remote.prefetch import Prefetching

REPLY = f"{OPEN_OUTPUT}\n{RENAMED}{CLOSE_OUTPUT}"


def requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(code=CODE, instruction="Rename add to plus.", path=f"f{i}.py") for i in range(n)]


def test_n_requests_are_in_flight_and_results_come_back_in_order() -> None:
    with canned([REPLY] * 6, delay=0.4) as server:
        backend = RemoteBackend.connect(None, RemoteOptions(base_of(server)))
        with Prefetching(backend, jobs=3) as pool:
            pool.prefetch(requests(6))
            seen: list[str] = []
            results = [pool.generate(GenerationRequest(r.code, r.instruction, r.path, on_text=seen.append))
                       for r in requests(6)]
        assert server.most == 3
        assert [r.text for r in results] == [RENAMED] * 6 and all(r.finish_reason == "stop" for r in results)
        assert "".join(seen) == RENAMED * 6


def test_an_unprefetched_request_is_generated_directly_and_cancel_stops_all() -> None:
    with canned([REPLY] * 4, delay=0.5) as server:
        backend = RemoteBackend.connect(None, RemoteOptions(base_of(server)))
        with Prefetching(backend, jobs=2) as pool:
            assert pool.generate(requests(1)[0]).text == RENAMED
            pool.prefetch(requests(3)[1:])
            cancel = threading.Event()
            cancel.set()
            first = requests(3)[1]
            first.cancel = cancel
            assert pool.generate(first).finish_reason == "cancelled"
            assert pool.in_flight == 0
