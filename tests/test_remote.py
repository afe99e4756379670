"""Remote backends through the real CLI: `fastapply run --api-base ...` against real HTTP servers.

Two kinds of server stand in for vLLM, llama.cpp or OpenAI: ``fastapply serve``'s app over a
fake backend that renames as told (in-process uvicorn), and a canned OpenAI-shaped server (the
standard library's http.server) whose replies the test chooses, to see chatter refused, a
refused prediction dropped, and a server that dies mid-stream. Property throughout: whatever goes
wrong remotely, the file keeps its bytes and the exit code says so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import rename_rewrite
from test_serve_load import free_port, serving

from fastapply.cli.dispatch import main
from fastapply.engine.prompt import CLOSE_CODE, CLOSE_OUTPUT, OPEN_CODE, OPEN_OUTPUT
from fastapply.engine.types import GenerationRequest, GenerationResult, GenerationStats
from fastapply.remote.extract import FileStream, NotAFile, continued_file, reply_file

CODE = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
RENAMED = CODE.replace("add", "plus")


@dataclass
class PromptRenamer:
    """A served model that finds the file in a raw prompt and renames as the instruction says."""

    name: str = "renamer"
    device: str = "cpu"
    dtype: str = "float32"
    max_context: int = 100_000
    tokenizer: Any = None
    requests: list[GenerationRequest] = field(default_factory=list)

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        prompt = request.prompt or ""
        code = prompt.split(f"{OPEN_CODE}\n", 1)[1].split(CLOSE_CODE, 1)[0]
        instruction = re.search(r"Instruction: (.*)", prompt).group(1)  # type: ignore[union-attr]
        text = rename_rewrite(code, GenerationRequest(code=code, instruction=instruction))
        assert prompt.endswith(f"{OPEN_OUTPUT}\n"), "the reply is continued from the pre-filled marker"
        if request.on_text:
            request.on_text(text)
        stats = GenerationStats(tokens=len(text) // 4, prediction_accepted=len(text) // 5, finish_reason="stop")
        return GenerationResult(text=text, stats=stats)


@pytest.fixture
def repo(repo_factory: Any, in_dir: Any) -> Path:
    root = repo_factory({"calc.py": CODE})
    in_dir(root)
    return root


def run(*args: str) -> int:
    return main(["run", "calc.py", "-m", "Rename the function add to plus.", *args])


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_run_against_fastapply_serve_rewrites_the_file(repo: Path, mode: str, monkeypatch: Any) -> None:
    backend = PromptRenamer()
    with serving(backend, name="renamer") as base:
        assert run("--api-base", base, "--model", "renamer", "--api-mode", mode, "--tokenizer", "default") == 0
    assert (repo / "calc.py").read_text() == RENAMED
    sent = backend.requests[0]
    assert (sent.prediction == CODE) is (mode == "chat")  # completions drafts from the prompt itself


def test_without_model_the_servers_only_model_is_used_and_no_prediction_is_honoured(repo: Path) -> None:
    backend = PromptRenamer()
    with serving(backend, name="renamer") as base:
        assert run("--api-base", base, "--no-prediction") == 0
    assert (repo / "calc.py").read_text() == RENAMED
    assert backend.requests[0].prediction is None


def test_refused_connection_unknown_model_and_bad_key_exit_4_and_write_nothing(repo: Path, capsys: Any,
                                                                                monkeypatch: Any) -> None:
    assert run("--api-base", f"http://127.0.0.1:{free_port()}/v1", "--model", "m") == 4
    assert "cannot reach the server" in capsys.readouterr().err
    with serving(PromptRenamer(), name="renamer", api_key="right") as base:
        monkeypatch.setenv("TEAM_KEY", "right")
        assert run("--api-base", base, "--model", "other", "--api-key-env", "TEAM_KEY") == 4
        assert "has no model 'other'" in capsys.readouterr().err
        monkeypatch.setenv("OPENAI_API_KEY", "wrong")
        assert run("--api-base", base, "--model", "renamer") == 4
        assert "refused the API key" in capsys.readouterr().err
        monkeypatch.delenv("TEAM_UNSET", raising=False)
        assert run("--api-base", base, "--api-key-env", "TEAM_UNSET") == 2
    assert (repo / "calc.py").read_text() == CODE


class Canned(BaseHTTPRequestHandler):
    """An OpenAI-shaped server that streams the reply ``server.replies`` gives, or dies mid-stream."""

    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "canned", "object": "model", "created": 0, "owned_by": "x"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.bodies.append(body)
        refused = [p for p in self.server.refuse if p in body]
        if refused:
            self._json(400, {"error": {"message": f"Unsupported parameter: '{refused[0]}'",
                                       "type": "invalid_request_error", "param": refused[0], "code": None}})
            return
        with self.server.lock:
            self.server.active += 1
            self.server.most = max(self.server.most, self.server.active)
        time.sleep(self.server.delay)
        with self.server.lock:
            self.server.active -= 1
        reply = self.server.replies.pop(0)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        if reply.startswith(RAW):  # a stream that is not OpenAI's shape, sent as it stands
            self.wfile.write(reply.removeprefix(RAW).encode())
            return
        for piece in re.findall(r".{1,7}", reply, re.DOTALL):
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "canned",
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        if self.server.die:
            self.wfile.flush()
            self.close_connection = True
            return
        done = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "canned",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())


RAW = "raw:"


@contextmanager
def canned(replies: list[str], *, refuse: tuple[str, ...] = (), die: bool = False,
           delay: float = 0.0) -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    server.lock, server.active, server.most, server.delay = threading.Lock(), 0, 0, delay  # type: ignore[attr-defined]
    server.replies, server.bodies = list(replies), []  # type: ignore[attr-defined]
    server.refuse, server.die = refuse, die  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_of(server: Any) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def test_a_fresh_chat_reply_between_markers_is_written_and_a_refused_prediction_is_dropped(repo: Path) -> None:
    reply = f"Here you go:\n{OPEN_OUTPUT}\n{RENAMED}{CLOSE_OUTPUT}\nAnything else?"
    with canned([reply], refuse=("prediction",)) as server:
        assert run("--api-base", base_of(server)) == 0
    assert (repo / "calc.py").read_text() == RENAMED
    assert ["prediction" in b for b in server.bodies] == [True, False]
    assert server.bodies[1]["stop"] == [CLOSE_OUTPUT] and server.bodies[1]["temperature"] == 0


def test_parameters_a_reasoning_model_refuses_are_dropped_once_for_every_file(repo: Path) -> None:
    (repo / "two.py").write_text(CODE)
    reply = f"{OPEN_OUTPUT}\n{RENAMED}{CLOSE_OUTPUT}"  # no stop sent, so the close marker arrives
    with canned([reply, reply], refuse=("temperature", "stop")) as server:
        assert main(["run", "calc.py", "two.py", "-m", "Rename add to plus.", "--api-base", base_of(server)]) == 0
    assert (repo / "calc.py").read_text() == (repo / "two.py").read_text() == RENAMED
    assert [sorted(set(b) & {"temperature", "stop"}) for b in server.bodies] == [
        ["stop", "temperature"], ["stop"], [], []]


@pytest.mark.parametrize("reply", ["Sure, I renamed it for you.", f"```python\n{RENAMED}```\n```\nx\n```\n",
                                   f"{OPEN_OUTPUT}\n{RENAMED}{CLOSE_OUTPUT}{OPEN_OUTPUT}\n{CODE}{CLOSE_OUTPUT}"])
def test_chatter_or_two_blocks_is_not_written(repo: Path, reply: str, capsys: Any) -> None:
    with canned([reply]) as server:
        assert run("--api-base", base_of(server), "--output-format", "json") == 4
    assert (repo / "calc.py").read_text() == CODE
    out = json.loads(capsys.readouterr().out)
    assert out["files"][0]["status"] == "failed" and "not written" in out["files"][0]["reason"]


def test_a_server_that_dies_mid_stream_fails_the_file_with_exit_4(repo: Path, capsys: Any) -> None:
    with canned([f"{OPEN_OUTPUT}\n{RENAMED}"], die=True) as server:
        assert run("--api-base", base_of(server)) == 4
    assert (repo / "calc.py").read_text() == CODE
    assert "ended the stream before the reply was complete" in capsys.readouterr().out


@pytest.mark.parametrize(("stream", "reason"), [
    ("data: {not json\n\n", "malformed stream"),
    ('data: {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "canned",'
     ' "choices": [{"index": 0, "delta": null, "finish_reason": null}]}\n\n', "malformed stream"),
    ('data: {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "canned", "choices": [{"index": 0,'
     ' "delta": {"content": "<updated-code>\\nx = \\"\\ud800\\"\\n</updated-code>"}, "finish_reason": "stop"}]}\n\n'
     "data: [DONE]\n\n", "not valid Unicode"),
])
def test_a_malformed_stream_fails_its_file_and_the_run_goes_on(repo: Path, capsys: Any, stream: str, reason: str) -> None:
    (repo / "two.py").write_text(CODE)
    with canned([RAW + stream, f"{OPEN_OUTPUT}\n{RENAMED}{CLOSE_OUTPUT}"]) as server:
        code = main(["run", "calc.py", "two.py", "-m", "Rename add to plus.", "--api-base", base_of(server),
                     "--output-format", "json", "--no-prediction"])
    assert code == 4
    files = {f["path"]: f for f in json.loads(capsys.readouterr().out)["files"]}
    assert files["calc.py"]["status"] == "failed" and reason in files["calc.py"]["reason"]
    assert (repo / "calc.py").read_text() == CODE and (repo / "two.py").read_text() == RENAMED


def test_extraction_rules() -> None:
    assert reply_file(f"{OPEN_OUTPUT}\nx = 1\n{CLOSE_OUTPUT}") == "x = 1\n"
    assert reply_file(f"chat\n{OPEN_OUTPUT}\nx = 1\n") == "x = 1\n"  # the stop sequence ended it
    assert reply_file("Here:\n```python\nx = 1\n```\n") == "x = 1\n"
    assert continued_file(f"x = 1\n{CLOSE_OUTPUT}trailing") == "x = 1\n"
    for bad in ("just words", "```\nx\n```\n```\ny\n```", f"{OPEN_OUTPUT}a{OPEN_OUTPUT}b"):
        with pytest.raises(NotAFile):
            reply_file(bad)


def test_streaming_hands_on_only_the_file() -> None:
    seen: list[str] = []
    stream = FileStream(seen.append, continued=False)
    for piece in ["Sure", f"! {OPEN_OUTPUT[:5]}", f"{OPEN_OUTPUT[5:]}\nx = ", "1\n</upd", "ated-code>"]:
        stream.push(piece)
    stream.finish("x = 1\n")
    assert "".join(seen) == "x = 1\n"


def test_configuration_then_environment_name_the_server(repo_factory: Any, in_dir: Any, monkeypatch: Any) -> None:
    from fastapply.backend import load_model

    with serving(PromptRenamer(), name="renamer") as base:
        root = repo_factory({"calc.py": CODE, ".fastapply.toml": f'api_base = "{base}"\nmodel = "renamer"\n'})
        in_dir(root)
        assert run() == 0
        assert (root / "calc.py").read_text() == RENAMED
        monkeypatch.setenv("FASTAPPLY_API_BASE", base)
        backend = load_model("renamer")  # how the TUI loads: the environment alone makes it remote
        assert (backend.name, backend.device) == ("renamer", f"remote {base.split('/')[2]}")


def test_a_file_over_the_servers_context_is_refused_with_the_numbers(repo: Path, capsys: Any) -> None:
    with serving(PromptRenamer(max_context=20), name="renamer") as base:
        assert run("--api-base", base) == 3
    assert (repo / "calc.py").read_text() == CODE
    assert "the model reads 20" in capsys.readouterr().out


_OFFLINE_TOKENIZER = """
import socket, time
def no_network(*args, **kwargs):
    raise socket.gaierror(-2, "Name or service not known")
socket.getaddrinfo = no_network  # this Python sees a machine without network, as an offline one
from fastapply.errors import UsageError
from fastapply.remote.tokens import load_remote_tokenizer
started = time.monotonic()
try:
    load_remote_tokenizer("no-such-org/no-such-served-model")
except UsageError as exc:
    print(f"{time.monotonic() - started:.1f}", exc)
"""


def test_completions_mode_without_a_tokenizer_fails_fast_offline(tmp_path: Path) -> None:
    # completions mode defaults the tokenizer to the served model's name; the hub client alone
    # would retry the unreachable hub for about 50 s before saying so
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT")}
    env["HF_HUB_CACHE"] = str(tmp_path / "empty-cache")
    done = subprocess.run([sys.executable, "-c", _OFFLINE_TOKENIZER], env=env, capture_output=True,
                          text=True, timeout=40)
    assert done.returncode == 0, done.stderr
    seconds, message = done.stdout.strip().split(" ", 1)
    assert float(seconds) < 10
    assert "no-such-org/no-such-served-model" in message and "pass --tokenizer" in message
    assert "cannot be reached" in message and "Retrying" not in done.stderr
