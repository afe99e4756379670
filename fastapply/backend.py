"""The one door from the core to a model: a ``Backend`` turns a generation request into a result.

The real backend is the engine (``fastapply.engine.api.Engine``), imported only when a model is
loaded, so ``import fastapply`` stays free of torch. ``load_model`` is how every way in (CLI, TUI)
gets one: the engine, or, when ``FASTAPPLY_BACKEND=module:factory`` is set, whatever that factory
returns (the seam tests use for a fake backend with the same shape). With ``remote`` options (an
API base), the backend is a model on an OpenAI-compatible server (``fastapply.remote``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

from fastapply.engine.types import GenerationRequest, GenerationResult
from fastapply.errors import EngineFailure, UsageError

if TYPE_CHECKING:
    from fastapply.engine.api import Engine
    from fastapply.remote.options import RemoteOptions

BACKEND_ENV = "FASTAPPLY_BACKEND"


class Backend(Protocol):
    """What the core needs from a model: a name, where it runs, and ``generate``."""

    name: str
    device: str
    dtype: str
    max_context: int

    def generate(self, request: GenerationRequest) -> GenerationResult: ...

    def count_tokens(self, text: str) -> int: ...


def load_backend(
    model: str = "default",
    *,
    device: str | None = None,
    dtype: str | None = None,
    trust_remote_code: bool = False,
) -> Engine:
    """Load a model by local path, hub id or ``"default"`` (the embedded apply model).

    Raises:
        fastapply.engine.types.EngineError: the model could not be found or loaded.
    """
    from fastapply.engine.api import Engine

    return Engine.load(model, device=device, dtype=dtype, trust_remote_code=trust_remote_code)


def load_model(
    model: str | None,
    *,
    device: str | None = None,
    dtype: str | None = None,
    remote: RemoteOptions | Literal[False] | None = None,
) -> Backend:
    """Load the backend for ``model`` (``None`` means ``"default"``, or a remote server's only model).

    ``remote`` names an OpenAI-compatible server (the CLI resolves it from flags, configuration and
    environment); without it, ``FASTAPPLY_API_BASE`` alone can still make the model remote, and
    ``remote=False`` loads it here whatever the environment says.

    Raises:
        UsageError: ``FASTAPPLY_BACKEND`` is malformed, or the remote options are.
        EngineFailure: the engine is not installed or could not load the model; the remote server
            could not be reached, refused the key, or has no such model.
    """
    if remote is None:
        from fastapply.remote.options import resolve_remote

        remote = resolve_remote()
    if remote is not None and remote is not False:
        from fastapply.remote.backend import RemoteBackend

        return RemoteBackend.connect(model, remote)
    factory = os.environ.get(BACKEND_ENV)
    if factory:
        module_name, _, attr = factory.partition(":")
        if not module_name or not attr:
            raise UsageError(f"{BACKEND_ENV} must look like 'module:factory', not {factory!r}")
        try:
            return getattr(importlib.import_module(module_name), attr)()  # type: ignore[no-any-return]
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"{BACKEND_ENV}={factory!r}: {exc}") from None
    try:
        return load_backend(model or "default", device=device, dtype=dtype)
    except ImportError as exc:
        raise EngineFailure(f"the engine is not available: {exc}") from None


def on_calibration(
    backend: Backend, callback: Callable[[], None], done: Callable[[float], None] | None = None
) -> None:
    """Have ``callback`` called just before the engine measures its draft widths, and ``done``
    after, with the measurement's seconds.

    That measurement (once per model, device and dtype; the result is cached) is otherwise a
    silent wait of seconds before the first speculative generation. Backends that do not
    calibrate (remote, fakes) ignore this.
    """
    config = getattr(backend, "config", None)
    if config is not None and hasattr(config, "on_measure"):
        config.on_measure = callback
        if done is not None and hasattr(config, "on_measured"):
            config.on_measured = done
