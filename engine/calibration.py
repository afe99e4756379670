"""Draft-width calibration, measured once per model and device and kept in the user's cache folder.

What a forward of width ``w`` costs decides the longest draft worth verifying. Measuring takes
seconds to a minute on a CPU, so the result is stored per (model name, device, dtype, config
hash) in ``$FASTAPPLY_CACHE_DIR``, else ``$XDG_CACHE_HOME/fastapply``, else
``~/.cache/fastapply``. This module knows models and timing, not prompts or drafts.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

WIDTHS = (1, 16, 64, 256)
# A wider forward measured below this fraction of a narrower one's cost was disturbed (timing
# noise between close widths, on a GPU or a tiny model, stays well above it).
DISTURBED = 0.5
CACHE_FILE = "calibration.json"


def cache_dir() -> Path:
    override = os.environ.get("FASTAPPLY_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fastapply"


def calibration_key(model: Any, name: str, device: torch.device, dtype: torch.dtype) -> str:
    config = model.config.to_json_string(use_diff=False)
    digest = hashlib.sha256(config.encode("utf-8")).hexdigest()[:16]
    return f"{name}|{device}|{str(dtype).removeprefix('torch.')}|{digest}"


def measure_widths(
    model: Any,
    device: torch.device,
    widths: tuple[int, ...] = WIDTHS,
    cancel: threading.Event | None = None,
    attempts: int = 3,
) -> dict[int, float] | None:
    """Seconds per forward of each width after a 256-token context (best of three).

    Stops at the first width that verifies fewer tokens per second than the one before it. A
    measurement that other work on the machine disturbed (``consistent`` says no) is taken again,
    up to ``attempts`` times in all; the last one is returned either way. None when ``cancel`` is
    set before the measurement is complete (checked before every forward).
    """
    from fastapply.engine.decode import ModelSession, sync

    session = ModelSession(model, device)
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, int(model.config.vocab_size), (256 + max(widths),), generator=generator).tolist()
    if session.prefill(tokens[:256], cancel) is None:
        return None
    if cancel is not None and cancel.is_set():
        return None
    # The first forwards of a process pay one-time costs (allocations, kernel selection).
    session.forward(tokens[256 : 256 + max(widths)])
    sync(device)
    session.rollback(256)
    costs: dict[int, float] | None = None
    for _ in range(attempts):
        costs = _time_widths(session, tokens, widths, device, cancel)
        if costs is None or consistent(costs):
            return costs
    return costs


def consistent(costs: dict[int, float]) -> bool:
    """Whether no width measured clearly cheaper than a narrower one, which no device does.

    A forward's cost never falls as it grows wider; a measurement that says so was disturbed by
    other work (a wide forward timed while the machine was free, a narrow one while it was not).
    """
    ordered = [costs[width] for width in sorted(costs)]
    return all(wider >= DISTURBED * narrower for narrower, wider in zip(ordered, ordered[1:]))


def _time_widths(session: Any, tokens: list[int], widths: tuple[int, ...], device: torch.device,
                 cancel: threading.Event | None) -> dict[int, float] | None:
    """One measurement of every width (best of three forwards each), or None once cancelled."""
    from fastapply.engine.decode import sync

    costs: dict[int, float] = {}
    for width in widths:
        best = float("inf")
        for _ in range(3):
            if cancel is not None and cancel.is_set():
                return None
            start = time.perf_counter()
            session.forward(tokens[256 : 256 + width])
            sync(device)
            best = min(best, time.perf_counter() - start)
            session.rollback(256)
        previous = max(costs, default=None)
        costs[width] = best
        if previous is not None and width / best < previous / costs[previous]:
            break
    return costs


def draft_cap(costs: dict[int, float]) -> int:
    """The width that verifies the most tokens per second when every draft token is accepted."""
    return max(costs, key=lambda w: w / costs[w])


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def stored(key: str, folder: Path | None = None) -> tuple[int, dict[int, float]] | None:
    """The stored cap and the seconds per forward measured for each width, or None (no valid cap)."""
    entry = _read((folder or cache_dir()) / CACHE_FILE).get(key)
    if not isinstance(entry, dict):
        return None
    cap = entry.get("cap")
    if not isinstance(cap, int) or isinstance(cap, bool) or cap <= 0:
        return None
    seconds = entry.get("seconds")
    costs = {
        int(width): float(cost)
        for width, cost in (seconds.items() if isinstance(seconds, dict) else ())
        if str(width).isdigit() and isinstance(cost, (int, float)) and cost > 0
    }
    if costs and not consistent(costs):
        return None  # disturbed when it was measured (an earlier release kept such entries)
    return cap, costs


def stored_costs(key: str, folder: Path | None = None) -> dict[int, float]:
    """The seconds per forward measured for each width with the stored cap ({} when none are)."""
    found = stored(key, folder)
    return {} if found is None else found[1]


def store_cap(key: str, cap: int, costs: dict[int, float], folder: Path | None = None) -> None:
    """Record a measured cap; a cache folder that cannot be written is skipped silently."""
    folder = folder or cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        data = _read(folder / CACHE_FILE)
        data[key] = {"cap": cap, "seconds": {str(w): c for w, c in costs.items()}}
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".calibration.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, folder / CACHE_FILE)
    except OSError:
        return
