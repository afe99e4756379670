"""One run of the generate screen: the core's edit loop over some files, in the caller's thread.

The generate screen runs ``run_generation`` in a daemon thread. It refuses the files whose
rewrite cannot fit the context (never sent), has the engine say when it starts measuring its
draft widths (``fastapply.backend.on_calibration``), and runs ``fastapply.batch.run_edits`` with
``write=False``. It only posts messages (``post``); it knows no widgets.

A screen may let go of a run that does not stop when told (a forward under way is not
interrupted, and one wide forward of a big model on a CPU can take seconds): ``stamped`` marks
each message with its run's number and ``from_current_run`` makes a handler drop the messages of
any run but the screen's ``run_number``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from textual.message import Message

from fastapply.tui.messages import FileFinished, GenerationDone


def run_generation(
    post: Callable[[Message], Any],
    config: Any,
    backend: Any,
    repo: Any,
    paths: list[str],
    instruction: str,
    cancel: threading.Event,
) -> None:
    """Rewrite ``paths`` (repository-relative) with ``backend``; ends with ``GenerationDone``.

    ``config`` is the app's ``AppConfig``. Any failure ends the run with its message, not a crash.
    """
    from fastapply.backend import on_calibration
    from fastapply.batch import LazyBackend, run_edits
    from fastapply.tui.config import edit_options
    from fastapply.tui.run_events import ScreenEvents
    from fastapply.tui.tokens import refuse_over_context

    try:
        # the project's checks and max_attempts; a bad configuration or a check that cannot
        # start ends the run with its message
        options = edit_options(config, repo.root)
        refused, send = refuse_over_context(backend, repo.root, paths, instruction)  # never sent
        for result in refused:
            post(FileFinished(result.path, result, 0.0))
        if send and not cancel.is_set():
            events = ScreenEvents(post, repo.root, send, interval=config.stream_interval, clock=config.clock)
            on_calibration(backend, events.measuring, events.measured)
            absolute = [str(repo.root / p) for p in send]
            run_edits(
                LazyBackend(lambda: backend), repo, absolute, instruction,
                options=options, write=False, events=events, cancel=cancel,
            )
    except Exception as exc:  # an unexpected failure ends the run with a message, not a crash
        post(GenerationDone(cancel.is_set(), error=f"{type(exc).__name__}: {exc}"))
        return
    post(GenerationDone(cancel.is_set()))


Handler = TypeVar("Handler", bound=Callable[..., Any])


def stamped(post: Callable[[Message], Any], run: int) -> Callable[[Message], Any]:
    """``post``, marking each message as run number ``run``'s."""

    def post_stamped(message: Message) -> Any:
        message.run = run  # type: ignore[attr-defined]
        return post(message)

    return post_stamped


def from_current_run(handler: Handler) -> Handler:
    """For a screen's handler of a worker message: ignore messages of runs it has let go of."""

    @functools.wraps(handler)
    def checked(screen: Any, message: Message) -> Any:
        if getattr(message, "run", screen.run_number) != screen.run_number:
            return None
        return handler(screen, message)

    return checked  # type: ignore[return-value]
