"""Running edits over many files and many jobs with one model load, resumably.

``run_edits`` is one instruction over a list of files: every file is read first (so refusals cost
no model load), the backend is loaded only if something can be edited, each result is written as
soon as it is judged (one apply record for the run, so ``undo`` takes it back as a whole).
``run_batch`` runs jobs (``{"files": [...], "instruction": ...}`` per JSONL line) in order; a job
that fails or is refused does not stop the others. Each job that finished cleanly is recorded in a
state file under the git dir, so an interrupted batch resumes where it stopped and a rerun runs
again exactly the jobs that failed, were refused or never ran.

With ``jobs`` N > 1 (for a backend that takes concurrent calls: a remote one), the first request of
each file is started ahead, N in flight at once (``fastapply.remote.prefetch``); results are still
taken, judged, checked and written one at a time in order (a retry joins the same queue).

Progress is reported through an ``Events`` object; nothing here prints.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fastapply.apply import ApplySession
from fastapply.backend import Backend
from fastapply.checks import CheckResult, CheckRunner
from fastapply.edit import EditOptions, EditRequest, EditResult, check_instruction, generation_request, read_for_edit
from fastapply.engine.types import GenerationRequest, GenerationResult
from fastapply.errors import RefusedError, UsageError
from fastapply.files import SourceFile, write_atomic
from fastapply.journal import journal_dir
from fastapply.remote.prefetch import Prefetching, request_key
from fastapply.repo import RepoInfo
from fastapply.retry import edit_checked

DONE_STATUSES = ("changed", "unchanged")  # a job whose files all end so is done


class Events:
    """Progress callbacks; the default does nothing. Subclass to show or stream progress."""

    def file_started(self, path: str) -> None: ...

    def text(self, path: str, piece: str) -> None: ...

    def file_retrying(self, path: str, attempt: int, failed: list[CheckResult]) -> None:
        """A candidate failed ``failed``; attempt number ``attempt`` (from 2) starts now."""

    def file_completed(self, result: EditResult, *, written: bool) -> None: ...


@dataclass(slots=True)
class RunOutcome:
    results: list[EditResult] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    session: ApplySession | None = None  # None when nothing was to be written


class LazyBackend:
    """Loads the backend on first use, at most once for all the jobs that share it."""

    def __init__(self, load: Callable[[], Backend]) -> None:
        self._load = load
        self._backend: Backend | None = None

    def get(self) -> Backend:
        if self._backend is None:
            self._backend = self._load()
        return self._backend

    @property
    def loaded(self) -> Backend | None:
        return self._backend


class Lookahead:
    """A backend that keeps the next ``jobs`` requests of ``plan`` in flight ahead of the loop.

    ``plan`` is every first request the loop will make, in its order; asking for one of them
    starts the ones after it, so ``jobs`` stay busy while the loop judges and writes. A request
    not in the plan (a retry) joins the same queue, behind those already started.
    """

    def __init__(self, backend: Backend, plan: list[GenerationRequest], jobs: int) -> None:
        self.pool = Prefetching(backend, jobs)
        self.plan = plan
        self.jobs = jobs
        self._index = {request_key(r): i for i, r in reversed(list(enumerate(plan)))}
        self._sent = 0
        self._start(jobs)

    name = property(lambda self: self.pool.name)
    device = property(lambda self: self.pool.device)
    dtype = property(lambda self: self.pool.dtype)
    max_context = property(lambda self: self.pool.max_context)

    def count_tokens(self, text: str) -> int:
        return self.pool.count_tokens(text)

    def _start(self, until: int) -> None:
        if until > self._sent:
            self.pool.prefetch(self.plan[self._sent:until])
            self._sent = until

    def generate(self, request: GenerationRequest) -> GenerationResult:
        index = self._index.get(request_key(request))
        if index is not None:
            self._start(index + 1 + self.jobs)
        else:
            self.pool.prefetch([request])  # through the pool too, so never more than ``jobs`` at once
        return self.pool.generate(request)

    def close(self) -> None:
        self.pool.close()


def first_requests(
    sources: list[tuple[SourceFile, str]], options: EditOptions, seen: set[Path] | None = None
) -> list[GenerationRequest]:
    """The first generation request of each (file, instruction), as ``edit_checked`` will make it.

    A file already in ``seen`` (named by an earlier job, which may change it) is left out.
    """
    seen = set() if seen is None else seen
    plan: list[GenerationRequest] = []
    for source, instruction in sources:
        if source.real_path in seen:
            continue
        seen.add(source.real_path)
        plan.append(generation_request(source, EditRequest(source.path, instruction, options)))
    return plan


@contextmanager
def in_flight(backend: LazyBackend, plan: list[GenerationRequest], jobs: int) -> Iterator[LazyBackend]:
    """``backend``, or with ``jobs`` > 1 one that prefetches ``plan``; what is in flight ends on exit."""
    if jobs <= 1 or not plan:
        yield backend
        return
    ahead = LazyBackend(lambda: Lookahead(backend.get(), plan, jobs))
    try:
        yield ahead
    finally:
        if isinstance(ahead.loaded, Lookahead):
            ahead.loaded.close()


def checker_for(repo: RepoInfo, options: EditOptions) -> CheckRunner | None:
    """The checks ``options`` ask for, or None when there are none."""
    if not options.builtin_checks and not options.checks:
        return None
    return CheckRunner(repo, list(options.checks), builtin=options.builtin_checks)


def run_edits(
    backend: LazyBackend,
    repo: RepoInfo,
    paths: list[str],
    instruction: str,
    *,
    options: EditOptions | None = None,
    write: bool = True,
    events: Events | None = None,
    cancel: threading.Event | None = None,
    jobs: int = 1,
) -> RunOutcome:
    """Edit ``paths`` with ``instruction``; write the changed ones unless ``write`` is False.

    ``jobs`` > 1 keeps that many requests in flight (the backend must take concurrent calls).

    Each changed candidate is checked and retried as ``options`` say (``fastapply.retry``); a
    ``check-failed`` result is never written. A configured check command that cannot start
    raises ``fastapply.checks.CheckSetupError`` before anything is read or loaded.
    The caller commits with ``outcome.session.finish(commit=True)`` when it wants to.
    """
    events = events or Events()
    options = options or EditOptions()
    checker = checker_for(repo, options)
    if checker is not None:
        checker.preflight()
    outcome = RunOutcome()
    session = ApplySession(repo, instruction) if write else None
    reads = [read_for_edit(EditRequest(p, instruction, options), repo) for p in paths]
    plan = first_requests([(s, instruction) for s in reads if isinstance(s, SourceFile)], options) if jobs > 1 else []
    with in_flight(backend, plan, jobs) as model:
        for path, source in zip(paths, reads):
            events.file_started(source.path if not isinstance(source, EditResult) else path)
            if isinstance(source, EditResult):
                result = source
            else:
                request = EditRequest(source.path, instruction, options)
                name = source.path
                result = edit_checked(
                    model.get(), source, request, checker, cancel=cancel,
                    on_text=lambda piece: events.text(name, piece),
                    on_retry=lambda attempt, failed: events.file_retrying(name, attempt, failed),
                )
            written = False
            if session is not None and result.status == "changed":
                try:
                    written = session.write(result)
                except RefusedError as exc:
                    result.status, result.reason = "refused", exc.reason
                except OSError as exc:  # a full disk, an immutable file: this file is not written
                    result.status, result.reason = "failed", f"not written: {exc.strerror or exc}"
            if written:
                outcome.written.append(result.path)
            outcome.results.append(result)
            events.file_completed(result, written=written)
            if result.finish_reason == "cancelled":
                break
    outcome.session = session
    return outcome


@dataclass(slots=True)
class Job:
    index: int
    files: list[str]
    instruction: str
    key: str  # identifies the job's content, for resuming


def parse_jobs(path: Path) -> list[Job]:
    """Read a JSONL jobs file.

    Raises:
        UsageError: unreadable file, bad JSON, or a line without ``files`` and ``instruction``.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read jobs: {exc}") from None
    jobs: list[Job] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number}: not JSON: {exc.msg}") from None
        files = data.get("files") if isinstance(data, dict) else None
        if isinstance(files, str):
            files = [files]
        instruction = data.get("instruction") if isinstance(data, dict) else None
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            raise UsageError(f"{path}:{number}: 'files' must be a non-empty list of paths")
        if not isinstance(instruction, str):
            raise UsageError(f"{path}:{number}: 'instruction' must be a non-empty string")
        check_instruction(instruction, f"{path}:{number}: 'instruction'")
        digest = hashlib.sha256(json.dumps([files, instruction]).encode()).hexdigest()[:16]
        jobs.append(Job(len(jobs), files, instruction, f"{len(jobs)}:{digest}"))
    return jobs


