"""Measure keypress-to-render latency in the TUI while a file streams (not a test).

Runs the app headless at 80x24 over a throwaway repository with the fake backend of
``tests/tui_fakes.py`` streaming a long file as fast as it can, then sends keys through the
driver, the same path a terminal's keys take, and times each key until the app composes a frame
that shows its effect. Two kinds of keys: typing into the command palette's input, and scrolling
the streamed text. Prints p50/p95/max for each, with the stream running and, for comparison, idle
and with coalescing switched off.

    OMP_NUM_THREADS=1 python examples/tui_latency.py [--keys 60]

Headless rendering skips writing to a real terminal, so a real terminal adds its own drawing
time on top of these numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from textual import events  # noqa: E402
from tui_fakes import FakeBackend, git, instruct, make_demo_repo, select, wait_for  # noqa: E402

import fastapply.backend  # noqa: E402
from fastapply.tui.app import create_app  # noqa: E402
from fastapply.tui.widgets.stream_view import StreamView  # noqa: E402


class FrameWatch:
    """Wraps ``App._display`` to wake a waiter when a composed frame satisfies a condition."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.condition: Any = None
        self.hit: asyncio.Event = asyncio.Event()
        self.frames = 0
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            self.frames += 1
            if self.condition is not None and self.condition():
                self.condition = None
                self.hit.set()

        app._display = display

    async def time_key(self, key: str, char: str | None, condition: Any) -> float:
        self.hit.clear()
        self.condition = condition
        start = time.perf_counter()
        event = events.Key(key, char)
        event.set_sender(self.app)
        self.app._driver.send_message(event)
        await asyncio.wait_for(self.hit.wait(), timeout=5)
        return time.perf_counter() - start


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"{name:<34} n={len(ms):<3} p50={statistics.median(ms):6.1f} ms  p95={p95:6.1f} ms  max={ms[-1]:6.1f} ms"


async def measure(repo: Path, *, keys: int, stream: bool, interval: float | None) -> tuple[list[float], list[float], bool]:
    # streaming: 16 characters (about 4 tokens) per millisecond, some 4,000 tokens/s, a fast
    # GPU's pace; idle: the whole file in one piece, so the stream is over before measuring
    # a context big enough that the file is sent (the app refuses what cannot fit)
    fake = FakeBackend(chunk=16, delay=0.001, max_context=10**7) if stream else FakeBackend(chunk=10**9, max_context=10**7)
    overrides: dict[str, Any] = {} if interval is None else {"stream_interval": interval}
    # the app loads its model through the CLI's seam; this script is its own process
    fastapply.backend.load_model = lambda *args, **kwargs: fake  # type: ignore[assignment]
    app = create_app(path=repo, review_grace=0.0, max_bytes=10**8, **overrides)
    rng = random.Random(0)
    typing: list[float] = []
    scrolling: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        watch = FrameWatch(app)
        await select(pilot, "big.py")
        if stream:
            screen = await instruct(pilot, "rename foo")
            view = screen.query_one(StreamView)
            await wait_for(pilot, lambda: view.line_count > 200)
        else:
            screen = await instruct(pilot, "rename foo")
            await wait_for(pilot, lambda: screen.finished, timeout=120)
            view = screen.query_one(StreamView)
        view.focus()
        await pilot.press("home")
        await pilot.pause(0.1)
        for _ in range(keys):
            before = view.scroll_y  # the first frame that moved counts, not the end of the animation
            scrolling.append(await watch.time_key("down", None, lambda b=before: view.scroll_y > b))
            await asyncio.sleep(rng.uniform(0.01, 0.03))
        await pilot.press("ctrl+k")
        await pilot.pause(0.2)
        palette_input = app.screen.query_one("Input")
        for i in range(keys):
            if i % 2 == 0:
                expected = palette_input.value + "a"
                typing.append(await watch.time_key("a", "a", lambda e=expected: palette_input.value == e))
            else:
                expected = palette_input.value[:-1]
                typing.append(await watch.time_key("backspace", None, lambda e=expected: palette_input.value == e))
            await asyncio.sleep(rng.uniform(0.01, 0.03))
        still_streaming = not screen.finished
        await pilot.press("escape")
    return typing, scrolling, still_streaming


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=40, help="keys per measurement")
    parser.add_argument("--lines", type=int, default=30000, help="lines in the streamed file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_demo_repo(Path(tmp) / "demo")
        (repo / "big.py").write_text("".join(f"value_{i} = 'foo'  # line {i}\n" for i in range(args.lines)))
        git(repo, "add", "big.py")
        runs = [
            ("idle (stream finished)", False, None),
            ("streaming, coalesced (~30/s)", True, None),
            ("streaming, not coalesced", True, 0.0),
        ]
        for name, stream, interval in runs:
            typing, scrolling, alive = await measure(repo, keys=args.keys, stream=stream, interval=interval)
            note = "" if not stream or alive else "  (stream ended before the last key: use more --lines)"
            print(summary(f"{name}: typing", typing) + note)
            print(summary(f"{name}: scrolling", scrolling))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
