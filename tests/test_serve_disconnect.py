"""`fastapply serve` when clients hang up without reading: a whole-answer request cancels its
generation even while tokens keep coming, and a queued one gives its place in the queue up.

Real server on 127.0.0.1 (``serving``) over the slow fake backend; the clients that leave are raw
sockets, closed, so the server sees exactly a hang-up. Every wait is bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from test_serve_load import SlowBackend, chat, client_for, serving


def send_chat(base: str, max_tokens: int = 1_000_000) -> socket.socket:
    """A non-streaming chat request sent on a raw socket, left unread for the caller to close."""
    url = httpx.URL(base)
    body = json.dumps({"model": "fake", "messages": [{"role": "user", "content": "hi"}],
                       "max_tokens": max_tokens}).encode()
    sock = socket.create_connection((url.host, url.port), timeout=5)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
    return sock


def health(base: str) -> dict[str, Any]:
    return dict(httpx.get(base.removesuffix("/v1") + "/health", timeout=5).json())


def until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_whole_answer_client_hanging_up_cancels_a_generation_that_never_pauses() -> None:
    # A piece every 10 ms: never the 0.2 s gap a gap-based check waits for.
    backend = SlowBackend(pieces=100_000, delay=0.01)
    with serving(backend) as base:
        sock = send_chat(base)
        assert backend.started.wait(10)
        time.sleep(0.3)
        sock.close()
        assert backend.cancelled.wait(3), "the generation ran on after the client left"
        assert until(lambda: not health(base)["busy"], 3), "the slot stayed busy"
        backend.pieces = 3
        assert chat(client_for(base)).choices[0].message.content == "line 0\nline 1\nline 2\n"


def test_a_queued_client_hanging_up_gives_its_queue_place_up() -> None:
    backend = SlowBackend(pieces=100_000, delay=0.01)
    with serving(backend, max_waiting=1) as base:
        running = send_chat(base)
        assert backend.started.wait(10)
        backend.pieces = 3  # for the requests after it; the running one keeps its 100,000
        queued = send_chat(base)
        assert until(lambda: health(base)["waiting"] == 1, 5), "the second request did not queue"
        queued.close()
        assert until(lambda: health(base)["waiting"] == 0, 3), "the hung-up client kept its queue place"
        results: list[Any] = []
        thread = threading.Thread(target=lambda: results.append(chat(client_for(base)).choices[0].message.content))
        thread.start()  # the freed place: queued, not 429 queue_full
        assert until(lambda: health(base)["waiting"] == 1 or not thread.is_alive(), 5)
        running.close()
        thread.join(15)
        assert results == ["line 0\nline 1\nline 2\n"]
        assert len(backend.requests) == 2, "the hung-up queued request still reached the model"
