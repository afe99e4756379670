"""OpenAI request bodies, checked and turned into plain requests (chat completions and completions).

Parsing is strict where a silent difference would mislead a client: decoding is greedy, so a
``temperature`` other than 0 is refused, and so are parameters the server cannot honour (tools,
logprobs, penalties, several choices). Fields that change nothing (``user``, ``seed``, ``top_p``)
are accepted and ignored. Text must be valid Unicode: a JSON escape can carry a lone surrogate,
which no tokenizer takes. Every refusal is an ``ApiError`` (400) naming the parameter. Knows JSON
shapes, not models or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapply.serve.errors import ApiError, bad_request, unsupported
from fastapply.unicode import lone_surrogate

ROLES = ("system", "developer", "user", "assistant")
MAX_STOP = 8


@dataclass(slots=True)
class Message:
    role: str
    content: str


@dataclass(slots=True)
class Decoding:
    """What both endpoints share: the model, the token budget, stops and streaming."""

    model: str
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False


@dataclass(slots=True)
class ChatRequest:
    decoding: Decoding
    messages: list[Message]
    prediction: str | None = None


@dataclass(slots=True)
class CompletionRequest:
    decoding: Decoding
    prompt: str
    prediction: str | None = None  # an extension: OpenAI's completions endpoint has no prediction


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


def _unicode(text: str, param: str) -> str:
    at = lone_surrogate(text)
    if at is not None:
        raise bad_request(f"'{param}' is not valid Unicode: a lone surrogate at character {at}", param)
    return text


def _text_parts(value: Any, param: str) -> str:
    """A string, or a list of ``{"type": "text", "text": ...}`` parts joined."""
    if isinstance(value, str):
        return _unicode(value, param)
    if isinstance(value, list) and all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in value
    ):
        return _unicode("".join(p["text"] for p in value), param)
    raise bad_request(f"'{param}' must be a string or a list of text parts", param)


def _positive_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise bad_request(f"'{key}' must be a positive integer, not {value!r}", key)
    return value


def _refuse_sampling(body: dict[str, Any]) -> None:
    temperature = body.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise bad_request(f"'temperature' must be a number, not {temperature!r}", "temperature")
        if temperature != 0:
            raise ApiError(
                400,
                f"temperature {temperature} is not supported: this server decodes greedily (speculative "
                "decoding that reproduces greedy output exactly); send temperature 0 or leave it out",
                param="temperature",
                code="unsupported_value",
            )
    n = body.get("n")
    if n is not None and n != 1:
        raise unsupported("n", "one choice per request (greedy decoding gives one answer)")
    for key in ("frequency_penalty", "presence_penalty"):
        if body.get(key) not in (None, 0, 0.0):
            raise unsupported(key, "penalties would change greedy decoding")
    if body.get("best_of") not in (None, 1):
        raise unsupported("best_of", "one greedy answer per request")


def _refuse_features(body: dict[str, Any]) -> None:
    for key in ("tools", "functions", "logit_bias", "audio"):
        if body.get(key):
            raise unsupported(key, "this server rewrites text only")
    if body.get("tool_choice") not in (None, "none"):
        raise unsupported("tool_choice", "this server has no tools")
    if body.get("logprobs") not in (None, False, 0) or body.get("top_logprobs"):
        raise unsupported("logprobs", "log probabilities are not reported")
    if body.get("echo"):
        raise unsupported("echo", "the prompt is not echoed")
    if body.get("suffix"):
        raise unsupported("suffix", "no insertion mode")
    fmt = body.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        raise unsupported("response_format", "only plain text")
    modalities = body.get("modalities")
    if modalities is not None and modalities != ["text"]:
        raise unsupported("modalities", "only text")


def _stop(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop) or len(stop) > MAX_STOP:
        raise bad_request(f"'stop' must be a non-empty string or a list of up to {MAX_STOP} of them", "stop")
    return tuple(_unicode(s, "stop") for s in stop)


def _decoding(body: dict[str, Any], budget_keys: tuple[str, ...]) -> Decoding:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("'model' is required and must be a string", "model")
    _refuse_sampling(body)
    _refuse_features(body)
    budgets = [b for b in (_positive_int(body, k) for k in budget_keys) if b is not None]
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad_request("'stream' must be true or false", "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise bad_request("'stream_options' must be an object", "stream_options")
    include_usage = bool(options and options.get("include_usage"))
    return Decoding(model, min(budgets) if budgets else None, _stop(body), bool(stream), include_usage)


def _prediction(body: dict[str, Any]) -> str | None:
    prediction = body.get("prediction")
    if prediction is None:
        return None
    if not isinstance(prediction, dict) or prediction.get("type") != "content" or "content" not in prediction:
        raise bad_request("'prediction' must be {\"type\": \"content\", \"content\": ...}", "prediction")
    return _text_parts(prediction["content"], "prediction.content")


def _message(index: int, raw: Any) -> Message:
    param = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise bad_request(f"'{param}' must be an object", param)
    role = raw.get("role")
    if role not in ROLES:
        raise bad_request(f"'{param}.role' must be one of {', '.join(ROLES)}, not {role!r}", f"{param}.role")
    content = raw.get("content")
    if content is None:
        raise bad_request(f"'{param}.content' is required", f"{param}.content")
    return Message("system" if role == "developer" else role, _text_parts(content, f"{param}.content"))


def parse_chat(body: Any) -> ChatRequest:
    """A ``POST /v1/chat/completions`` body. Raises ``ApiError`` (400)."""
    body = _object(body)
    decoding = _decoding(body, ("max_tokens", "max_completion_tokens"))
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list", "messages")
    return ChatRequest(decoding, [_message(i, m) for i, m in enumerate(messages)], _prediction(body))


def parse_completion(body: Any) -> CompletionRequest:
    """A ``POST /v1/completions`` body (one text prompt). Raises ``ApiError`` (400)."""
    body = _object(body)
    decoding = _decoding(body, ("max_tokens",))
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise bad_request("'prompt' must be one string (token ids and several prompts are not supported)", "prompt")
    return CompletionRequest(decoding, _unicode(prompt, "prompt"), _prediction(body))
