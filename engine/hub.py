"""What can be told about a model without loading it: whether its config.json can build one, and
whether the Hugging Face hub can be reached at all.

Kept free of torch and transformers, so the CLI, ``fastapply models`` and the remote tokenizer ask
these questions without loading the engine. Knows the hub client's endpoint settings and the one
config key transformers needs (``model_type``); nothing about weights or devices.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

HUB_PROBE_SECONDS = 3.0  # one connection attempt; the hub client's own retries take ~50 s


def hub_unreachable() -> str | None:
    """Why the Hugging Face hub cannot be reached from here (None when it can, or might)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    url = urlsplit(constants.ENDPOINT)
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_SECONDS).close()
    except OSError as exc:
        return f"{host}:{port} cannot be reached ({exc.__class__.__name__}: {exc})"
    return None


def config_problem(config: Path) -> str | None:
    """Why ``config`` cannot tell transformers which model to build, or None: it is missing or
    unreadable, not UTF-8, not JSON, not an object, or names no ``model_type``."""
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no config.json"
    except UnicodeDecodeError:
        return "config.json is not UTF-8 text"
    except RecursionError:
        return "config.json is not a usable JSON config (nested too deeply)"
    except ValueError as exc:
        return f"config.json is not valid JSON ({exc})"
    except OSError as exc:
        return f"config.json cannot be read ({exc.strerror or exc})"
    if not isinstance(data, dict):
        return "config.json is not a model config (a JSON object)"
    if not isinstance(data.get("model_type"), str) or not data["model_type"]:
        return "config.json names no model_type, so transformers cannot tell which model it is"
    return None
