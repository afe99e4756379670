"""Results as the CLI prints them: text, one JSON object, or JSONL events
(ARCHITECTURE.md, "Exit codes" and "Output").

A reporter is fed the run's events in order (``run_started``, ``file_started``, ``file_completed``,
``run_completed``; for a batch, ``job_completed`` per job and ``batch_completed``) and writes to
the stream it was given; the JSON reporter holds its records and writes once at the end. The same
reporters serve ``run``, ``hook`` and ``batch``. ``exit_code`` maps results to the exit-code table.

This module formats; it does not decide what to edit or write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from fastapply.checks import CheckResult
from fastapply.edit import EditResult
from fastapply.errors import EXIT_CHANGED, EXIT_CHECKS, EXIT_ENGINE, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from fastapply.unicode import shown

FORMATS = ("text", "json", "jsonl")
STATUSES = ("changed", "unchanged", "refused", "failed", "check-failed")


def count_statuses(results: list[EditResult]) -> dict[str, int]:
    """How many results have each status, every status present (zeros included)."""
    return {s: sum(1 for r in results if r.status == s) for s in STATUSES}


def file_record(result: EditResult, *, written: bool = False) -> dict[str, Any]:
    """The JSON record of one file; ``prediction_accepted`` and ``prediction_rejected`` only where
    the generation reported them (a prediction was sent and counted)."""
    stats = result.stats
    record: dict[str, Any] = {
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
        "attempts": result.attempts,
        "checks_passed": result.checks_passed,
        "checks": [c.to_dict() for c in result.checks],
    }
    if stats is not None and (stats.prediction_accepted or stats.prediction_rejected):
        # a Predicted Output's counts, as the server (or the local engine) reported them
        record["prediction_accepted"] = stats.prediction_accepted
        record["prediction_rejected"] = stats.prediction_rejected
    return record


def exit_code(results: list[EditResult], *, changes_fail: bool) -> int:
    """The exit code of a run: interrupted > engine failure > refused > checks failed (even when
    written with ``--write-failing``) > changed (when that fails)."""
    if any(r.finish_reason == "cancelled" for r in results):
        return EXIT_INTERRUPTED
    if any(r.status == "failed" for r in results):
        return EXIT_ENGINE
    if any(r.status == "refused" for r in results):
        return EXIT_REFUSED
    if any(r.status == "check-failed" or r.checks_passed is False for r in results):
        return EXIT_CHECKS
    if changes_fail and any(r.status == "changed" for r in results):
        return EXIT_CHANGED
    return EXIT_OK


def batch_exit_code(results: list[EditResult], *, errors: bool) -> int:
    """A batch's exit code: the worst file outcome, else 2 when a job had a usage error."""
    code = exit_code(results, changes_fail=False)
    return EXIT_USAGE if code == EXIT_OK and errors else code


def summarize(results: list[EditResult], *, written: int, seconds: float, code: int) -> dict[str, Any]:
    counts = count_statuses(results)
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


def job_record(
    number: int, instruction: str, results: list[EditResult], written: list[str], *, skipped: bool, error: str
) -> dict[str, Any]:
    """The JSON record of one batch job (``number`` counts from 1)."""
    done = set(written)
    return {
        "job": number,
        "instruction": instruction,
        "skipped": skipped,
        "error": error,
        "files": [file_record(r, written=r.path in done) for r in results],
        **count_statuses(results),
    }


def summarize_batch(jobs: list[dict[str, Any]], *, total: int, seconds: float, code: int) -> dict[str, Any]:
    """The summary of a batch from its job records; ``pending`` counts jobs a rerun will run."""
    ran = [j for j in jobs if not j["skipped"]]
    pending = total - len(jobs) + sum(1 for j in ran if j["error"] or j["refused"] or j["failed"] or j["check-failed"])
    return {
        "jobs": total,
        "ran": len(ran),
        "skipped": len(jobs) - len(ran),
        "errors": sum(1 for j in jobs if j["error"]),
        "pending": pending,
        **{k: sum(j[k] for j in jobs) for k in STATUSES},
        "seconds": round(seconds, 6),
        "exit_code": code,
    }


