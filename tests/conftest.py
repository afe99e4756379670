"""Shared fixtures: real git repositories in tmp_path and fake backends with the engine's shape.

Other test files import from here (``from conftest import FakeBackend, make_repo``); keep these
names stable. The fakes also serve subprocess tests: ``FASTAPPLY_BACKEND=conftest:rename_backend``
with ``tests/`` on ``PYTHONPATH`` makes the ``fastapply`` command use them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

# The checkout's top-level kernels/ (installed as fastapply.kernels) shadows the PyPI package
# `kernels`, which transformers 5.25 and later require and import, wherever the checkout is on the
# import path (`python -m` puts the working directory there). Keep it off, here and in every
# Python the tests start.
_CHECKOUT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _CHECKOUT]
os.environ["PYTHONSAFEPATH"] = "1"

from fastapply.engine.types import (  # noqa: E402
    GenerationRequest,
    GenerationResult,
    GenerationStats,
    PromptTooLong,
)

TESTS_DIR = Path(__file__).resolve().parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd`` and return stdout."""
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def make_repo(
    root: Path, files: dict[str, str | bytes] | None = None, *, commit: bool = True
) -> Path:
    """A git repository at ``root`` holding ``files`` (text written as-is, no newline translation)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.invalid")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "config", "core.autocrlf", "false")
    for name, content in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    if commit and files:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Calibration and other per-user caches go to a folder of this test session, never ~/.cache."""
    old = os.environ.get("FASTAPPLY_CACHE_DIR")
    os.environ["FASTAPPLY_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("FASTAPPLY_CACHE_DIR", None)
    else:
        os.environ["FASTAPPLY_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The demo repository (``tui_fakes.make_demo_repo``) in a fresh folder; a module may define its own."""
    from tui_fakes import make_demo_repo

    return make_demo_repo(tmp_path / "demo")


@pytest.fixture
def repo_factory(tmp_path: Path) -> Callable[..., Path]:
    """``repo_factory(files, name="repo", commit=True)`` -> path of a fresh repository."""
    counter = iter(range(1000))

    def factory(
        files: dict[str, str | bytes] | None = None, *, name: str | None = None, commit: bool = True
    ) -> Path:
        return make_repo(tmp_path / (name or f"repo{next(counter)}"), files, commit=commit)

    return factory


@pytest.fixture
def in_dir(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """``in_dir(path)``: chdir for the rest of the test."""
    return lambda path: monkeypatch.chdir(path)


PROMPT_OVERHEAD = 32  # tokens the chat template and the markers add around the file
_RENAME = re.compile(r"rename\s+(?:the\s+\w+\s+)?`?(\w+)`?\s+to\s+`?(\w+)`?", re.IGNORECASE)


@dataclass
class FakeBackend:
    """A backend with the engine's shape whose rewrite is a Python function of (code, request).

    ``finish_reason`` forces how generation ends; ``delay`` sleeps in small steps honouring
    ``request.cancel``; ``during`` runs inside generate (to change the file mid-generation).
    Like the real engine it raises only ``EngineError`` kinds: ``PromptTooLong`` before any
    "prefill" when the prompt (counted as the engine would, file plus instruction plus the
    template's overhead) is over ``max_context``.
    """

    rewrite: Callable[[str, GenerationRequest], str] = lambda code, request: code
    finish_reason: str = "stop"
    delay: float = 0.0
    during: Callable[[GenerationRequest], None] | None = None
    name: str = "fake"
    device: str = "cpu"
    dtype: str = "float32"
    max_context: int = 32768
    requests: list[GenerationRequest] = field(default_factory=list)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        prompt_tokens = self.count_tokens(request.code) + self.count_tokens(request.instruction) + PROMPT_OVERHEAD
        if prompt_tokens > self.max_context:
            raise PromptTooLong(prompt_tokens, self.max_context)
        started = time.perf_counter()
        if self.during is not None:
            self.during(request)
        text = self.rewrite(request.code, request)
        reason = self.finish_reason
        deadline = started + self.delay
        while time.perf_counter() < deadline:
            if request.cancel is not None and request.cancel.is_set():
                reason = "cancelled"
                break
            time.sleep(0.01)
        if request.cancel is not None and request.cancel.is_set():
            reason = "cancelled"
        if reason == "length":
            text = text[: len(text) // 2]
        elif reason == "cancelled":
            text = ""
        if request.on_text is not None and text:
            request.on_text(text)
        tokens = max(1, len(text) // 4)
        stats = GenerationStats(
            tokens=tokens,
            forwards=max(1, tokens // 4),
            draft_proposed=tokens,
            draft_accepted=tokens * 3 // 4,
            seconds=max(time.perf_counter() - started, 1e-6),
            finish_reason=reason,  # type: ignore[arg-type]
        )
        return GenerationResult(text=text, stats=stats)

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)


class ScriptedBackend(FakeBackend):
    """A backend that answers the n-th ``generate`` with ``answers[n]`` (the last one repeats).

    ``requests`` keeps every request, so a test sees each attempt's instruction and prediction.
    """

    def __init__(self, answers: list[str], **kwargs: object) -> None:
        super().__init__(rewrite=self._next, **kwargs)  # type: ignore[arg-type]
        self.answers = list(answers)

    def _next(self, code: str, request: GenerationRequest) -> str:
        return self.answers[min(len(self.requests), len(self.answers)) - 1]


def signal_during_generation(cwd: Path, env: dict[str, str], marker: Path, sig: int, *args: str) -> tuple[int, str]:
    """Run ``fastapply run ARGS`` in ``cwd``, send ``sig`` once generation starts; (exit code, stderr).

    The backend named in ``env`` touches ``marker`` when it starts generating (``slow_backend``).
    """
    import signal

    proc = subprocess.Popen(
        ["fastapply", "run", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell's background job inherits SIGINT ignored, and Python then keeps it ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "generation never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def rename_rewrite(code: str, request: GenerationRequest) -> str:
    """Understands "rename X to Y" instructions (whole words); leaves anything else unchanged."""
    match = _RENAME.search(request.instruction)
    if not match:
        return code
    old, new = match.groups()
    return re.sub(rf"\b{re.escape(old)}\b", new, code)


def placeholder_rewrite(code: str, request: GenerationRequest) -> str:
    lines = code.split("\n")
    return "\n".join(lines[:2] + ["# ... rest of the code unchanged ...", ""])


def rename_backend() -> FakeBackend:
    """Factory named by ``FASTAPPLY_BACKEND=conftest:rename_backend`` in subprocess tests."""
    return FakeBackend(rewrite=rename_rewrite)


def slow_backend() -> FakeBackend:
    """Factory for subprocess tests that interrupt a generation in flight.

    Touches ``$FASTAPPLY_TEST_MARKER`` when generation starts, so the test knows when to signal.
    """

    def started(request: GenerationRequest) -> None:
        marker = os.environ.get("FASTAPPLY_TEST_MARKER")
        if marker:
            Path(marker).touch()

    return FakeBackend(rewrite=rename_rewrite, delay=60.0, during=started)


def paced_backend() -> FakeBackend:
    """Factory for subprocess tests that need time between files (``$FASTAPPLY_TEST_DELAY`` s)."""
    return FakeBackend(rewrite=rename_rewrite, delay=float(os.environ.get("FASTAPPLY_TEST_DELAY", "0.3")))


def small_context_backend() -> FakeBackend:
    """Factory for subprocess tests of the context check: a model that reads 64 tokens."""
    return FakeBackend(rewrite=rename_rewrite, max_context=64)


@pytest.fixture
def fake_backend() -> FakeBackend:
    return FakeBackend(rewrite=rename_rewrite)


@pytest.fixture
def use_backend(monkeypatch: pytest.MonkeyPatch) -> Callable[[object], None]:
    """``use_backend(backend)``: the CLI's model loading returns ``backend`` for this test.

    ``use_backend.loads`` lists the (args, kwargs) of every load, to count loads and see options.
    """

    def install(backend: object) -> None:
        loads: list[tuple[tuple[object, ...], dict[str, object]]] = []

        def load(*args: object, **kwargs: object) -> object:
            loads.append((args, kwargs))
            return backend

        monkeypatch.setattr("fastapply.backend.load_model", load)
        install.loads = loads  # type: ignore[attr-defined]

    return install


__all__ = [
    "FakeBackend",
    "ScriptedBackend",
    "git",
    "make_repo",
    "paced_backend",
    "placeholder_rewrite",
    "rename_backend",
    "rename_rewrite",
    "signal_during_generation",
    "slow_backend",
    "small_context_backend",
    "threading",
]
