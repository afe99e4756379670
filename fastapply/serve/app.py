"""The OpenAI-compatible app: ``/v1/chat/completions`` (Predicted Outputs), ``/v1/completions``,
``/v1/models`` and ``/health``, over one backend.

Each request is checked (``protocol``), admitted to the model (``slots``), measured against the
context before any prefill, and generated on the one generation thread (``runner``), whole or as
server-sent events. A client that hangs up cancels its generation; every failure is an OpenAI-shaped
error with its status, and the server keeps serving. Knows FastAPI and the ``Backend`` protocol.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from fastapply.backend import Backend
from fastapply.engine.types import EngineError, GenerationRequest, GenerationResult, PromptTooLong
from fastapply.serve.asgi import BodyLimit, EventStream, sse
from fastapply.serve.errors import AUTHENTICATION, NOT_FOUND, SERVER, ApiError, bad_request
from fastapply.serve.protocol import Decoding, parse_chat, parse_completion
from fastapply.serve.render import Reply, StopFilter, chat_prompt, cut_at_stop
from fastapply.serve.runner import GenerationRunner, Running
from fastapply.serve.slots import ClientGone, GenerationSlots

DISCONNECT_POLL_SECONDS = 0.2


@dataclass(slots=True)
class ServeOptions:
    model_name: str
    api_key: str | None = None  # None: no key asked for (loopback only; the CLI checks)
    max_waiting: int = 8
    wait_timeout: float = 120.0
    max_body_bytes: int = 8 * 1024 * 1024


def too_long(tokens: int, limit: int) -> ApiError:
    return ApiError(413, f"the prompt is {tokens:,} tokens; the model reads {limit:,}",
                    code="context_length_exceeded")


def failure(result: GenerationResult) -> ApiError:
    return ApiError(500, f"generation failed: {result.error or result.finish_reason}", SERVER, code="generation_failed")


class Service:
    """What the routes share: the backend, its one generation thread and the admission queue."""

    def __init__(self, backend: Backend, options: ServeOptions) -> None:
        self.backend = backend
        self.options = options
        self.runner = GenerationRunner(backend)
        self.slots = GenerationSlots(options.max_waiting, options.wait_timeout)

    def authorize(self, request: Request) -> None:
        if self.options.api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), self.options.api_key):
            raise ApiError(401, "a valid API key is required (Authorization: Bearer ...)", AUTHENTICATION,
                           code="invalid_api_key")

    def check_model(self, decoding: Decoding) -> None:
        if decoding.model != self.options.model_name:
            raise ApiError(404, f"the model {decoding.model!r} does not exist here; this server has "
                           f"{self.options.model_name!r}", NOT_FOUND, param="model", code="model_not_found")

    def models(self) -> dict[str, Any]:
        entry = {"id": self.options.model_name, "object": "model", "created": 0, "owned_by": "fastapply",
                 "max_context": self.backend.max_context, "continues_final_assistant_message": True,
                 "predicted_outputs": True}
        return {"object": "list", "data": [entry]}

    async def check_context(self, prompt: str) -> int:
        """The prompt's token count; ``ApiError`` 413 when it leaves no room in the context."""
        tokens = await self.runner.call(self.backend.count_tokens, prompt)
        if tokens >= self.backend.max_context:
            raise too_long(tokens, self.backend.max_context)
        return tokens

    async def generate(self, http: Request, request: GenerationRequest, decoding: Decoding, reply: Reply) -> Any:
        """The whole answer, or an ``EventStream``; holds a slot until the generation has ended."""
        slot: Any = self.slots.slot(http.is_disconnected, DISCONNECT_POLL_SECONDS)
        try:
            await slot.__aenter__()
        except ClientGone:  # hung up while queued: its place is given up; nobody reads this answer
            raise ApiError(499, "the client closed the request", code="client_closed_request") from None
        running: Running | None = None
        try:
            prompt_tokens = await self.check_context(request.prompt or "")
            room = self.backend.max_context - prompt_tokens  # without max_tokens, as OpenAI: all of it
            request.max_new_tokens = min(request.max_new_tokens or room, room)
            running = self.runner.start(request)
            running.prompt_tokens = prompt_tokens
            first = await self._next(http, running)
            if first[0] == "end":
                self._result(running)  # an immediate failure gets its status before any header is sent
            if decoding.stream:
                stream = EventStream(self._events(running, first, decoding, reply), partial(self._end, slot, running))
                slot = running = None  # the stream owns them now
                return stream
            while first[0] != "end":
                first = await self._next(http, running)
            result = self._result(running)
            return JSONResponse(reply.whole(cut_at_stop(result.text, decoding.stop), result.stats))
        finally:
            if slot is not None:
                await self._end(slot, running)

    async def _end(self, slot: Any, running: Running | None) -> None:
        if running is not None:
            await running.finish()
        await slot.__aexit__(None, None, None)

    async def _next(self, http: Request, running: Running) -> tuple[str, str | None]:
        """The next event; cancels the generation once the client has gone.

        The client is looked for every ``DISCONNECT_POLL_SECONDS`` by the clock, events or not: a
        generation that never pauses that long must still notice a hang-up.
        """
        loop = asyncio.get_running_loop()
        while True:
            due = running.checked + DISCONNECT_POLL_SECONDS - loop.time()
            if due <= 0:
                running.checked = loop.time()
                if not running.cancel.is_set() and await http.is_disconnected():
                    running.cancel.set()
                continue
            try:
                return await asyncio.wait_for(running.events.get(), due)
            except TimeoutError:
                pass

    def _result(self, running: Running) -> GenerationResult:
        try:
            result = running.result()
        except PromptTooLong as exc:
            raise too_long(exc.tokens, exc.limit) from None
        except EngineError as exc:
            raise bad_request(str(exc)) from None
        except (RuntimeError, MemoryError) as exc:
            raise ApiError(500, f"generation failed: {exc}", SERVER, code="generation_failed") from None
        if result.finish_reason not in ("stop", "length"):
            raise failure(result)
        if not result.stats.prompt_tokens:
            result.stats.prompt_tokens = running.prompt_tokens
        return result

    async def _events(self, running: Running, first: tuple[str, str | None], decoding: Decoding,
                      reply: Reply) -> AsyncIterator[bytes]:
        yield sse(reply.chunk("", first=True))
        stops = StopFilter(decoding.stop)
        event = first
        while event[0] != "end":
            piece = stops.push(event[1] or "")
            if piece:
                yield sse(reply.chunk(piece))
            event = await running.events.get()
        try:
            result = self._result(running)
        except ApiError as exc:
            yield sse(exc.body())
        else:
            rest = stops.finish(cut_at_stop(result.text, decoding.stop))
            if rest:
                yield sse(reply.chunk(rest))
            yield sse(reply.last_chunk(result.stats))
            if decoding.include_usage:
                yield sse(reply.usage_chunk(result.stats))
        yield sse("[DONE]")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise bad_request("the request body is nested too deeply") from None


