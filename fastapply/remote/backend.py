"""A model served elsewhere, behind the ``Backend`` protocol, over an OpenAI-compatible API.

Two ways to ask (``RemoteOptions.mode``):

* ``chat``: the rewrite as system and user messages, the original file as a Predicted Output
  (dropped for good once the server refuses it). A server that continues a final assistant message
  (``fastapply serve``) also gets the output marker pre-filled, as the local prompt has it.
* ``completions``: the exact local prompt, built with the model's own tokenizer and chat template,
  pre-fill included, sent to ``/v1/completions`` (self-hosted vLLM, llama.cpp).

Replies stream through ``request.on_text``; the file is taken out strictly (``extract``); a reply
that holds no file, or was cut off, is an ``error`` or ``length`` result and is never written.
Connection, key and model failures, a server that goes away mid-stream and a stream that is not
OpenAI's shape (bad JSON, missing fields) raise ``EngineError``; a reply with a lone surrogate
is a failed result.
Knows the SDK and the prompt contract, not files or git.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

from fastapply.engine.prompt import CLOSE_OUTPUT, OPEN_OUTPUT, SYSTEM, Prompt, finish_text, prompt_text, user_message
from fastapply.engine.types import EngineError, GenerationRequest, GenerationResult, GenerationStats, PromptTooLong
from fastapply.remote.client import ServerModel, connect_client, describe, message_of
from fastapply.remote.extract import FileStream, NotAFile, continued_file, reply_file
from fastapply.remote.options import RemoteOptions
from fastapply.remote.tokens import load_remote_tokenizer
from fastapply.unicode import lone_surrogate

CHARS_PER_TOKEN = 3  # a rough count when no tokenizer is at hand
UNKNOWN_CONTEXT = 131072
# Parameters a server may refuse (reasoning models refuse temperature and stop; most open servers
# have no prediction): each is dropped for good the first time a 400 names it.
OPTIONAL = ("prediction", "temperature", "stop", "stream_options")
# "the prompt is 5,000 tokens; the model reads 4,096" (fastapply serve), and vLLM's wording
_OURS = re.compile(r"([\d,]+) tokens; the model reads ([\d,]+)")
_VLLM = re.compile(r"maximum context length is ([\d,]+) tokens.*?(?:requested|input of) ([\d,]+) tokens", re.S)


def context_error(message: str) -> PromptTooLong | None:
    """The numbers of a server's over-the-context refusal, when it gives them."""
    if found := _OURS.search(message):
        tokens, limit = found.groups()
    elif found := _VLLM.search(message):
        limit, tokens = found.groups()
    else:
        return None
    return PromptTooLong(int(tokens.replace(",", "")), int(limit.replace(",", "")))


def with_final_newline(code: str) -> tuple[str, bool]:
    """The file as the prompt holds it (ending in a newline), and whether one was added."""
    if code == "" or code.endswith(("\n", "\r")):
        return code, False
    return code + "\n", True


def _stats_from(usage: Any, extra: dict[str, Any] | None, stats: GenerationStats) -> None:
    if usage is not None:
        stats.tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        stats.prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        details = getattr(usage, "completion_tokens_details", None)
        if details is not None:
            stats.prediction_accepted = int(getattr(details, "accepted_prediction_tokens", 0) or 0)
            stats.prediction_rejected = int(getattr(details, "rejected_prediction_tokens", 0) or 0)
    if extra:  # fastapply serve's own figures
        stats.forwards = int(extra.get("forwards", 0) or 0)
        stats.draft_proposed = int(extra.get("draft_proposed", 0) or 0)
        stats.draft_accepted = int(extra.get("draft_accepted", 0) or 0)


