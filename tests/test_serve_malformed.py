"""`fastapply serve` against hostile input: bodies nested too deep for the JSON parser, text that is
not valid Unicode, and a port that is already taken.

Properties: a body nested past the parser's recursion limit is a 400 in OpenAI's shape, never a
500; a lone surrogate (a JSON escape such as ``\\ud800``, so the body is valid JSON) in any text
the model would read is a 400 naming the field, before the request is admitted or anything runs,
while a proper surrogate pair is accepted; ``fastapply serve`` on a port in use says so in one line
and exits 4 (a system error, README.md's exit codes) before loading the model. The server runs over
the fake backend of ``test_serve_load``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_serve_load import SlowBackend, client_for, serving

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def backend() -> SlowBackend:
    return SlowBackend(pieces=1, delay=0.0)


@pytest.fixture(scope="module")
def base(backend: SlowBackend) -> Iterator[str]:
    with serving(backend) as url:
        yield url


def post(base: str, path: str, body: dict[str, Any]) -> httpx.Response:
    # httpx, not the openai client: both encode JSON with ensure_ascii=False, which cannot write a
    # lone surrogate; json.dumps's default escapes it, as a hostile client would send it.
    return httpx.post(f"{base}/{path}", content=json.dumps(body).encode(),
                      headers={"content-type": "application/json"}, timeout=30)


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    return dict(error)


@pytest.mark.parametrize("path", ["chat/completions", "completions"])
def test_a_body_nested_past_the_parsers_limit_is_400_and_the_server_serves_on(base: str, path: str) -> None:
    deep = b"[" * 40_000 + b"]" * 40_000
    response = httpx.post(f"{base}/{path}", content=deep, headers={"content-type": "application/json"}, timeout=30)
    assert "nested too deeply" in assert_openai_error(response, 400)["message"]
    reply = client_for(base).chat.completions.create(model="fake", messages=USER)
    assert reply.choices[0].message.content == "line 0\n"


LONE = "\ud800"
CHAT = {"model": "fake", "messages": USER}
COMPLETION = {"model": "fake", "prompt": "hi"}


@pytest.mark.parametrize("path, body, param", [
    ("chat/completions", {**CHAT, "messages": [{"role": "user", "content": f"x{LONE}y"}]}, "messages[0].content"),
    ("chat/completions", {**CHAT, "messages": [*USER, {"role": "assistant", "content": [
        {"type": "text", "text": "ok"}, {"type": "text", "text": "\udfff"}]}]}, "messages[1].content"),
    ("chat/completions", {**CHAT, "prediction": {"type": "content", "content": LONE}}, "prediction.content"),
    ("chat/completions", {**CHAT, "stop": ["END", LONE]}, "stop"),
    ("completions", {**COMPLETION, "prompt": f"def f():{LONE}"}, "prompt"),
    ("completions", {**COMPLETION, "prompt": [LONE]}, "prompt"),
    ("completions", {**COMPLETION, "prediction": {"type": "content", "content": LONE}}, "prediction.content"),
])
def test_a_lone_surrogate_is_400_naming_the_field_and_nothing_runs(base: str, backend: SlowBackend, path: str,
                                                                    body: dict[str, Any], param: str) -> None:
    ran = len(backend.requests)
    error = assert_openai_error(post(base, path, body), 400)
    assert error["param"] == param and "not valid Unicode" in error["message"]
    assert len(backend.requests) == ran, "a request with invalid text reached the model"
    health = httpx.get(base.removesuffix("/v1") + "/health", timeout=30).json()
    assert (health["busy"], health["waiting"]) == (False, 0)
    pair = post(base, "chat/completions", {**CHAT, "messages": [{"role": "user", "content": "\ud83d\ude00"}]})
    assert pair.status_code == 200 and "\U0001f600" in (backend.requests[-1].prompt or "")


@pytest.mark.parametrize("model", ["default", "no-such-model"])  # the second would fail to load: bound first
def test_serve_on_a_port_in_use_says_so_and_exits_4_before_loading(tmp_path: Path, model: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "fastapply.cli", "serve", "--port", str(port), "--model", model, "--device", "cpu"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    assert done.returncode == 4, done.stderr
    assert done.stderr.strip() == f"fastapply: system error: cannot listen on 127.0.0.1:{port}: address already in use"
