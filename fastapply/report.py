"""Results as the CLI prints them: text, one JSON object, or JSONL events
(ARCHITECTURE.md, "Exit codes" and "Output").

A reporter is fed the run's events in order (``run_started``, ``file_started``, ``file_completed``,
``run_completed``) and writes to the stream it was given; the JSON reporter holds its records and
writes once at the end. ``exit_code`` maps a run's results to the exit-code table.

This module formats; it does not decide what to edit or write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from fastapply.edit import EditResult
from fastapply.errors import EXIT_CHANGED, EXIT_ENGINE, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED

FORMATS = ("text", "json", "jsonl")


def file_record(result: EditResult, *, written: bool = False) -> dict[str, Any]:
    """The JSON record of one file."""
    stats = result.stats
    return {
        "path": result.path,
        "status": result.status,
        "reason": result.reason,
        "diff": result.diff,
        "before_sha256": result.before_sha256,
        "after_sha256": result.after_sha256,
        "written": written,
        "finish_reason": result.finish_reason,
        "tokens": stats.tokens if stats else 0,
        "forwards": stats.forwards if stats else 0,
        "seconds": round(stats.seconds, 6) if stats else 0.0,
        "tokens_per_second": round(stats.tokens_per_second, 3) if stats else 0.0,
        "acceptance": round(stats.acceptance, 6) if stats else 0.0,
    }


def exit_code(results: list[EditResult], *, changes_fail: bool) -> int:
    """The exit code of a run: interrupted > engine failure > refused > changed (when that fails)."""
    if any(r.finish_reason == "cancelled" for r in results):
        return EXIT_INTERRUPTED
    if any(r.status == "failed" for r in results):
        return EXIT_ENGINE
    if any(r.status == "refused" for r in results):
        return EXIT_REFUSED
    if changes_fail and any(r.status == "changed" for r in results):
        return EXIT_CHANGED
    return EXIT_OK


def summarize(results: list[EditResult], *, written: int, seconds: float, code: int) -> dict[str, Any]:
    counts = {s: sum(1 for r in results if r.status == s) for s in ("changed", "unchanged", "refused", "failed")}
    tokens = sum(r.stats.tokens for r in results if r.stats)
    busy = sum(r.stats.seconds for r in results if r.stats)
    return {
        "files": len(results),
        **counts,
        "written": written,
        "tokens": tokens,
        "seconds": round(seconds, 6),
        "tokens_per_second": round(tokens / busy, 3) if busy > 0 else 0.0,
        "exit_code": code,
    }


@dataclass
class Reporter:
    """Text output: a line per file, diffs when asked, a summary line."""

    stream: TextIO
    show_diff: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)

    def run_started(self, paths: list[str], instruction: str, model: str) -> None:
        pass

    def file_started(self, path: str) -> None:
        pass

    def file_completed(self, result: EditResult, *, written: bool) -> None:
        record = file_record(result, written=written)
        self.records.append(record)
        self._file(record)

    def run_completed(self, summary: dict[str, Any]) -> None:
        self._summary(summary)

    def _file(self, record: dict[str, Any]) -> None:
        if self.show_diff and record["diff"]:
            self.stream.write(record["diff"])
        verb = record["status"]
        if verb == "changed":
            verb = "changed (written)" if record["written"] else "would change"
        reason = f": {record['reason']}" if record["reason"] else ""
        self.stream.write(f"{record['path']}: {verb}{reason}\n")

    def _summary(self, s: dict[str, Any]) -> None:
        self.stream.write(
            f"{s['files']} file(s): {s['changed']} changed, {s['unchanged']} unchanged, "
            f"{s['refused']} refused, {s['failed']} failed; {s['written']} written\n"
        )
        self.stream.flush()


@dataclass
class JsonReporter(Reporter):
    """One object ``{"files": [...], "summary": {...}}`` written when the run completes."""

    def _file(self, record: dict[str, Any]) -> None:
        pass

    def _summary(self, s: dict[str, Any]) -> None:
        json.dump({"files": self.records, "summary": s}, self.stream, indent=2)
        self.stream.write("\n")
        self.stream.flush()


@dataclass
class JsonlReporter(Reporter):
    """One JSON object per line and event, flushed as it happens."""

    def _event(self, name: str, **data: Any) -> None:
        self.stream.write(json.dumps({"event": name, **data}) + "\n")
        self.stream.flush()

    def run_started(self, paths: list[str], instruction: str, model: str) -> None:
        self._event("run.started", files=paths, instruction=instruction, model=model)

    def file_started(self, path: str) -> None:
        self._event("file.started", path=path)

    def _file(self, record: dict[str, Any]) -> None:
        self._event("file.completed", **record)

    def _summary(self, s: dict[str, Any]) -> None:
        self._event("run.completed", summary=s)


def make_reporter(kind: str, stream: TextIO, *, show_diff: bool = False) -> Reporter:
    if kind not in FORMATS:
        raise ValueError(f"unknown output format {kind!r}")
    cls = {"text": Reporter, "json": JsonReporter, "jsonl": JsonlReporter}[kind]
    return cls(stream=stream, show_diff=show_diff)
