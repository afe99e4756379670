"""From parsed requests to prompt text, and from generation results to OpenAI response objects.

Chat messages are rendered with the model's own chat template. A conversation that ends with an
assistant message is *continued*: the template renders the turns before it with the generation
prompt, and the assistant's partial text follows verbatim (the prefill convention of llama.cpp
and Ollama), so a client can pre-fill the reply as fastapply's own prompt does. Responses carry
OpenAI's usage fields, prediction tokens included, and fastapply's own stats under ``fastapply``.
Knows tokenizers' chat templates and JSON shapes, not models or HTTP.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapply.engine.types import GenerationStats
from fastapply.serve.errors import bad_request
from fastapply.serve.protocol import Message

Kind = Literal["chat", "text"]


def chat_prompt(tokenizer: Any, messages: list[Message]) -> str:
    """The prompt text for ``messages``; a final assistant message is continued, not closed.

    Raises ``ApiError`` (400) when the model's chat template refuses the conversation.
    """
    continued = messages[-1].role == "assistant"
    head = messages[:-1] if continued else messages
    tail = messages[-1].content if continued else ""
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        return "".join(f"{m.content}\n\n" for m in head) + tail
    from jinja2 import TemplateError

    turns = [{"role": m.role, "content": m.content} for m in head]
    try:
        text = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
    except (TemplateError, ValueError, TypeError) as exc:
        raise bad_request(f"the model's chat template refused these messages: {exc}", "messages") from None
    return str(text) + tail


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """The text before the first stop string (OpenAI never returns the stop string itself)."""
    cuts = [at for at in (text.find(s) for s in stops) if at >= 0]
    return text[: min(cuts)] if cuts else text


class StopFilter:
    """Streamed text with the stop strings held back: nothing from the first stop string on is sent,
    and a tail that might begin one waits for the next piece. ``finish`` sends what the final text
    adds to what was sent."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self.text = ""
        self.sent = ""

    def _held(self) -> int:
        longest = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(self.text)), longest, -1):
                if self.text.endswith(stop[:n]):
                    longest = n
                    break
        return longest

    def push(self, piece: str) -> str:
        self.text += piece
        cut = cut_at_stop(self.text, self.stops)
        visible = cut if len(cut) < len(self.text) else self.text[: len(self.text) - self._held()]
        return self._advance(visible)

    def finish(self, final: str) -> str:
        return self._advance(final)

    def _advance(self, visible: str) -> str:
        if len(visible) <= len(self.sent) or not visible.startswith(self.sent):
            return ""
        piece, self.sent = visible[len(self.sent) :], visible
        return piece


def usage(stats: GenerationStats) -> dict[str, Any]:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.tokens,
        "total_tokens": stats.prompt_tokens + stats.tokens,
        "completion_tokens_details": {
            "accepted_prediction_tokens": stats.prediction_accepted,
            "rejected_prediction_tokens": stats.prediction_rejected,
            "reasoning_tokens": 0,
        },
    }


def openai_finish(stats: GenerationStats) -> str:
    return "length" if stats.finish_reason == "length" else "stop"


@dataclass(slots=True)
class Reply:
    """The response objects of one request, chat or text completion, whole or in chunks."""

    kind: Kind
    model: str
    id: str = field(default_factory=lambda: f"cmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def _head(self, streamed: bool) -> dict[str, Any]:
        if self.kind == "chat":
            obj = "chat.completion.chunk" if streamed else "chat.completion"
            return {"id": f"chat{self.id}", "object": obj, "created": self.created, "model": self.model}
        return {"id": self.id, "object": "text_completion", "created": self.created, "model": self.model}

    def _choice(self, text: str | None, finish: str | None, *, streamed: bool, first: bool = False) -> dict[str, Any]:
        if self.kind == "text":
            return {"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}
        if streamed:
            delta: dict[str, Any] = {"role": "assistant"} if first else {}
            if text is not None:
                delta["content"] = text
            return {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": None},
            "finish_reason": finish,
            "logprobs": None,
        }

    def whole(self, text: str, stats: GenerationStats) -> dict[str, Any]:
        return {
            **self._head(False),
            "choices": [self._choice(text, openai_finish(stats), streamed=False)],
            "usage": usage(stats),
            "fastapply": stats.to_dict(),
        }

    def chunk(self, text: str | None, *, first: bool = False) -> dict[str, Any]:
        return {**self._head(True), "choices": [self._choice(text, None, streamed=True, first=first)]}

    def last_chunk(self, stats: GenerationStats) -> dict[str, Any]:
        text = None if self.kind == "chat" else ""
        return {**self._head(True), "choices": [self._choice(text, openai_finish(stats), streamed=True)]}

    def usage_chunk(self, stats: GenerationStats) -> dict[str, Any]:
        return {**self._head(True), "choices": [], "usage": usage(stats), "fastapply": stats.to_dict()}
