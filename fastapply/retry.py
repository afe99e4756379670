"""Check and retry: a changed candidate is checked, and a failing one is fed back and redone.

``edit_checked`` is one file's loop. Each attempt generates (``fastapply.edit.edit_source``); a
``changed`` candidate is checked (``fastapply.checks``); when a check fails and attempts are
left, the next attempt's instruction carries the failing checks' output (trimmed) and its
prediction is the failed candidate, so the drafter drafts from it and only the fix is generated.
When the last attempt still fails, the status is ``check-failed`` and nothing may be written,
unless ``write_failing`` asked for it (then ``changed`` with ``checks_passed`` False). Every
attempt's check results stay on the result, numbered by attempt, and its stats are the sum of
every attempt's (tokens, forwards, seconds), so reports count the retries' cost.

This module knows the loop, not how a check runs or how a result is written.
"""

from __future__ import annotations

import copy
import threading
from typing import Callable

from fastapply.backend import Backend
from fastapply.checks import CheckResult, CheckRunner
from fastapply.edit import EditRequest, EditResult, edit_source
from fastapply.engine.types import GenerationStats
from fastapply.files import SourceFile

MAX_FEEDBACK_CHARS = 2000  # of check output per retry prompt; a long log keeps its head and tail


def feedback_instruction(instruction: str, failed: list[CheckResult]) -> str:
    """The instruction of a retry: the original, then what the checks said of the last rewrite."""
    budget = max(200, MAX_FEEDBACK_CHARS // max(1, len(failed)))
    parts = [
        instruction.rstrip(),
        "",
        "Your previous rewrite of this file failed these checks. Return the whole file again, with "
        "the instruction carried out and the problems fixed.",
    ]
    for check in failed:
        parts += ["", f"Check `{check.name}` failed:", _trim(check.output.strip(), budget) or "(no output)"]
    return "\n".join(parts)


def _trim(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    head = budget * 2 // 3
    return f"{text[:head]}\n[...]\n{text[-(budget - head):]}"


def edit_checked(
    backend: Backend,
    source: SourceFile,
    request: EditRequest,
    checker: CheckRunner | None,
    *,
    on_text: Callable[[str], None] | None = None,
    on_retry: Callable[[int, list[CheckResult]], None] | None = None,
    cancel: threading.Event | None = None,
) -> EditResult:
    """Generate, check and retry one already read file, at most ``options.max_attempts`` times.

    ``on_retry(attempt, failed)`` is called before each new attempt (numbered from 2).

    Raises:
        fastapply.checks.CheckSetupError: a configured check command could not be started.
    """
    options = request.options
    attempts = max(1, options.max_attempts)
    history: list[CheckResult] = []
    spent: GenerationStats | None = None
    instruction, prediction = request.instruction, None
    for attempt in range(1, attempts + 1):
        attempt_request = EditRequest(request.path, instruction, options)
        result = edit_source(backend, source, attempt_request, on_text=on_text, cancel=cancel, prediction=prediction)
        result.instruction = request.instruction  # the journal and the commit name the user's
        result.attempts = attempt
        result.checks = history
        spent = result.stats = _total(spent, result.stats)
        if result.status != "changed" or checker is None or not checker.applies(source.path):
            return result
        checks = checker.run(source.path, result.after, source.encode(result.after), attempt=attempt)
        history.extend(checks)
        failed = [c for c in checks if not c.ok]
        result.checks_passed = not failed
        if not failed:
            return result
        if attempt == attempts:
            return _give_up(result, failed, write_failing=options.write_failing)
        if on_retry is not None:
            on_retry(attempt + 1, failed)
        instruction, prediction = feedback_instruction(request.instruction, failed), result.after
    raise AssertionError("unreachable: the loop returns on its last attempt")


def _total(spent: GenerationStats | None, new: GenerationStats | None) -> GenerationStats | None:
    """The stats of every attempt so far, summed; the finish reason is the last attempt's."""
    if spent is None or new is None:
        return new or spent
    total = copy.copy(new)
    for name in ("tokens", "forwards", "draft_proposed", "draft_accepted", "prediction_accepted",
                 "prediction_rejected", "prompt_tokens", "prefill_seconds", "seconds"):
        setattr(total, name, getattr(spent, name) + getattr(new, name))
    total.time_to_first_token = spent.time_to_first_token
    return total


def _give_up(result: EditResult, failed: list[CheckResult], *, write_failing: bool) -> EditResult:
    names = ", ".join(c.name for c in failed)
    tries = f"{result.attempts} attempt{'s' if result.attempts != 1 else ''}"
    if write_failing:
        result.reason = f"checks failed ({names}) after {tries}; written as asked (--write-failing)"
        return result
    result.status = "check-failed"
    result.reason = f"checks failed ({names}) after {tries}; nothing written"
    return result