def state_path(repo: RepoInfo, jobs_file: Path) -> Path:
    """Where the progress of ``jobs_file`` is kept (under the git dir, never in the work tree)."""
    digest = hashlib.sha256(str(jobs_file.resolve()).encode()).hexdigest()[:16]
    return journal_dir(repo.git_dir) / "batch" / f"{digest}.json"


def _damage(data: object) -> str:
    """Why parsed state ``data`` is not what ``BatchState.mark`` writes; empty when it is."""
    done = data.get("done") if isinstance(data, dict) else None
    if not isinstance(done, dict):
        return 'not an object with a "done" table'
    for key, summary in done.items():
        counts = [summary.get(name) for name in ("files", "written")] if isinstance(summary, dict) else [None]
        if not all(type(n) is int and n >= 0 for n in counts):  # ``type``: a bool is an int, never a count
            return f"job {key!r} has no valid summary"
    return ""


@dataclass
class BatchState:
    path: Path
    done: dict[str, dict[str, Any]] = field(default_factory=dict)  # job key -> summary
    damaged: str = ""  # why the file found was set aside (every job runs); empty when it was sound

    @classmethod
    def load(cls, path: Path, *, restart: bool = False) -> BatchState:
        """The state kept at ``path``; empty when there is none, with ``restart``, or when damaged.

        A damaged file (unreadable, not UTF-8 JSON, or not the shape ``mark`` writes) means
        starting over, never skipping blindly; ``damaged`` says why, for the caller to report.
        """
        if restart or not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            return cls(path, damaged=f"cannot read it: {exc.strerror or exc}")
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; deep nesting recurses
            return cls(path, damaged="not JSON")
        why = _damage(data)
        return cls(path, damaged=why) if why else cls(path, dict(data["done"]))

    def mark(self, job: Job, summary: dict[str, Any]) -> None:
        self.done[job.key] = summary
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"done": self.done}, indent=1).encode(), 0o644)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(slots=True)
class JobOutcome:
    job: Job
    skipped: bool
    outcome: RunOutcome | None = None
    error: str = ""

    @property
    def results(self) -> list[EditResult]:
        return self.outcome.results if self.outcome else []

    @property
    def written(self) -> list[str]:
        return self.outcome.written if self.outcome else []

    @property
    def finished(self) -> bool:
        """Ran to the end with nothing refused, failed or in error: a rerun may skip it."""
        return not self.skipped and not self.error and all(r.status in DONE_STATUSES for r in self.results)


