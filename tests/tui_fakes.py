"""Fakes and Pilot helpers for the TUI tests: a backend that streams a deterministic rewrite, a
tiny repository, and the steps (select, instruct, generate, review) the tests share.

The fake backend is conftest's ``FakeBackend`` streaming in fixed-size chunks through
``request.on_text``; it can sleep between chunks, pause at a chunk until released (for snapshots
and typing-while-streaming tests), and honours ``request.cancel``. The app loads it through the
real seam, ``fastapply.backend.load_model``, which the ``tui_model_seam`` fixture substitutes:
test modules import that fixture (it is autouse), then ``build(repo, backend)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeBackend as CoreFakeBackend
from conftest import git, make_repo
from textual.pilot import Pilot

from fastapply.engine.types import EngineError, GenerationRequest, GenerationResult, GenerationStats
from fastapply.tui.app import FastApplyApp, create_app
from fastapply.tui.screens.apply import ApplyScreen
from fastapply.tui.screens.generate import GenerateScreen
from fastapply.tui.screens.instruct import InstructScreen
from fastapply.tui.screens.pick import PickScreen
from fastapply.tui.screens.review import ReviewScreen
from fastapply.tui.widgets.file_tree import FileTree
from fastapply.tui.widgets.prompt_input import PromptInput

DEMO_FILES: dict[str, str] = {
    "README.md": "# demo\n\nA tiny repository for the TUI tests.\n",
    "src/app.py": (
        "import os\n\n\n"
        "def greet(name):\n"
        "    return 'hello ' + name\n\n\n"
        "def main():\n"
        "    print(greet(os.environ.get('USER', 'foo')))\n"
        "    for i in range(3):\n"
        "        print(i)\n"
        "    print('done')\n"
        "    return 0\n\n\n"
        "def helper():\n"
        "    value = 'foo'\n"
        "    return value\n"
    ),
    "src/util.py": "def add(a, b):\n    return a + b\n\n\ndef foo():\n    return 'foo'\n",
    "docs/notes.txt": "notes about foo\n",
}


def make_demo_repo(root: Path) -> Path:
    """A committed repository with text files, one binary, one modified, one staged, one new."""
    files: dict[str, str | bytes] = {**DEMO_FILES, "logo.png": b"\x89PNG\r\n\x1a\n\0\0\0binary"}
    make_repo(root, files)
    (root / "docs/notes.txt").write_text("notes about foo\nmore foo\n")  # modified
    (root / "src/util.py").write_text(DEMO_FILES["src/util.py"] + "\n\ndef bar():\n    return 1\n")
    git(root, "add", "src/util.py")  # staged
    (root / "src/new_module.py").write_text("FOO = 'foo'\n")  # new
    return root


@dataclass
class FakeBackend(CoreFakeBackend):
    """conftest's fake, streaming ``code.replace(old, new)`` in chunks of ``chunk`` characters.

    ``pause_at`` holds the stream at that chunk until ``release`` is set; ``fail_paths`` raise
    ``EngineError`` as the engine does; ``prefill`` sleeps before the first chunk honouring cancel
    (a long prompt's prefill). Its stats are fixed numbers, so screens render the same every run.
    """

    old: str = "foo"
    new: str = "bar"
    chunk: int = 7
    pause_at: int | None = None
    finish: str = "stop"
    max_context: int = 4096
    fail_paths: tuple[str, ...] = ()
    prefill: float = 0.0
    name: str = "fake-apply"
    paused: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    calls: list[str] = field(default_factory=list)

    def count_tokens(self, text: str) -> int:
        return (len(text) + 3) // 4

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        self.calls.append(request.path)
        if request.path in self.fail_paths:
            raise EngineError(f"fake failure on {request.path}")
        deadline = time.monotonic() + self.prefill
        while time.monotonic() < deadline:
            if self._cancelled(request):
                return self._result("", "cancelled")
            time.sleep(0.01)
        text = request.code.replace(self.old, self.new)
        pieces = [text[i : i + self.chunk] for i in range(0, len(text), self.chunk)]
        out: list[str] = []
        for number, piece in enumerate(pieces):
            if self._cancelled(request):
                return self._result("".join(out), "cancelled")
            if self.pause_at is not None and number == self.pause_at:
                self.paused.set()
                while not self.release.wait(0.02):
                    if self._cancelled(request):
                        return self._result("".join(out), "cancelled")
            if self.delay:
                time.sleep(self.delay)
            out.append(piece)
            if request.on_text is not None:
                request.on_text(piece)
        if self.finish != "stop":
            return self._result("".join(out), self.finish)
        return self._result(text, "stop")

    @staticmethod
    def _cancelled(request: GenerationRequest) -> bool:
        return request.cancel is not None and request.cancel.is_set()

    def _result(self, text: str, finish: str) -> GenerationResult:
        tokens = self.count_tokens(text)
        stats = GenerationStats(
            tokens=tokens,
            forwards=max(1, tokens // 4),
            draft_proposed=tokens,
            draft_accepted=(tokens * 3) // 4,
            seconds=tokens / 200,
            finish_reason=finish,  # type: ignore[arg-type]
        )
        return GenerationResult(text=text, stats=stats)


class TickingClock:
    """A clock that moves ``step`` seconds on every call: rates come out the same each run."""

    def __init__(self, step: float = 0.05) -> None:
        self.step = step
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.step
            return self.now


# -- Pilot helpers ---------------------------------------------------------------------------


class ModelSeam:
    """What ``fastapply.backend.load_model`` returns (or raises) while a test runs."""

    def __init__(self) -> None:
        self.backend: Any = None
        self.loader: Callable[[], Any] | None = None
        self.loads: list[tuple[Any, dict[str, Any]]] = []

    def load_model(self, model: Any = None, **kwargs: Any) -> Any:
        self.loads.append((model, kwargs))
        if self.loader is not None:
            return self.loader()
        return self.backend if self.backend is not None else FakeBackend()


_SEAM: ModelSeam | None = None


@pytest.fixture(autouse=True)
def tui_model_seam(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelSeam]:
    """Substitute the app's model loading (the CLI's seam) for the test; autouse where imported."""
    global _SEAM
    seam = ModelSeam()
    monkeypatch.setattr("fastapply.backend.load_model", seam.load_model)
    _SEAM = seam
    try:
        yield seam
    finally:
        _SEAM = None


def build(repo: Path, backend: Any = None, *, loader: Callable[[], Any] | None = None, **overrides: Any) -> FastApplyApp:
    """The app over ``repo``, loading ``backend`` (or what ``loader`` returns) as its model."""
    if _SEAM is None:
        raise RuntimeError("import the tui_model_seam fixture from tui_fakes into the test module")
    _SEAM.backend = backend if backend is not None else FakeBackend()
    _SEAM.loader = loader
    overrides.setdefault("review_grace", 0.0)
    return create_app(path=repo, **overrides)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def ready_picker(pilot: Pilot[Any], *, model: bool = True) -> PickScreen:
    app: Any = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, PickScreen) and bool(app.screen.files))
    if model:
        await wait_for(pilot, lambda: app.model_state != "loading")
    return app.screen


async def select(pilot: Pilot[Any], *paths: str, model: bool = True) -> None:
    screen = await ready_picker(pilot, model=model)
    tree = screen.query_one(FileTree)
    tree.focus()
    for path in paths:

        def on_path(path: str = path) -> bool:
            node = tree.cursor_node
            if node is not None and node.data is not None and node.data.path == path:
                return True
            tree.move_to(path)  # the tree lays out its lines lazily: retry until it lands
            return False

        await wait_for(pilot, on_path)
        await pilot.press("space")
    await pilot.pause()


async def instruct(pilot: Pilot[Any], text: str) -> GenerateScreen:
    app: Any = pilot.app
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(app.screen, InstructScreen))
    app.screen.query_one(PromptInput).load_text(text)  # typing itself is tested on its own
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
    return app.screen


async def generate(pilot: Pilot[Any], *paths: str, text: str = "rename foo") -> GenerateScreen:
    await select(pilot, *paths)
    screen = await instruct(pilot, text)
    await wait_for(pilot, lambda: screen.finished)
    return screen


async def review(pilot: Pilot[Any]) -> ReviewScreen:
    app: Any = pilot.app
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
    await pilot.pause()
    return app.screen


def notifications(app: Any) -> str:
    """Every notification the app has shown so far, one per line."""
    return "\n".join(n.message for n in app._notifications)


async def start_stuck(pilot: Pilot[Any], path: str = "src/app.py") -> GenerateScreen:
    """Send ``path`` to a fake that holds its "prefill" (sent, nothing streamed yet)."""
    await select(pilot, path)
    screen = await instruct(pilot, "rename foo")
    await wait_for(pilot, lambda: screen.progress[path].state == "starting")
    return screen


def held_loader(release: threading.Event, backend: Any) -> Callable[[], Any]:
    """A loader (``build(loader=...)``) that hands over ``backend`` once ``release`` is set (10 s at
    most): a model that is still loading while the test acts."""

    def load() -> Any:
        release.wait(10)
        return backend

    return load


async def to_apply(pilot: Pilot[Any]) -> ApplyScreen:
    """From review: accept the file on screen and open the apply screen."""
    app: Any = pilot.app
    await pilot.press("a", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ApplyScreen))
    return app.screen


def plain_backend() -> FakeBackend:
    """Factory for ``FASTAPPLY_BACKEND=tui_fakes:plain_backend``: the fake, through the env seam."""
    return FakeBackend()


def deaf_backend() -> FakeBackend:
    """Factory for terminal tests (``FASTAPPLY_BACKEND=tui_fakes:deaf_backend``): its generate
    sleeps 30 s without looking at ``request.cancel``, as a stuck prefill would."""

    class Deaf(FakeBackend):
        def generate(self, request: GenerationRequest) -> GenerationResult:
            time.sleep(30)
            return super().generate(request)

    return Deaf()


@dataclass
class ScriptedBackend(FakeBackend):
    """The fake whose first ``broken`` answers do not parse (a stray ``def (:`` line appended).

    The rewrite streams as usual; only the final text is broken, as a model's slip would be. Its
    requests are kept (``requests``) so a test can read the retry's instruction and prediction.
    """

    broken: int = 1
    hold_retry: bool = False  # the second answer waits for ``release`` (after setting ``paused``)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        answered = len(self.calls)
        if self.hold_retry and answered == 1:
            self.paused.set()
            while not self.release.wait(0.02):
                if self._cancelled(request):
                    return self._result("", "cancelled")
        result = super().generate(request)
        if answered < self.broken and result.stats.finish_reason == "stop":
            return self._result(result.text + "\ndef (:\n", "stop")
        return result


@dataclass
class MeasuringConfig:
    """The part of the engine's ``EngineConfig`` that ``fastapply.backend.on_calibration`` sets."""

    on_measure: Callable[[], None] | None = None
    on_measured: Callable[[float], None] | None = None


@dataclass
class MeasuringBackend(FakeBackend):
    """The fake with the engine's one-off calibration: the first generation calls
    ``config.on_measure`` and then waits for ``measured`` (set by the test) before it streams,
    then ``config.on_measured`` with the seconds it waited.

    Its stats carry a time to first token, as the engine's do, which leaves the measurement out.
    With ``deaf`` the measurement ignores ``request.cancel`` (as the engine's does) and the
    generation then looks at it only once measured.
    """

    config: MeasuringConfig = field(default_factory=MeasuringConfig)
    measured: threading.Event = field(default_factory=threading.Event)
    ttft: float = 0.1
    deaf: bool = False

    def generate(self, request: GenerationRequest) -> GenerationResult:
        if not self.calls and self.config.on_measure is not None:
            self.config.on_measure()
            began = time.monotonic()
            while not self.measured.wait(0.02):
                if self._cancelled(request) and not self.deaf:
                    return self._result("", "cancelled")
            if self.config.on_measured is not None:
                self.config.on_measured(time.monotonic() - began)
        return super().generate(request)

    def _result(self, text: str, finish: str) -> GenerationResult:
        result = super()._result(text, finish)
        result.stats.time_to_first_token = self.ttft
        result.stats.seconds += self.ttft
        return result
