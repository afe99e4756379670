"""A predicted rewrite through an OpenAI-compatible server against the same rewrite without one.

``compare_prediction`` sends the same chat rewrite with the file as a Predicted Output and without
it, alternating, and keeps each side's fastest run, so the two are measured side by side on one
server in one process (ratios mean something; absolute figures depend on the machine). It returns
figures and prints nothing. Knows the openai SDK and the prompt contract, not models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapply.engine.prompt import CLOSE_OUTPUT, OPEN_OUTPUT, SYSTEM, user_message


@dataclass(slots=True)
class Timing:
    predicted: bool
    seconds: float
    completion_tokens: int
    accepted: int
    rejected: int
    forwards: int  # from fastapply serve's own stats; 0 from other servers
    text: str

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


def rewrite_messages(code: str, instruction: str, path: str = "", *, prefill: bool = True) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_message(instruction, code, path)}]
    if prefill:
        messages.append({"role": "assistant", "content": f"{OPEN_OUTPUT}\n"})
    return messages


def time_rewrite(client: Any, model: str, messages: list[dict[str, str]], prediction: str | None) -> Timing:
    extra: dict[str, Any] = {"prediction": {"type": "content", "content": prediction}} if prediction else {}
    started = time.perf_counter()
    reply = client.chat.completions.create(model=model, messages=messages, stop=[CLOSE_OUTPUT], temperature=0, **extra)
    seconds = time.perf_counter() - started
    usage = reply.usage
    details = usage.completion_tokens_details
    own = (reply.model_extra or {}).get("fastapply") or {}
    return Timing(
        predicted=prediction is not None,
        seconds=seconds,
        completion_tokens=usage.completion_tokens,
        accepted=int(getattr(details, "accepted_prediction_tokens", 0) or 0) if details else 0,
        rejected=int(getattr(details, "rejected_prediction_tokens", 0) or 0) if details else 0,
        forwards=int(own.get("forwards", 0) or 0),
        text=reply.choices[0].message.content or "",
    )


def compare_prediction(client: Any, model: str, code: str, instruction: str, path: str = "",
                       *, repeats: int = 3, prefill: bool = True) -> tuple[Timing, Timing]:
    """(with prediction, without), each the fastest of ``repeats`` alternating runs, after one warm-up."""
    messages = rewrite_messages(code, instruction, path, prefill=prefill)
    time_rewrite(client, model, messages, None)  # warm-up: the server measures its draft widths once
    runs: dict[bool, list[Timing]] = {True: [], False: []}
    for _ in range(repeats):
        for predicted in (True, False):
            runs[predicted].append(time_rewrite(client, model, messages, code if predicted else None))
    best = {k: min(v, key=lambda t: t.seconds) for k, v in runs.items()}
    return best[True], best[False]
