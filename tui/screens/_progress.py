"""Per-file progress of a generation: the state a file is in, its rates, and how a row reads.

Fed by the generate screen from the core's results (``fastapply.edit.EditResult``, read by
attribute); knows nothing about threads or the model.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rich.progress_bar import ProgressBar as RichProgressBar
from rich.table import Table
from rich.text import Text

from fastapply.tui.session import is_reviewable
from fastapply.tui.tokens import CHARS_PER_TOKEN, estimate_tokens

# waiting: not sent yet; starting: sent, no text yet (prefill); measuring: the engine measures its
# draft widths before this file's first token (once per model, device and dtype); retrying: the
# last candidate failed its checks and the next attempt is under way; not run: never sent
# because the run was cancelled first
LIVE_STATES = ("waiting", "starting", "measuring", "streaming", "retrying")
PENDING_STATES = ("starting", "measuring")  # sent, no text yet: the row counts the seconds
SPEED_SAMPLES = 60  # the speed history kept per file (the sparkline's data)
MEASURING = "measuring draft widths for this model, once per model and device"
RETRY_STATES = ("cancelled", "not run", "cut off", "failed", "check failed")

STATE_STYLE = {
    "waiting": "dim",
    "starting": "bold yellow",
    "measuring": "bold cyan",
    "streaming": "bold yellow",
    "retrying": "bold magenta",
    "done": "bold green",
    "unchanged": "green",
    "not run": "dim",
    "cancelled": "bold red",
    "cut off": "bold red",
    "refused": "bold red",
    "failed": "bold red",
    "check failed": "bold red",
}


@dataclass
class FileProgress:
    path: str
    size: int
    state: str = "waiting"
    chars: int = 0
    seconds: float = 0.0  # since the file was sent
    first_text: float | None = None  # seconds from sending to the first streamed text
    tokens: int = 0
    tokens_per_second: float = 0.0
    acceptance: float | None = None
    exact: bool = False
    reason: str = ""
    proposed: int = 0  # draft tokens proposed and accepted, for the run's acceptance
    accepted: int = 0
    attempt: int = 1  # the generation under way, or the number made once finished
    measured: bool = False  # the draft widths were measured before this file's first token
    measure_seconds: float = 0.0  # ...taking this long (the engine says so once it is over)
    text_began: float = 0.0  # seconds from sending to the first text, measurement included
    # tokens/s between two streamed pieces, the newest last
    speeds: deque[float] = field(default_factory=lambda: deque(maxlen=SPEED_SAMPLES))

    @property
    def fraction(self) -> float:
        if self.state in ("waiting", "not run"):
            return 0.0
        if self.state in (*LIVE_STATES, "cancelled"):
            return min(0.99, self.chars / max(1, self.size))  # a cancelled file shows how far it got
        return 1.0

    def streamed(self, chars: int, seconds: float) -> None:
        """Live figures from the text so far; the rate leaves out the wait for the first text.

        Each piece after the first adds the rate since the previous one to ``speeds``. The first
        text's wait leaves out a draft-width measurement, which the row shows apart.
        """
        if self.first_text is None:
            self.text_began = seconds
            self.first_text = max(0.0, seconds - self.measure_seconds)
        elif seconds > self.seconds and chars >= self.chars:
            self.speeds.append((chars - self.chars) / CHARS_PER_TOKEN / (seconds - self.seconds))
        self.state = "streaming"
        self.chars, self.seconds = chars, seconds
        self.tokens = estimate_tokens(chars)
        decoding = seconds - self.text_began
        self.tokens_per_second = self.tokens / decoding if decoding > 0 else 0.0

    def retrying(self, attempt: int, failed: list[Any]) -> None:
        """The last candidate failed ``failed``; attempt ``attempt`` streams a new text from zero."""
        self.state, self.attempt, self.chars, self.seconds = "retrying", attempt, 0, 0.0
        names = ", ".join(str(getattr(c, "name", "check")) for c in failed) or "a check"
        self.reason = f"{names} failed; attempt {attempt}"

    def finished(self, result: Any) -> None:
        self.state = result_state(result)
        self.reason = str(getattr(result, "reason", "") or "")
        self.attempt = max(1, int(getattr(result, "attempts", 1) or 1))
        stats = getattr(result, "stats", None)
        if stats is None:
            return
        self.tokens = stats.tokens
        self.seconds = stats.seconds
        # decode rate: prefill and calibration (time to first token) are shown apart
        ttft = float(getattr(stats, "time_to_first_token", 0.0) or 0.0)
        decoding = stats.seconds - ttft if 0 < ttft < stats.seconds else stats.seconds
        self.tokens_per_second = stats.tokens / decoding if decoding > 0 else 0.0
        if ttft > 0:
            self.first_text = ttft
        elif self.measured and not self.measure_seconds:
            self.first_text = None  # the live wait held a measurement of unknown length
        self.acceptance = stats.acceptance if stats.draft_proposed else None
        self.proposed, self.accepted = stats.draft_proposed, stats.draft_accepted
        self.exact = True


def result_state(result: Any) -> str:
    status = getattr(result, "status", "")
    if status == "check-failed":
        return "check failed"
    if is_reviewable(result):
        return "done"
    if result.finish_reason == "cancelled":
        return "cancelled"
    if result.finish_reason == "length":
        return "cut off"
    if status == "unchanged":
        return "unchanged"
    return status if status in ("refused", "failed") else "failed"


def state_text(entry: FileProgress, now: float | None = None) -> Text:
    label = entry.state
    if entry.state in PENDING_STATES and now is not None:
        label = f"{'measure' if entry.state == 'measuring' else 'start'} {now:.0f}s"
    elif entry.attempt > 1 and entry.state in ("retrying", "streaming"):
        label = f"retry {entry.attempt}"  # the attempt under way; the reason line says why
    return Text(label, style=STATE_STYLE.get(entry.state, ""), no_wrap=True)


def row_cells(entry: FileProgress, now: float | None = None) -> tuple[Text, ...]:
    tps = "" if entry.tokens_per_second <= 0 else f"{'' if entry.exact else '~'}{entry.tokens_per_second:,.0f}"
    accept = "" if entry.acceptance is None else f"{entry.acceptance:.0%}"
    return (
        Text(entry.path, no_wrap=True, overflow="ellipsis"),
        state_text(entry, now),
        Text(tps, justify="right"),
        Text(accept, justify="right"),
        Text(f"{entry.fraction:.0%}", justify="right"),
    )


def progress_line(fraction: float, width: int = 40) -> Table:
    bar = Table.grid(padding=(0, 1))
    bar.add_column(width=width)
    bar.add_column(justify="right", width=4)
    bar.add_row(RichProgressBar(total=100, completed=fraction * 100, width=width), f"{fraction:.0%}")
    return bar


def reason_line(entry: FileProgress) -> Text:
    """Why the file ended as it did, kept on screen (not only in a toast)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{entry.path}: ", style="bold")
    text.append(entry.state, style=STATE_STYLE.get(entry.state, ""))
    if entry.reason and entry.reason != entry.state:
        text.append(f" · {entry.reason}")
    if entry.attempt > 1 and entry.state not in LIVE_STATES and "attempt" not in entry.reason:
        text.append(f" · {entry.attempt} attempts")
    if entry.state == "measuring":
        text.append(f" · {MEASURING}; not counted in its time", style="dim")
    if entry.first_text is not None and entry.state not in ("waiting", "not run"):
        # live, the wait holds the measurement; once finished it is the engine's, without it
        held = " (the measurement included)" if entry.measured and not entry.exact else ""
        text.append(f" · first text after {entry.first_text:.1f}s{held}", style="dim")
    if entry.measured and entry.exact:
        text.append(" · draft widths measured first, not counted", style="dim")
    if entry.exact and entry.seconds:
        text.append(f" · {entry.seconds:.1f}s in all", style="dim")
    return text


