"""Which remote server to use and how: resolved from options, then configuration, then environment.

``resolve_remote`` returns ``None`` when no API base is named anywhere (the model is local). The
API key comes from ``OPENAI_API_KEY``, or from the variable ``api_key_env`` names. Knows argument
values and environment variables, not HTTP.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapply.errors import UsageError

API_MODES = ("chat", "completions")
API_BASE_ENV = "FASTAPPLY_API_BASE"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
NO_KEY = "no-key"  # what is sent when no key is configured (local servers ask for none)
_URL = re.compile(r"https?://[^\s/]+")


@dataclass(slots=True)
class RemoteOptions:
    api_base: str
    mode: str = "chat"
    api_key_env: str | None = None  # None: OPENAI_API_KEY, or no key at all
    tokenizer: str | None = None  # completions mode: the model's tokenizer (default: the model name)
    prediction: bool = True  # chat mode: send the file as a Predicted Output
    timeout: float = 600.0  # seconds between bytes of a response (a long prefill is silent)
    connect_timeout: float = 10.0
    max_retries: int = 3  # on 429, 5xx and dropped connections, with exponential backoff


def resolve_remote(
    *,
    api_base: str | None = None,
    api_mode: str | None = None,
    api_key_env: str | None = None,
    tokenizer: str | None = None,
    no_prediction: bool = False,
    config: Any = None,
    environ: Mapping[str, str] = os.environ,
) -> RemoteOptions | None:
    """The remote options in force, or None for a local model.

    Raises:
        UsageError: a malformed URL or mode.
    """
    base = api_base or getattr(config, "api_base", None) or environ.get(API_BASE_ENV) or None
    if base is None:
        return None
    if not _URL.match(base):
        raise UsageError(f"the API base must be an http:// or https:// URL, not {base!r}")
    mode = api_mode or getattr(config, "api_mode", None) or "chat"
    if mode not in API_MODES:
        raise UsageError(f"--api-mode must be one of {', '.join(API_MODES)}, not {mode!r}")
    return RemoteOptions(
        api_base=base.rstrip("/"),
        mode=mode,
        api_key_env=api_key_env or getattr(config, "api_key_env", None),
        tokenizer=tokenizer or getattr(config, "tokenizer", None),
        prediction=not no_prediction,
    )


def api_key(options: RemoteOptions, environ: Mapping[str, str] = os.environ) -> str:
    """The key to send.

    Raises:
        UsageError: ``api_key_env`` names a variable that is not set.
    """
    if options.api_key_env:
        key = environ.get(options.api_key_env, "").strip()
        if not key:
            raise UsageError(f"the API key variable {options.api_key_env} is not set (or empty)")
        return key
    return environ.get(DEFAULT_KEY_ENV, "").strip() or NO_KEY
