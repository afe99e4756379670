"""Say up front when loading a model will need the network: a hub id not in the local cache.

Loading such a model makes Hugging Face retry the network for a long time before it fails, with
no word on screen; this check lets the app say so at once. It reads the local cache only (never
the network) and knows nothing about the app.
"""

from __future__ import annotations

from pathlib import Path


def looks_like_hub_id(model: str) -> bool:
    return model != "default" and model.count("/") == 1 and not Path(model).expanduser().exists()


def uncached_hub_id(model: str, cache_dir: str | Path | None = None) -> str | None:
    """A hint when ``model`` is a hub id whose config is not in the local cache, else None."""
    if not looks_like_hub_id(model):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(model, "config.json", cache_dir=cache_dir)
    except Exception:  # a malformed id is the loader's to report, with its own message
        return None
    if isinstance(found, str):
        return None
    return (
        f"{model} is not in the local Hugging Face cache: loading it needs the network and is "
        "retried for a while without one (HF_HUB_OFFLINE=1 makes it fail at once)"
    )