def run_acceptance(entries: list[FileProgress]) -> float | None:
    """Draft acceptance over the whole run (accepted / proposed draft tokens)."""
    proposed = sum(e.proposed for e in entries)
    return sum(e.accepted for e in entries) / proposed if proposed else None


def total_line(entries: list[FileProgress], *, running: bool, finished: bool, ready: int) -> str:
    """The run's line: files done, tokens, decode rate; the summary once the run has ended.

    ``ready`` is how many rewrites can be reviewed. The rate counts decode time only (each
    file's tokens at its own rate: prefill and the draft-width measurement apart).
    """
    done = sum(1 for e in entries if e.state not in (*LIVE_STATES, "not run"))
    tokens = sum(e.tokens for e in entries)
    seconds = sum(e.tokens / e.tokens_per_second for e in entries if e.tokens_per_second > 0)
    rate = f"{tokens / seconds:,.0f} tok/s" if seconds > 0 else "– tok/s"
    line = f"{done}/{len(entries)} files · {tokens:,} tokens · {rate}"
    acceptance = run_acceptance(entries)
    if finished:
        if acceptance is not None:
            line += f" · draft {acceptance:.0%}"
        not_run = sum(1 for e in entries if e.state == "not run")
        retry = sum(1 for e in entries if e.state in RETRY_STATES)
        line += f" · {not_run} not run" if not_run else ""
        line += f" · {ready} to review" if ready else ""
        line += f" · {retry} to retry (r)" if retry else ""
    elif running:
        if any(e.state == "measuring" for e in entries):
            line += f" · {MEASURING}…"
        elif any(e.state == "starting" and e.first_text is None for e in entries):
            line += " · sending (prefill)"
        line += " · escape: cancel"
    return line
