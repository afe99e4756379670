"""The one door from the core to a model: a ``Backend`` turns a generation request into a result.

The real backend is the engine (``fastapply.engine.api.Engine``), imported only when a model is
loaded, so ``import fastapply`` stays free of torch. Tests of git, files and the TUI use a fake
backend with the same shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from fastapply.engine.types import GenerationRequest, GenerationResult

if TYPE_CHECKING:
    from fastapply.engine.api import Engine


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
