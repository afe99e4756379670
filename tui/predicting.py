"""A follow-up's backend: the model drafts each file from the previous rewrite of it.

``PredictingBackend`` wraps the loaded backend and sets ``GenerationRequest.prediction`` to the
earlier rewrite of the requested path, so the core's edit loop runs unchanged while the drafter
copies from what the user already saw. Everything else is the wrapped backend's. It knows the
request type, not the app.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapply.engine.types import GenerationRequest, GenerationResult


class PredictingBackend:
    def __init__(self, backend: Any, predictions: dict[str, str]) -> None:
        self._backend = backend
        self.predictions = dict(predictions)  # repository-relative path -> the previous rewrite

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)  # name, device, dtype, max_context, count_tokens

    def generate(self, request: GenerationRequest) -> GenerationResult:
        prediction = self.predictions.get(request.path)
        if prediction is not None:
            request = replace(request, prediction=prediction)
        return self._backend.generate(request)  # type: ignore[no-any-return]


def follow_up_instruction(previous: str, follow_up: str) -> str:
    """The instruction of a follow-up: the first request, then the new one on its own line."""
    return f"{previous.rstrip()}\n{follow_up.strip()}" if previous.strip() else follow_up.strip()
