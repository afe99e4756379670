"""`batch --jobs N` and `run --jobs N` against a real HTTP server: N requests in flight, same files.

The server (the standard library's http.server, OpenAI-shaped, streaming) renames as each
request's instruction says, from the file the request carries, after a delay, and counts the
requests it holds at once. Properties: with ``--jobs 3`` it holds 3 at once and never more; with
``--jobs 1`` one; the files written are byte-identical either way (so no result lands on the wrong
file); a retry after a failed check still goes through; a prediction's counts reach the JSON
record; ``--jobs 0`` is a usage error that writes nothing; a local model with ``--jobs 3`` is asked
one file at a time.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from conftest import FakeBackend, make_repo, rename_rewrite
from test_remote import Canned, base_of

from fastapply.cli.dispatch import main
from fastapply.engine.prompt import CLOSE_CODE, CLOSE_OUTPUT, OPEN_CODE, OPEN_OUTPUT
from fastapply.engine.types import GenerationRequest, GenerationResult

FILES = 6
DELAY = 0.4  # long enough that prefetched requests overlap on any machine


def source(i: int) -> str:
    return f"def add{i}(a, b):\n    return a + b\n\n\nprint(add{i}({i}, 2))\n"


class Renaming(Canned):
    """Replies with the request's file renamed as its instruction says; ``f0.py`` first comes back
    broken (a syntax error), so the parse check fails and the retry is what gets written."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        user = body["messages"][1]["content"]
        code = user.split(f"{OPEN_CODE}\n", 1)[1].split(CLOSE_CODE, 1)[0]
        instruction = re.search(r"Instruction: (.*)", user).group(1)  # type: ignore[union-attr]
        with self.server.lock:
            self.server.bodies.append(body)
            self.server.active += 1
            self.server.most = max(self.server.most, self.server.active)
        time.sleep(self.server.delay)
        with self.server.lock:
            self.server.active -= 1
        reply = rename_rewrite(code, GenerationRequest(code=code, instruction=instruction))
        if "File: f0.py" in user and "failed these checks" not in user:
            reply = reply.replace("(a, b):", "(a, b)")
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for piece in [f"{OPEN_OUTPUT}\n", *re.findall(r".{1,9}", reply, re.DOTALL), CLOSE_OUTPUT]:
            self._chunk({"index": 0, "delta": {"content": piece}, "finish_reason": None})
        self._chunk({"index": 0, "delta": {}, "finish_reason": "stop"})
        usage = {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70,
                 "completion_tokens_details": {"accepted_prediction_tokens": 17, "rejected_prediction_tokens": 2}}
        self._chunk(None, usage=usage)
        self.wfile.write(b"data: [DONE]\n\n")

    def _chunk(self, choice: dict[str, Any] | None, **extra: Any) -> None:
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "canned",
                 "choices": [choice] if choice else [], **extra}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())


@contextmanager
def renaming_server() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Renaming)
    server.lock, server.active, server.most, server.delay = threading.Lock(), 0, 0, DELAY  # type: ignore[attr-defined]
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def batch_repo(root: Path) -> tuple[Path, Path]:
    repo = make_repo(root, {f"f{i}.py": source(i) for i in range(FILES)})
    jobs = root.parent / f"{root.name}-jobs.jsonl"
    jobs.write_text("".join(json.dumps({"files": [f"f{i}.py"], "instruction": f"Rename add{i} to plus{i}."}) + "\n"
                            for i in range(FILES)))
    return repo, jobs


def files_of(repo: Path) -> dict[str, bytes]:
    return {f"f{i}.py": (repo / f"f{i}.py").read_bytes() for i in range(FILES)}


def run_batch_with(tmp_path: Path, monkeypatch: Any, capsys: Any, jobs: str) -> tuple[int, dict[str, bytes], Any, Any]:
    repo, jobs_file = batch_repo(tmp_path / f"jobs{jobs}")
    monkeypatch.chdir(repo)
    with renaming_server() as server:
        code = main(["batch", str(jobs_file), "--jobs", jobs, "--api-base", base_of(server), "--output-format", "json"])
    return code, files_of(repo), server, json.loads(capsys.readouterr().out)


def test_batch_keeps_three_requests_in_flight_and_writes_what_one_at_a_time_writes(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    code3, files3, server3, out3 = run_batch_with(tmp_path, monkeypatch, capsys, "3")
    code1, files1, server1, _ = run_batch_with(tmp_path, monkeypatch, capsys, "1")
    assert (code3, code1) == (0, 0)
    assert server3.most == 3 and server1.most == 1
    assert files3 == files1 == {f"f{i}.py": source(i).replace(f"add{i}", f"plus{i}").encode() for i in range(FILES)}
    assert len(server3.bodies) == len(server1.bodies) == FILES + 1  # f0.py's retry included
    records = [f for job in out3["jobs"] for f in job["files"]]
    assert [r["path"] for r in records] == [f"f{i}.py" for i in range(FILES)]
    assert records[0]["attempts"] == 2 and all(r["written"] for r in records)
    assert records[1]["prediction_accepted"] == 17 and records[1]["prediction_rejected"] == 2


def test_run_over_many_files_keeps_three_in_flight(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    repo = make_repo(tmp_path / "r", {f"f{i}.py": source(i) for i in range(FILES)})
    monkeypatch.chdir(repo)
    with renaming_server() as server:
        code = main(["run", *[f"f{i}.py" for i in range(1, FILES)], "-m", "Rename a to x.",
                     "--jobs", "3", "--api-base", base_of(server)])
    assert code == 0 and server.most == 3
    assert (repo / "f1.py").read_text() == source(1).replace("(a, b)", "(x, b)").replace("a + b", "x + b")


def test_jobs_below_one_is_a_usage_error_and_nothing_is_sent(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    repo, jobs_file = batch_repo(tmp_path / "zero")
    monkeypatch.chdir(repo)
    with renaming_server() as server:
        assert main(["batch", str(jobs_file), "--jobs", "0", "--api-base", base_of(server)]) == 2
        assert main(["run", "f1.py", "-m", "Rename a to x.", "--jobs", "-1", "--api-base", base_of(server)]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    assert server.bodies == [] and files_of(repo) == {f"f{i}.py": source(i).encode() for i in range(FILES)}


class Overlaps:
    """A local model (the fake, wrapped) that notes whether two generations ever ran at once."""

    def __init__(self) -> None:
        self.inner = FakeBackend(rewrite=rename_rewrite)
        self.name, self.device, self.dtype, self.max_context = "fake", "cpu", "float32", 32768
        self.active = self.most = 0

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.active += 1
        self.most = max(self.most, self.active)
        time.sleep(0.05)
        try:
            return self.inner.generate(request)
        finally:
            self.active -= 1


def test_a_local_model_takes_jobs_but_runs_one_at_a_time(tmp_path: Path, monkeypatch: Any, use_backend: Any) -> None:
    repo, jobs_file = batch_repo(tmp_path / "local")
    monkeypatch.chdir(repo)
    backend = Overlaps()
    use_backend(backend)
    assert main(["batch", str(jobs_file), "--jobs", "3", "--no-checks"]) == 0
    assert backend.most == 1
    assert files_of(repo) == {f"f{i}.py": source(i).replace(f"add{i}", f"plus{i}").encode() for i in range(FILES)}
