"""`fastapply serve` with the embedded default model, talked to with the official openai client.

One server process per module (``fastapply serve --model default`` on a free 127.0.0.1 port, the
model loaded once), and the same model loaded here for the local side. Properties: a predicted
rewrite through the server is the local engine's rewrite, streamed or not, chat or completions,
with or without a prediction (greedy is exact), and reports accepted prediction tokens; every bad
request gets its status; a client hanging up mid-stream leaves the server serving; concurrent
clients all get the same answer; `fastapply run`/`batch --api-base` against the server give what
the local engine gives.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import make_repo
from test_serve_load import free_port

from fastapply.cli.dispatch import main
from fastapply.engine.prompt import CLOSE_OUTPUT, OPEN_OUTPUT, SYSTEM, prompt_text, user_message

ROOT = Path(__file__).resolve().parents[1]
DEMO = (ROOT / "examples" / "demo_repo" / "inventory.py").read_text()
CODE = "".join(DEMO.splitlines(keepends=True)[:40])
INSTRUCTION = "Rename the function add to plus."
MESSAGES = [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": user_message(INSTRUCTION, CODE, "inventory.py")},
            {"role": "assistant", "content": f"{OPEN_OUTPUT}\n"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fastapply.cli", "serve", "--port", str(port), "--model", "default",
             "--device", "cpu", "--max-queue", "4"],
            cwd=log.parent, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while True:
        assert proc.poll() is None, f"fastapply serve exited: {log.read_text()}"
        assert time.monotonic() < deadline, f"fastapply serve did not come up: {log.read_text()}"
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    try:
        yield f"{base}/v1"
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server, api_key="none", max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def local_text() -> str:
    from fastapply.engine.api import Engine
    from fastapply.engine.types import GenerationRequest

    result = Engine.load("default", device="cpu").generate(GenerationRequest(CODE, INSTRUCTION, "inventory.py"))
    assert result.finish_reason == "stop"
    return result.text


def rewrite(client: openai.OpenAI, **extra: Any) -> Any:
    return client.chat.completions.create(model="default", messages=MESSAGES, stop=[CLOSE_OUTPUT], **extra)


def test_models_and_health(client: openai.OpenAI, server: str) -> None:
    models = client.models.list().data
    assert [m.id for m in models] == ["default"]
    assert models[0].model_extra["max_context"] == 4096
    assert httpx.get(server.removesuffix("/v1") + "/health").json()["status"] == "ok"


def test_a_predicted_rewrite_is_the_local_rewrite_and_reports_accepted_tokens(client: openai.OpenAI,
                                                                             local_text: str) -> None:
    reply = rewrite(client, prediction={"type": "content", "content": CODE})
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content == local_text
    details = reply.usage.completion_tokens_details
    assert details.accepted_prediction_tokens > 0 and details.rejected_prediction_tokens >= 0
    assert reply.usage.prompt_tokens > len(CODE) // 10 and reply.usage.completion_tokens > 0


def test_the_same_rewrite_streamed_gives_the_same_text_and_usage_last(client: openai.OpenAI, local_text: str) -> None:
    chunks = list(rewrite(client, prediction={"type": "content", "content": CODE}, stream=True,
                          stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == local_text
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens_details.accepted_prediction_tokens > 0


def test_without_a_prediction_and_through_completions_the_text_is_the_same(client: openai.OpenAI,
                                                                           local_text: str) -> None:
    assert rewrite(client).choices[0].message.content == local_text
    from fastapply.engine.assets import DEFAULT_MODEL_DIR
    from fastapply.engine.load import load_tokenizer

    prompt = prompt_text(load_tokenizer(DEFAULT_MODEL_DIR), INSTRUCTION, CODE, "inventory.py")
    done = client.completions.create(model="default", prompt=prompt, stop=[CLOSE_OUTPUT], temperature=0)
    assert done.choices[0].text == local_text


def test_a_long_reply_without_max_tokens_may_use_the_rest_of_the_context(client: openai.OpenAI) -> None:
    messages = [*MESSAGES[:1], {"role": "user", "content": user_message(INSTRUCTION, DEMO, "inventory.py")},
                MESSAGES[2]]
    reply = client.chat.completions.create(model="default", messages=messages, stop=[CLOSE_OUTPUT])
    assert reply.choices[0].finish_reason == "stop" and reply.usage.completion_tokens > 1000


def test_each_bad_request_gets_its_status(client: openai.OpenAI, server: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        rewrite(client, temperature=0.7)
    assert caught.value.body["param"] == "temperature" and "greedily" in caught.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-5", messages=MESSAGES[:2])
    assert missing.value.body["code"] == "model_not_found"
    huge = [{"role": "user", "content": "x = 1\n" * 6000}]
    with pytest.raises(openai.APIStatusError) as long:
        client.chat.completions.create(model="default", messages=huge)
    assert long.value.status_code == 413 and long.value.body["code"] == "context_length_exceeded"
    bad = httpx.post(f"{server}/chat/completions", content=b'{"model": "default", "messages": 3}',
                     headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages"


def test_a_client_leaving_mid_stream_then_a_normal_request(client: openai.OpenAI, local_text: str) -> None:
    stream = rewrite(client, stream=True)
    next(iter(stream))
    stream.close()
    assert rewrite(client).choices[0].message.content == local_text


def test_four_concurrent_clients_all_get_the_rewrite(server: str, local_text: str) -> None:
    texts: list[str] = []

    def one() -> None:
        own = openai.OpenAI(base_url=server, api_key="none", max_retries=0, timeout=300)
        texts.append(rewrite(own, prediction={"type": "content", "content": CODE}).choices[0].message.content)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert texts == [local_text] * 4


def test_a_non_loopback_bind_without_a_key_is_refused_before_loading(tmp_path: Path) -> None:
    for extra in ([], ["--api-key-env", "FASTAPPLY_TEST_UNSET_KEY"]):
        done = subprocess.run([sys.executable, "-m", "fastapply.cli", "serve", "--host", "0.0.0.0", *extra],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k != "FASTAPPLY_TEST_UNSET_KEY"})
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and ("API key" in done.stderr or "not set" in done.stderr)


def _outcome(root: Path, *args: str) -> Any:
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as out:
        patch.chdir(root)
        code = main([*args, "--output-format", "json"])
    return code, json.loads(out.getvalue()), {p.name: p.read_bytes() for p in root.glob("*.py")}


FILES = {"inventory.py": CODE, "tail.py": "def f():\n    return 1"}  # one without a final newline
RUN = ["run", "inventory.py", "tail.py", "-m", INSTRUCTION]
KEYS = ("path", "status", "after_sha256")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _outcome(make_repo(tmp_path_factory.mktemp("local") / "repo", FILES), *RUN, "--model", "default")


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_run_and_batch_with_api_base_give_the_local_result(server: str, mode: str, tmp_path: Path,
                                                           local_run: Any) -> None:
    remote = ["--api-base", server, "--model", "default", "--api-mode", mode, "--tokenizer", "default"]
    far = _outcome(make_repo(tmp_path / "remote", FILES), *RUN, *remote)
    assert far[0] == local_run[0] and far[2] == local_run[2]
    assert [{k: f[k] for k in KEYS} for f in far[1]["files"]] == [{k: f[k] for k in KEYS} for f in local_run[1]["files"]]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"files": ["inventory.py", "tail.py"], "instruction": INSTRUCTION}) + "\n")
    batch = _outcome(make_repo(tmp_path / "batch", FILES), "batch", str(jobs), *remote)
    assert batch[0] == local_run[0] and batch[2] == local_run[2]
