"""What models can be loaded without a network: the embedded default and the Hugging Face cache.

Used by ``fastapply models`` and by the TUI's model switch. It only looks on local disk; it never
downloads and never loads a model. A cache entry counts as loadable when the snapshot that
``main`` names holds a config.json naming its ``model_type`` and safetensors weights (what
``engine/load.py`` asks of a local folder); it does not know whether the weights are whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fastapply.engine.assets import DEFAULT_MODEL_DIR
from fastapply.engine.hub import config_problem


@dataclass(frozen=True, slots=True)
class CachedModel:
    spec: str  # the hub id, as --model takes it
    where: str  # the cache entry's folder
    problem: str | None  # why it cannot be loaded; None when the files look loadable


def hub_cache() -> Path:
    """The Hugging Face hub cache folder, as ``HF_HUB_CACHE`` / ``HF_HOME`` set it."""
    home = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface")), "hub"
    )
    return Path(home)


def _snapshot(entry: Path) -> Path | None:
    """The snapshot a load without a revision reads: the one ``refs/main`` names (as the hub client does)."""
    revision = "main"
    ref = entry / "refs" / "main"
    try:
        revision = ref.read_text(encoding="utf-8").strip() or revision
    except (OSError, UnicodeDecodeError):
        pass  # no ref: the hub client then looks for a snapshot named "main", as here
    snapshot = entry / "snapshots" / revision
    return snapshot if snapshot.is_dir() else None


def _problem(entry: Path) -> str | None:
    snapshot = _snapshot(entry)
    if snapshot is None:
        return "no snapshot of main in the cache"
    problem = config_problem(snapshot / "config.json")
    if problem is not None:
        return problem
    # a snapshot's files are links into blobs/; a download cut short leaves a dangling one
    if not any(weights.is_file() for weights in snapshot.glob("*.safetensors")):
        return "no safetensors weights (only safetensors are loaded)"
    return None


def cache_entries() -> list[CachedModel]:
    """Every model in the hub cache, loadable or not, sorted by id."""
    cache = hub_cache()
    if not cache.is_dir():
        return []
    return [
        CachedModel(entry.name.removeprefix("models--").replace("--", "/"), str(entry), _problem(entry))
        for entry in sorted(cache.glob("models--*"))
        if entry.is_dir()
    ]


def local_models() -> list[tuple[str, str]]:
    """(spec, where) pairs for models that can be loaded without a network; unloadable cache
    entries are left out (``cache_entries`` has them with the reason)."""
    found: list[tuple[str, str]] = []
    where = str(DEFAULT_MODEL_DIR)
    found.append(("default", where if DEFAULT_MODEL_DIR.is_dir() else f"{where} (embedded model not built yet)"))
    found.extend((entry.spec, entry.where) for entry in cache_entries() if entry.problem is None)
    return found
