"""`fastapply serve` under load and abuse: the queue, timeouts, keys, body limits, hang-ups.

The engine is not the subject here, so the server runs (in-process uvicorn on 127.0.0.1) over a
fake backend that streams slowly and honours cancel; clients are the official ``openai`` SDK and
plain httpx. ``serving`` is shared with the other serve and remote tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from fastapply.engine.types import GenerationRequest, GenerationResult, GenerationStats
from fastapply.serve.app import ServeOptions, create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(backend: Any, name: str = "fake", **options: Any) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 over ``backend``; yields its ``/v1`` base URL."""
    import uvicorn

    port = free_port()
    app = create_app(backend, ServeOptions(name, **options))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class SlowBackend:
    """Streams ``pieces`` lines, ``delay`` seconds apart, stopping at once when cancelled."""

    pieces: int = 20
    delay: float = 0.05
    name: str = "fake"
    device: str = "cpu"
    dtype: str = "float32"
    max_context: int = 2000
    tokenizer: Any = None
    requests: list[GenerationRequest] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        self.started.set()
        text = ""
        for i in range(self.pieces):
            if request.cancel is not None and request.cancel.is_set():
                self.cancelled.set()
                return GenerationResult(text=text, stats=GenerationStats(tokens=i, finish_reason="cancelled"))
            piece = f"line {i}\n"
            text += piece
            if request.on_text:
                request.on_text(piece)
            time.sleep(self.delay)
        return GenerationResult(text=text, stats=GenerationStats(tokens=self.pieces, finish_reason="stop"))


def chat(client: openai.OpenAI, **extra: Any) -> Any:
    return client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi"}], **extra)


def client_for(base: str, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=base, api_key=key, max_retries=0, timeout=30)


def test_a_full_queue_is_answered_429_and_the_server_then_serves_again() -> None:
    backend = SlowBackend(pieces=30, delay=0.05)
    with serving(backend, max_waiting=1) as base:
        client = client_for(base)
        results: list[Any] = []
        threads = [threading.Thread(target=lambda: results.append(chat(client).choices[0].message.content))
                   for _ in range(2)]
        threads[0].start()
        assert backend.started.wait(10)
        threads[1].start()  # waits: the one place in the queue
        time.sleep(0.3)
        with pytest.raises(openai.RateLimitError) as caught:
            chat(client)
        assert caught.value.status_code == 429
        assert caught.value.body["code"] == "queue_full"
        for thread in threads:
            thread.join(20)
        assert len(results) == 2 and all(r.startswith("line 0\n") for r in results)
        assert chat(client).choices[0].message.content.endswith("line 29\n")


def test_a_request_that_waits_too_long_is_answered_503() -> None:
    backend = SlowBackend(pieces=40, delay=0.05)
    with serving(backend, wait_timeout=0.3) as base:
        client = client_for(base)
        first = threading.Thread(target=lambda: chat(client))
        first.start()
        assert backend.started.wait(10)
        with pytest.raises(openai.InternalServerError) as caught:
            chat(client)
        assert caught.value.status_code == 503
        assert caught.value.body["code"] == "queue_timeout"
        first.join(20)


def test_a_key_is_required_when_set_and_compared_exactly() -> None:
    with serving(SlowBackend(pieces=1), api_key="s3cret") as base:
        with pytest.raises(openai.AuthenticationError) as caught:
            chat(client_for(base, "wrong"))
        assert caught.value.status_code == 401
        with pytest.raises(openai.AuthenticationError):
            client_for(base, "wrong").models.list()
        assert chat(client_for(base, "s3cret")).choices[0].message.content == "line 0\n"
        assert httpx.get(base.removesuffix("/v1") + "/health").json()["status"] == "ok"
        assert client_for(base, "s3cret").models.retrieve("fake").id == "fake"
        with pytest.raises(openai.NotFoundError):
            client_for(base, "s3cret").models.retrieve("other")


def test_a_body_over_the_limit_is_answered_413_in_openai_shape() -> None:
    with serving(SlowBackend(pieces=1), max_body_bytes=10_000) as base:
        response = httpx.post(f"{base}/chat/completions", content=b"{" + b" " * 20_000 + b"}",
                              headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"
        assert chat(client_for(base)).choices[0].message.content == "line 0\n"


def test_malformed_and_unsupported_requests_are_400_never_500() -> None:
    with serving(SlowBackend(pieces=1)) as base:
        def post(body: bytes) -> httpx.Response:
            return httpx.post(f"{base}/chat/completions", content=body, headers={"content-type": "application/json"})

        for body in (b"not json", b"[1, 2]", b'{"model": "fake"}', b'{"model": "fake", "messages": [{"role": "x"}]}',
                     b'{"model": "fake", "messages": [{"role": "user", "content": "a"}], "n": 2}',
                     b'{"model": "fake", "messages": [{"role": "user", "content": "a"}], "max_tokens": -1}',
                     b'{"model": "fake", "messages": [{"role": "user", "content": "a"}], "prediction": "x"}'):
            response = post(body)
            assert response.status_code == 400, body
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        assert httpx.get(f"{base}/nowhere").status_code == 404
        assert httpx.get(f"{base}/nowhere").json()["error"]["type"] == "not_found_error"


def test_a_client_hanging_up_mid_stream_cancels_its_generation_and_the_next_request_runs() -> None:
    backend = SlowBackend(pieces=400, delay=0.02)
    with serving(backend) as base:
        client = client_for(base)
        stream = chat(client, stream=True)
        next(iter(stream))
        stream.close()
        assert backend.cancelled.wait(5), "the generation ran on after the client left"
        backend.pieces = 3
        assert chat(client).choices[0].message.content == "line 0\nline 1\nline 2\n"


def test_the_openai_client_sees_stream_chunks_usage_and_done() -> None:
    with serving(SlowBackend(pieces=5, delay=0.0)) as base:
        chunks = list(chat(client_for(base), stream=True, stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "".join(f"line {i}\n" for i in range(5))
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5
