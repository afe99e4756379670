"""One edit: a request (path, instruction, options) becomes a result (texts, diff, hunks, stats).

``edit_file`` reads the file safely, asks the backend for the rewrite and checks the output, but
never writes: ``fastapply.apply`` does. Problems with one file (refused for safety, cut off,
cancelled, engine error) come back as the result's ``status`` and ``reason``, not as exceptions, so
a run over many files carries on. Texts in the result use ``\\n`` endings; ``source`` knows how to
encode them back.

This module knows the backend's request/result types, not the engine behind them.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

from fastapply.backend import Backend
from fastapply.checks import CheckResult
from fastapply.config import DEFAULT_MAX_ATTEMPTS, CheckEntry, Config
from fastapply.diff import Hunk, format_hunks, split_hunks
from fastapply.engine.types import EngineError, GenerationRequest, GenerationStats, PromptTooLong
from fastapply.errors import FastapplyError, UsageError
from fastapply.files import DEFAULT_MAX_BYTES, FileRefused, SourceFile, disk_change, read_source, sha256
from fastapply.guards import check_output
from fastapply.repo import RepoInfo, find_repo
from fastapply.unicode import lone_surrogate

Status = Literal["changed", "unchanged", "refused", "failed", "check-failed"]


@dataclass(slots=True)
class EditOptions:
    max_new_tokens: int | None = None
    allow_deletion: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    # check and retry (fastapply.checks, fastapply.retry)
    builtin_checks: bool = True  # the candidate must parse (Python, JSON, TOML, YAML)
    checks: list[CheckEntry] = field(default_factory=list)  # configured [[tool.fastapply.check]]
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # generations per file, the first included
    write_failing: bool = False  # write the last candidate even though its checks fail

    @classmethod
    def from_config(cls, config: Config, **overrides: object) -> EditOptions:
        """The options a configuration implies (every way in uses the same), then ``overrides``."""
        options = cls(
            max_new_tokens=config.max_new_tokens,
            allow_deletion=config.allow_deletion,
            max_bytes=config.max_bytes,
            checks=list(config.checks),
            max_attempts=config.max_attempts,
        )
        for key, value in overrides.items():
            setattr(options, key, value)
        return options


@dataclass(slots=True)
class EditRequest:
    path: str
    instruction: str
    options: EditOptions = field(default_factory=EditOptions)


@dataclass(slots=True)
class EditResult:
    path: str  # repo-relative
    before: str = ""
    after: str = ""
    diff: str = ""
    hunks: list[Hunk] = field(default_factory=list)
    stats: GenerationStats | None = None
    finish_reason: str | None = None
    status: Status = "unchanged"
    reason: str = ""
    before_sha256: str = ""
    after_sha256: str = ""
    source: SourceFile | None = None
    instruction: str = ""
    attempts: int = 0  # generations made for this file (0: refused before any)
    checks: list[CheckResult] = field(default_factory=list)  # every attempt's, in order
    checks_passed: bool | None = None  # None: no check applied to the last candidate

    def changed_on_disk(self) -> bool:
        """Whether the file no longer holds the bytes it held when it was read."""
        if self.source is None:
            return False
        return disk_change(self.source) is not None


def check_instruction(text: str, where: str = "the instruction") -> None:
    """UsageError unless ``text`` holds something besides blanks and is valid Unicode (an argument
    or a JSON string can carry a lone surrogate, which no tokenizer or server accepts)."""
    if not text.strip():
        raise UsageError(f"{where} is empty")
    if lone_surrogate(text) is not None:
        raise UsageError(f"{where} is not valid UTF-8 text")


def read_for_edit(request: EditRequest, repo: RepoInfo | None = None) -> SourceFile | EditResult:
    """Steps 1-3 of the write pipeline: the source, or a refused result saying why."""
    name = str(request.path)
    try:
        repo = repo or find_repo(request.path)
        name = _display_path(name, repo)
        return read_source(
            request.path, repo.root, git_dir=repo.git_dir, max_bytes=request.options.max_bytes
        )
    except FileRefused as exc:
        return EditResult(path=name, status="refused", reason=exc.reason, instruction=request.instruction)
    except FastapplyError as exc:
        return EditResult(path=name, status="refused", reason=str(exc), instruction=request.instruction)


def _display_path(path: str, repo: RepoInfo) -> str:
    """Repo-relative when the path lies in the tree (lexically), else as given."""
    absolute = os.path.normpath(os.path.join(os.getcwd(), path))
    rel = os.path.relpath(absolute, repo.root)
    return path if rel.startswith("..") else Path(rel).as_posix()


def generation_request(
    source: SourceFile,
    request: EditRequest,
    *,
    prediction: str | None = None,
    on_text: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> GenerationRequest:
    """What ``edit_source`` asks the backend for (a prefetch must ask for exactly the same)."""
    return GenerationRequest(
        code=source.text,
        instruction=request.instruction,
        path=source.path,
        max_new_tokens=request.options.max_new_tokens,
        prediction=prediction,
        cancel=cancel,
        on_text=on_text,
    )


def edit_source(
    backend: Backend,
    source: SourceFile,
    request: EditRequest,
    *,
    on_text: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    prediction: str | None = None,
) -> EditResult:
    """Step 4: generate the rewrite of an already read file and judge it.

    ``prediction`` is what the output is expected to be (a failed attempt being fixed): the
    drafter's source instead of the file, so only the fix is generated token by token.
    """
    result = EditResult(
        path=source.path,
        before=source.text,
        before_sha256=source.sha256,
        source=source,
        instruction=request.instruction,
    )
    try:
        generated = backend.generate(
            generation_request(source, request, prediction=prediction, on_text=on_text, cancel=cancel)
        )
    except PromptTooLong as exc:
        result.status, result.reason = "refused", f"too large for the model's context: {exc}"
        return result
    except EngineError as exc:
        return _fail(result, f"engine error: {exc}")
    except MemoryError:
        return _fail(result, "out of memory")
    result.attempts = 1
    result.stats = generated.stats
    result.finish_reason = generated.finish_reason
    if generated.finish_reason == "length":
        return _fail(result, f"output cut off at the token limit ({generated.stats.tokens} tokens)")
    if generated.finish_reason == "cancelled":
        return _fail(result, "cancelled")
    if generated.finish_reason != "stop":
        return _fail(result, f"engine error: {generated.error or generated.finish_reason}")
    after = source.normalized(generated.text)
    refusal = check_output(source.text, after, allow_deletion=request.options.allow_deletion)
    if refusal is not None:
        result.status, result.reason = "refused", refusal
        return result
    if result.changed_on_disk():
        result.status, result.reason = "refused", "changed on disk since it was read"
        return result
    result.after = after
    if after == source.text:
        result.after_sha256 = source.sha256
        result.status = "unchanged"
        return result
    result.hunks = split_hunks(source.text, after)
    result.diff = format_hunks(result.hunks, source.path)
    result.after_sha256 = sha256(source.encode(after))
    result.status = "changed"
    return result


def _fail(result: EditResult, reason: str) -> EditResult:
    result.status, result.reason = "failed", reason
    return result


def edit_file(
    backend: Backend,
    request: EditRequest,
    *,
    repo: RepoInfo | None = None,
    on_text: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> EditResult:
    """Read, rewrite and check one file. Never writes; never raises for a per-file problem."""
    source = read_for_edit(request, repo)
    if isinstance(source, EditResult):
        return source
    return edit_source(backend, source, request, on_text=on_text, cancel=cancel)

