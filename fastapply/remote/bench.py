"""An OpenAI-compatible endpoint timed end to end on bench cases, beside the local methods.

``time_cases`` sends each case's rewrite through a backend (a ``RemoteBackend`` in practice) and
keeps what the wire shows: wall seconds from request to last byte, the tokens and accepted
prediction tokens the server reports, and whether the file that came back is the case's ``after``
text. Nothing is written; it knows ``Backend`` and the bench case shape, not the engine.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapply.backend import Backend
from fastapply.engine.types import GenerationRequest


@dataclass(slots=True)
class RemoteRow:
    path: str
    tokens: int
    seconds: float
    prediction_accepted: int
    finish_reason: str
    matches_after: bool


@dataclass(slots=True)
class RemoteTimes:
    model: str
    rows: list[RemoteRow] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(r.tokens for r in self.rows)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 6),
            "tokens_per_second": round(self.tokens_per_second, 3),
            "matches_after": sum(r.matches_after for r in self.rows),
            "rows": [asdict(r) for r in self.rows],
        }


def time_cases(backend: Backend, cases: list[Any]) -> RemoteTimes:
    """Each case (``path``, ``instruction``, ``before``, ``after``) through ``backend``, end to end."""
    times = RemoteTimes(model=backend.name)
    for case in cases:
        request = GenerationRequest(code=case.before, instruction=case.instruction, path=case.path)
        started = time.perf_counter()
        result = backend.generate(request)
        seconds = time.perf_counter() - started
        times.rows.append(
            RemoteRow(
                path=case.path,
                tokens=result.stats.tokens,
                seconds=round(seconds, 6),
                prediction_accepted=result.stats.prediction_accepted,
                finish_reason=result.finish_reason,
                matches_after=result.finish_reason == "stop" and result.text.rstrip("\n") == case.after.rstrip("\n"),
            )
        )
    return times