def run_batch(
    backend: LazyBackend,
    repo: RepoInfo,
    jobs: list[Job],
    state: BatchState,
    *,
    options: EditOptions | None = None,
    expand: Callable[[list[str]], list[str]] = lambda files: files,
    events: Events | None = None,
    on_job: Callable[[JobOutcome], None] | None = None,
    cancel: threading.Event | None = None,
    in_flight_jobs: int = 1,
) -> list[JobOutcome]:
    """Run ``jobs`` in order, skipping those ``state`` says are done, recording each as it ends.

    ``in_flight_jobs`` > 1 keeps that many requests in flight across the jobs (the backend must
    take concurrent calls); a file named by several jobs is prefetched only for the first.

    Only a job whose every file came out changed or unchanged is marked done. One that was
    refused, failed, had an error (a missing file) or was interrupted by ``cancel`` (or
    KeyboardInterrupt) stays pending, so the next run of the batch runs it again; a finished batch
    run again skips everything until ``state`` is cleared (``--restart``).
    """
    options = options or EditOptions()
    pending = [j for j in jobs if j.key not in state.done]
    plan = _batch_plan(repo, pending, options, expand) if in_flight_jobs > 1 else []
    with in_flight(backend, plan, in_flight_jobs) as model:
        outcomes: list[JobOutcome] = []
        for job in jobs:
            if job.key in state.done:
                done = JobOutcome(job, skipped=True)
            else:
                try:
                    paths = expand(job.files)
                except UsageError as exc:
                    done = JobOutcome(job, skipped=False, error=str(exc))
                else:
                    run = run_edits(model, repo, paths, job.instruction, options=options, events=events, cancel=cancel)
                    done = JobOutcome(job, skipped=False, outcome=run)
                if cancel is not None and cancel.is_set():
                    outcomes.append(done)
                    if on_job:
                        on_job(done)
                    break
                if done.finished:
                    state.mark(job, {"files": len(done.results), "written": len(done.written)})
            outcomes.append(done)
            if on_job:
                on_job(done)
        return outcomes


def _batch_plan(
    repo: RepoInfo, jobs: list[Job], options: EditOptions, expand: Callable[[list[str]], list[str]]
) -> list[GenerationRequest]:
    """The first requests of the files of ``jobs``, in the order the jobs will make them."""
    plan: list[GenerationRequest] = []
    seen: set[Path] = set()
    for job in jobs:
        try:
            paths = expand(job.files)
        except UsageError:
            continue  # the job will report it
        reads = [read_for_edit(EditRequest(p, job.instruction, options), repo) for p in paths]
        plan += first_requests([(s, job.instruction) for s in reads if isinstance(s, SourceFile)], options, seen)
    return plan