def create_app(backend: Backend, options: ServeOptions) -> Any:
    """The ASGI app (body limit outermost) serving ``backend`` under ``options.model_name``."""
    service = Service(backend, options)
    app = FastAPI(title="fastapply", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = NOT_FOUND if exc.status_code == 404 else "invalid_request_error"
        return JSONResponse(ApiError(exc.status_code, str(exc.detail), kind).body(), status_code=exc.status_code)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": options.model_name, "busy": service.slots.busy,
                "waiting": service.slots.waiting}

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        service.authorize(request)
        return service.models()

    @app.get("/v1/models/{model:path}")
    async def model(request: Request, model: str) -> dict[str, Any]:
        service.authorize(request)
        service.check_model(Decoding(model))
        return dict(service.models()["data"][0])

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        service.authorize(request)
        parsed = parse_chat(await _json_body(request))
        service.check_model(parsed.decoding)
        prompt = chat_prompt(getattr(backend, "tokenizer", None), parsed.messages)
        return await service.generate(request, _request(prompt, parsed.prediction, parsed.decoding),
                                      parsed.decoding, Reply("chat", options.model_name))

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        service.authorize(request)
        parsed = parse_completion(await _json_body(request))
        service.check_model(parsed.decoding)
        return await service.generate(request, _request(parsed.prompt, parsed.prediction, parsed.decoding),
                                      parsed.decoding, Reply("text", options.model_name))

    return BodyLimit(app, options.max_body_bytes)


def _request(prompt: str, prediction: str | None, decoding: Decoding) -> GenerationRequest:
    return GenerationRequest(code="", instruction="", prompt=prompt, prediction=prediction,
                             stop=decoding.stop, max_new_tokens=decoding.max_tokens)
