"""What models can be loaded without a network: the embedded default and the Hugging Face cache.

Used by ``fastapply models`` and by the TUI's model switch. It only looks on local disk; it never
downloads and never loads a model.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapply.engine.assets import DEFAULT_MODEL_DIR


def hub_cache() -> Path:
    """The Hugging Face hub cache folder, as ``HF_HUB_CACHE`` / ``HF_HOME`` set it."""
    home = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface")), "hub"
    )
    return Path(home)


def local_models() -> list[tuple[str, str]]:
    """(spec, where) pairs for models that can be loaded without a network."""
    found: list[tuple[str, str]] = []
    where = str(DEFAULT_MODEL_DIR)
    found.append(("default", where if DEFAULT_MODEL_DIR.is_dir() else f"{where} (embedded model not built yet)"))
    cache = hub_cache()
    if cache.is_dir():
        for entry in sorted(cache.glob("models--*")):
            found.append((entry.name.removeprefix("models--").replace("--", "/"), str(entry)))
    return found
