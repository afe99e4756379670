"""The OpenAI SDK client for a remote server, the first look at its models, and its errors in words.

``connect_client`` builds the official ``openai`` client (timeouts, retries with backoff on 429,
5xx and dropped connections) and lists the server's models once, so a refused connection, a bad
key or an unknown model fails at load with a clear ``EngineFailure`` (exit 4) before any file is
touched. ``describe`` turns an SDK error into a sentence. Knows the SDK, not prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapply.errors import EngineFailure, UsageError
from fastapply.remote.options import RemoteOptions, api_key


@dataclass(slots=True)
class ServerModel:
    """The served model: its name and what the server says about it in ``/v1/models``."""

    name: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def continues_assistant(self) -> bool:
        """Whether a final assistant message is continued (fastapply serve says so)."""
        return self.info.get("continues_final_assistant_message") is True

    @property
    def max_context(self) -> int | None:
        value = self.info.get("max_context") or self.info.get("max_model_len") or self.info.get("context_length")
        return int(value) if isinstance(value, int) and value > 0 else None


def describe(exc: Exception, base: str) -> str:
    """One sentence for an SDK error, naming what to check."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"the server at {base} did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the server at {base} (connection refused or dropped; is it running?)"
    if isinstance(exc, openai.AuthenticationError):
        return f"the server at {base} refused the API key (401); set OPENAI_API_KEY or pass --api-key-env NAME"
    if isinstance(exc, openai.PermissionDeniedError):
        return f"the server at {base} denied access (403): {_message(exc)}"
    if isinstance(exc, openai.NotFoundError):
        return f"not found at {base} (404): {_message(exc)}; check --model and that --api-base ends in /v1"
    if isinstance(exc, openai.RateLimitError):
        return f"the server at {base} is overloaded (429) and stayed so through the retries: {_message(exc)}"
    if isinstance(exc, openai.APIStatusError):
        return f"the server at {base} answered {exc.status_code}: {_message(exc)}"
    return f"the server at {base} failed: {exc}"


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return str(getattr(exc, "message", exc))


def message_of(exc: Exception) -> str:
    return _message(exc)


def make_client(options: RemoteOptions) -> Any:
    import openai

    return openai.OpenAI(
        base_url=options.api_base,
        api_key=api_key(options),
        timeout=openai.Timeout(options.timeout, connect=options.connect_timeout),
        max_retries=options.max_retries,
    )


def _entry(model: Any) -> dict[str, Any]:
    data = model.model_dump() if hasattr(model, "model_dump") else dict(model)
    return {k: v for k, v in data.items() if v is not None}


def connect_client(model: str | None, options: RemoteOptions) -> tuple[Any, ServerModel]:
    """The client and the model to use.

    Raises:
        EngineFailure: no connection, a refused key, or a model the server does not have.
        UsageError: no ``--model`` and the server has several.
    """
    import openai

    client = make_client(options)
    try:
        listed = [_entry(m) for m in client.models.list()]
    except openai.NotFoundError:
        listed = []  # a server without /v1/models; the first request will say more
    except openai.APIError as exc:
        raise EngineFailure(describe(exc, options.api_base)) from None
    except (AttributeError, TypeError, ValueError) as exc:  # HTML or a list of the wrong shape, answered 200
        raise EngineFailure(f"the server at {options.api_base} answered /models with something that is not "
                            f"an OpenAI model list ({type(exc).__name__}: {exc})") from None
    names = [str(m.get("id")) for m in listed]
    if model is None:
        if len(names) != 1:
            raise UsageError(
                f"the server at {options.api_base} has {len(names)} models; name one with --model"
                + (f" ({', '.join(names[:8])})" if names else "")
            )
        model = names[0]
    if listed and model not in names:
        raise EngineFailure(
            f"the server at {options.api_base} has no model {model!r}; it has {', '.join(names[:8])}"
        )
    info = next((m for m in listed if m.get("id") == model), {})
    return client, ServerModel(model, info)