@dataclass
class Reporter:
    """Text output: a line per file, diffs when asked, a summary line; a table for a batch."""

    stream: TextIO
    show_diff: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def run_started(self, paths: list[str], instruction: str, model: str) -> None:
        pass

    def file_started(self, path: str) -> None:
        pass

    def file_retrying(self, path: str, attempt: int, failed: list[CheckResult]) -> None:
        pass

    def file_completed(self, result: EditResult, *, written: bool) -> None:
        record = file_record(result, written=written)
        self.records.append(record)
        self._file(record)

    def run_completed(self, summary: dict[str, Any]) -> None:
        self._summary(summary)

    def job_completed(self, record: dict[str, Any]) -> None:
        self.jobs.append(record)
        self._job(record)

    def batch_completed(self, summary: dict[str, Any]) -> None:
        self._batch(summary)

    def _job(self, record: dict[str, Any]) -> None:
        pass

    def _batch(self, s: dict[str, Any]) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="fastapply batch")
        for column in ("job", "instruction", *STATUSES, "note"):
            table.add_column(column)
        for job in self.jobs:
            note = "done earlier (skipped)" if job["skipped"] else job["error"]
            if not note and (job["refused"] or job["failed"] or job["check-failed"]):
                note = "pending: runs again next time"
            first = (job["instruction"].strip().splitlines() or [""])[0][:40]
            table.add_row(str(job["job"]), first, *(str(job[k]) for k in STATUSES), note)
        Console(file=self.stream, width=120).print(table)
        self.stream.write(
            f"{s['jobs']} job(s): {s['ran']} ran, {s['skipped']} skipped, {s['pending']} pending\n"
        )
        self.stream.flush()

    def _file(self, record: dict[str, Any]) -> None:
        if self.show_diff and record["diff"]:
            self.stream.write(record["diff"])
        verb = record["status"]
        if verb == "changed":
            verb = "changed (written)" if record["written"] else "would change"
        reason = f": {shown(record['reason'])}" if record["reason"] else ""  # it can quote a link's target
        self.stream.write(f"{shown(record['path'])}: {verb}{reason}\n")
        for check in record["checks"]:
            if not check["ok"]:
                first = (check["output"].strip().splitlines() or [""])[0]
                self.stream.write(f"  attempt {check['attempt']}: {check['name']} failed: {first}\n")

    def _summary(self, s: dict[str, Any]) -> None:
        checks = f", {s['check-failed']} check-failed" if s["check-failed"] else ""
        self.stream.write(
            f"{s['files']} file(s): {s['changed']} changed, {s['unchanged']} unchanged, "
            f"{s['refused']} refused, {s['failed']} failed{checks}; {s['written']} written\n"
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

    def _batch(self, s: dict[str, Any]) -> None:
        json.dump({"jobs": self.jobs, "summary": s}, self.stream, indent=2)
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

    def file_retrying(self, path: str, attempt: int, failed: list[CheckResult]) -> None:
        self._event("file.retrying", path=path, attempt=attempt, checks=[c.to_dict() for c in failed])

    def _file(self, record: dict[str, Any]) -> None:
        self._event("file.completed", **record)

    def _summary(self, s: dict[str, Any]) -> None:
        self._event("run.completed", summary=s)

    def _job(self, record: dict[str, Any]) -> None:
        self._event("job.completed", **record)

    def _batch(self, s: dict[str, Any]) -> None:
        self._event("batch.completed", summary=s)


def make_reporter(kind: str, stream: TextIO, *, show_diff: bool = False) -> Reporter:
    if kind not in FORMATS:
        raise ValueError(f"unknown output format {kind!r}")
    cls = {"text": Reporter, "json": JsonReporter, "jsonl": JsonlReporter}[kind]
    return cls(stream=stream, show_diff=show_diff)
