"""What the app is started with: where, which model, and the knobs tests turn.

A frozen dataclass so the CLI, the tests and the latency script build the app the same way. It
knows nothing about widgets or the model itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapply.config import Config
from fastapply.edit import EditOptions
from fastapply.files import DEFAULT_MAX_BYTES
from fastapply.remote.options import RemoteOptions
from fastapply.tui._coalesce import DEFAULT_INTERVAL


@dataclass(frozen=True)
class AppConfig:
    """How to start the app.

    Attributes:
        path: a directory inside the repository to open.
        model: the model spec given to ``fastapply.backend.load_model`` (tests substitute that
            function, the same seam as the CLI's).
        device: the device asked for, or None for the best available.
        dtype: the dtype asked for, or None for the device's default.
        review_grace: seconds after the review opens during which its keys are ignored.
        stream_interval: the least time between two screen updates of a stream.
        clock: the clock the generate worker measures rates with (tests pass a fake).
        history_path: where instructions are remembered between runs; None keeps them in memory.
        max_new_tokens: passed to the edit options; None lets the core decide.
        allow_deletion: passed to the edit options (the configuration's ``allow_deletion``).
        max_bytes: the size limit for listing and editing (the configuration's ``max_bytes``).
        project: the project's configuration (its checks and ``max_attempts`` reach the edit
            options); None reads it from the repository when a run starts.
        remote: the OpenAI-compatible server the model runs on (the CLI resolves it from the
            flags, the configuration and the environment); None loads the model locally.
        local: load locally even while ``FASTAPPLY_API_BASE`` names a server (the model switch's
            local choice).
    """

    path: Path = field(default_factory=Path.cwd)
    model: str = "default"
    device: str | None = None
    dtype: str | None = None
    review_grace: float = 0.5
    stream_interval: float = DEFAULT_INTERVAL
    clock: Callable[[], float] = time.monotonic
    history_path: Path | None = None
    max_new_tokens: int | None = None
    allow_deletion: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    project: Config | None = field(default=None, compare=False)
    remote: RemoteOptions | None = None
    local: bool = False


def edit_options(config: AppConfig, repo_root: Path) -> EditOptions:
    """The edit options of a run: the project's (checks, attempts), then the app's own knobs.

    Raises:
        fastapply.config.ConfigError: the project's configuration file is not valid.
    """
    from fastapply.config import load_project_config

    project = config.project if config.project is not None else load_project_config(repo_root)
    return EditOptions.from_config(
        project, max_new_tokens=config.max_new_tokens, allow_deletion=config.allow_deletion, max_bytes=config.max_bytes
    )