class RemoteBackend:
    """Satisfies ``fastapply.backend.Backend`` for a model on an OpenAI-compatible server."""

    def __init__(self, client: Any, model: ServerModel, options: RemoteOptions, tokenizer: Any = None) -> None:
        self.client = client
        self.model = model
        self.options = options
        self.tokenizer = tokenizer
        self.dropped: set[str] = set() if options.prediction and options.mode == "chat" else {"prediction"}
        self.name = model.name
        self.device = f"remote {urlsplit(options.api_base).netloc}"
        self.dtype = f"{options.mode} API"
        self.max_context = model.max_context or UNKNOWN_CONTEXT

    @classmethod
    def connect(cls, model: str | None, options: RemoteOptions) -> RemoteBackend:
        """Reach the server and check the model; load the tokenizer completions mode needs."""
        client, served = connect_client(model, options)
        tokenizer = None
        if options.mode == "completions" or options.tokenizer:
            tokenizer = load_remote_tokenizer(options.tokenizer or served.name)
        return cls(client, served, options, tokenizer)

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer.encode(text, add_special_tokens=False))
        return len(text) // CHARS_PER_TOKEN + 1

    @property
    def continued(self) -> bool:
        """Whether the reply continues the pre-filled output marker rather than starting afresh."""
        return self.options.mode == "completions" or self.model.continues_assistant

    def _call(self, request: GenerationRequest, code: str) -> Any:
        common: dict[str, Any] = {"model": self.name, "temperature": 0, "stream": True, "stop": [CLOSE_OUTPUT],
                                  "stream_options": {"include_usage": True}}
        if request.max_new_tokens:
            common["max_tokens"] = request.max_new_tokens
        if self.options.mode == "completions":
            prompt = prompt_text(self.tokenizer, request.instruction, code, request.path)
            return self.client.completions.create(prompt=prompt, **self._without_dropped(common))
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": user_message(request.instruction, code, request.path)}]
        if self.model.continues_assistant:
            messages.append({"role": "assistant", "content": f"{OPEN_OUTPUT}\n"})
        common["prediction"] = {"type": "content", "content": code}
        return self.client.chat.completions.create(messages=messages, **self._without_dropped(common))

    def _without_dropped(self, params: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if k not in self.dropped}

    def _refused(self, exc: Any) -> str | None:
        """The optional parameter a 400 refuses, when it names one still being sent."""
        body = exc.body if isinstance(getattr(exc, "body", None), dict) else {}
        inner = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
        named = f"{inner.get('param') or ''} {message_of(exc)}".lower()
        return next((p for p in OPTIONAL if p not in self.dropped and p in named), None)

    def _open(self, request: GenerationRequest, code: str) -> Any:
        import openai

        try:
            return self._call(request, code)
        except openai.APIStatusError as exc:
            too_long = context_error(message_of(exc)) if exc.status_code in (400, 413) else None
            if too_long is not None:
                raise too_long from None
            if exc.status_code not in (400, 422):
                raise EngineError(describe(exc, self.options.api_base)) from None
            refused = self._refused(exc)
            if refused is None:
                raise EngineError(describe(exc, self.options.api_base)) from None
            self.dropped.add(refused)  # refused once: never sent again to this server
            return self._open(request, code)
        except openai.APIError as exc:
            raise EngineError(describe(exc, self.options.api_base)) from None

    def generate(self, request: GenerationRequest) -> GenerationResult:
        import openai

        if request.prompt is not None:
            raise EngineError("a raw prompt needs a local model; remote backends take rewrite requests")
        code, added = with_final_newline(request.code)
        stats = GenerationStats()
        started = time.perf_counter()
        stream = self._open(request, code)
        files = FileStream(request.on_text, continued=self.continued)
        finish: str | None = None
        try:
            for chunk in stream:
                if request.cancel is not None and request.cancel.is_set():
                    finish = "cancelled"
                    break
                extra = getattr(chunk, "model_extra", None) or {}
                if getattr(chunk, "usage", None) is not None or extra.get("fastapply"):
                    _stats_from(getattr(chunk, "usage", None), extra.get("fastapply"), stats)
                for choice in chunk.choices[:1]:
                    piece = choice.delta.content if self.options.mode == "chat" else choice.text
                    if piece:
                        if not files.raw:
                            stats.time_to_first_token = time.perf_counter() - started
                        files.push(piece)
                    finish = choice.finish_reason or finish
        except openai.APIError as exc:
            raise EngineError(f"the server went away mid-stream: {describe(exc, self.options.api_base)}") from None
        except (AttributeError, TypeError, ValueError) as exc:  # a chunk that is not JSON or not of OpenAI's shape
            raise EngineError(f"the server sent a malformed stream ({type(exc).__name__}: {exc})") from None
        finally:
            stream.close()
        stats.seconds = time.perf_counter() - started
        return self._result(files, finish, added, stats)

    def _result(self, files: FileStream, finish: str | None, added: bool, stats: GenerationStats) -> GenerationResult:
        if lone_surrogate(files.raw) is not None:  # a JSON escape can carry one, which no file can hold
            stats.finish_reason = "error"
            return GenerationResult(text="", stats=stats, error="not written: the reply is not valid Unicode")
        if not stats.tokens:
            stats.tokens = self.count_tokens(files.raw)
        if finish in ("cancelled", "length"):
            stats.finish_reason = finish  # type: ignore[assignment]
            return GenerationResult(text=continued_file(files.raw) if self.continued else "", stats=stats)
        if finish is None:
            raise EngineError("the server ended the stream before the reply was complete")
        if finish != "stop":
            stats.finish_reason = "error"
            return GenerationResult(text="", stats=stats, error=f"the server ended the reply with {finish!r}")
        try:
            body = continued_file(files.raw) if self.continued else reply_file(files.raw)
        except NotAFile as exc:
            stats.finish_reason = "error"
            return GenerationResult(text="", stats=stats, error=f"not written: {exc}")
        shape = Prompt(ids=[], code_start=0, code_end=0, stop_ids=frozenset(), stop_text=CLOSE_OUTPUT,
                       added_newline=added)
        text, _ = finish_text(shape, body)
        files.finish(text)
        return GenerationResult(text=text, stats=stats)
