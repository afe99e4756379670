"""Fakes and Pilot helpers for the TUI tests: a backend that streams a deterministic rewrite, a
tiny repository, and the steps (select, instruct, generate, review) the tests share.

The fake backend replaces one word with another and streams the result in fixed-size chunks
through ``request.on_text``; it can sleep between chunks, pause at a chunk until released (for
snapshots and typing-while-streaming tests), and honours ``request.cancel``. Its stats are fixed
numbers so that screens showing them render the same every run.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from fastapply.engine.types import GenerationRequest, GenerationResult, GenerationStats
from fastapply.tui.app import FastApplyApp, create_app
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


def git(root: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
        "HOME": str(root),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    out = subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True)
    return out.stdout


def make_demo_repo(root: Path) -> Path:
    """A committed repository with text files, one binary, one modified, one staged, one new."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.invalid")
    git(root, "config", "commit.gpgsign", "false")
    for name, text in DEMO_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    (root / "docs/notes.txt").write_text("notes about foo\nmore foo\n")  # modified
    (root / "src/util.py").write_text(DEMO_FILES["src/util.py"] + "\n\ndef bar():\n    return 1\n")
    git(root, "add", "src/util.py")  # staged
    (root / "src/new_module.py").write_text("FOO = 'foo'\n")  # new
    return root


class FakeBackend:
    """Streams ``code.replace(old, new)`` in chunks of ``chunk`` characters."""

    name = "fake-apply"
    device = "cpu"
    dtype = "float32"

    def __init__(
        self,
        *,
        old: str = "foo",
        new: str = "bar",
        chunk: int = 7,
        delay: float = 0.0,
        pause_at: int | None = None,
        finish: str = "stop",
        max_context: int = 4096,
        fail_paths: tuple[str, ...] = (),
    ) -> None:
        self.old, self.new = old, new
        self.chunk = chunk
        self.delay = delay
        self.pause_at = pause_at  # chunk number at which to wait for ``release``
        self.finish = finish
        self.max_context = max_context
        self.fail_paths = fail_paths
        self.paused = threading.Event()
        self.release = threading.Event()
        self.calls: list[str] = []

    def count_tokens(self, text: str) -> int:
        return (len(text) + 3) // 4

    def generate(self, request: GenerationRequest) -> GenerationResult:
        from fastapply.engine.types import EngineError

        self.calls.append(request.path)
        if request.path in self.fail_paths:
            raise EngineError(f"fake failure on {request.path}")
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


def build(repo: Path, backend: Any = None, **overrides: Any) -> FastApplyApp:
    fake = backend if backend is not None else FakeBackend()
    overrides.setdefault("review_grace", 0.0)
    return create_app(path=repo, backend_loader=lambda: fake, **overrides)


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
