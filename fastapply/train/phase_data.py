"""Write one curriculum phase's windows to disk: training windows from training files, held-out
windows from held-out files, and a summary of what was drawn.

``train.pt`` has the layout of ``build_data`` (so ``train model --data`` reads it), and
``heldout_windows.pt`` the same for the windows the stop rule and the pass test score. Training
windows can be drawn by several processes at once (``workers``), each from its own share of the
training files; held-out windows are drawn by this process alone. Knows sources, the curriculum
and the window sizes; knows nothing about the model.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapply.train.curriculum import phase, phase_windows
from fastapply.train.dataset import Example
from fastapply.train.sources import Source, chunks, is_held_out, iter_files
from fastapply.train.windows import Window, WindowConfig


@dataclass(slots=True)
class PhaseDataConfig:
    phase: str = "rename-single"
    max_files: int = 20000
    max_windows: int = 4000  # training windows; drawing stops there
    heldout_windows: int = 96
    per_edit: int = 2  # windows cut from one edit
    max_minutes: float = 10.0  # drawing stops after this long, with what it has
    seed: int = 0
    workers: int = 1  # processes drawing training windows (forked, where the platform forks)


def save_examples(examples: list[Example], path: Path) -> None:
    import torch

    torch.save({"ids": [e.ids for e in examples], "prompt_len": [e.prompt_len for e in examples],
                "kind": [e.kind for e in examples]}, path)


def _split(max_files: int) -> tuple[list[Source], list[Source]]:
    train: list[Source] = []
    held: list[Source] = []
    for source in iter_files(max_files):
        (held if is_held_out(source.path) else train).append(source)
    return train, held


def _draw(sources: list[Source], config: PhaseDataConfig, window: WindowConfig, tokenizer: Any,
          rng: random.Random, want: int, deadline: float) -> list[Window]:
    out: list[Window] = []
    p = phase(config.phase)
    pieces = (piece for source in sources for piece in chunks(source))
    for w in phase_windows(p, pieces, rng, tokenizer, window, config.per_edit):
        out.append(w)
        if len(out) >= want or time.monotonic() > deadline:
            break
    return out


_SHARED: list[Source] = []  # the training files, set before forking the workers that read them


def _draw_share(task: tuple[int, int, PhaseDataConfig, WindowConfig, int, float]) -> list[Window]:
    """One worker's windows: files ``k``, ``k + workers``, ... with its own random stream."""
    from fastapply.engine.load import load_tokenizer

    k, workers, config, window, want, deadline = task
    rng = random.Random(f"{config.seed}:{k}")
    return _draw(_SHARED[k::workers], config, window, load_tokenizer(), rng, want, deadline)


def _draw_parallel(sources: list[Source], config: PhaseDataConfig, window: WindowConfig,
                   deadline: float) -> list[Window]:
    """``config.max_windows`` training windows from ``config.workers`` forked processes (the
    clock they stop by, ``time.monotonic``, is the system's, so it is the same in each)."""
    from concurrent.futures import ProcessPoolExecutor

    global _SHARED
    workers = config.workers
    want = -(-config.max_windows // workers)
    _SHARED = sources
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            shares = list(pool.map(_draw_share, [(k, workers, config, window, want, deadline) for k in range(workers)]))
    finally:
        _SHARED = []
    return [w for share in shares for w in share][: config.max_windows]


def build_phase(tokenizer: Any, out_dir: Path, config: PhaseDataConfig, window: WindowConfig | None = None,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Draw the phase's windows and write ``train.pt``, ``heldout_windows.pt`` and ``summary.json``."""
    window = window or WindowConfig()
    rng = random.Random(config.seed)
    train_files, held_files = _split(config.max_files)
    rng.shuffle(train_files)
    rng.shuffle(held_files)
    started = time.monotonic()
    # held-out windows are few; they get at most half the drawing time, training windows the rest
    held = _draw(held_files, config, window, tokenizer, random.Random(config.seed + 1), config.heldout_windows,
                 started + config.max_minutes * 30)
    if progress:
        progress(f"{config.phase}: {len(held)} held-out windows")
    deadline = started + config.max_minutes * 60
    if config.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        train = _draw_parallel(train_files, config, window, deadline)
    else:
        train = _draw(train_files, config, window, tokenizer, rng, config.max_windows, deadline)
    if not train or not held:
        raise ValueError(f"phase {config.phase!r} drew {len(train)} training and {len(held)} held-out windows")
    out_dir.mkdir(parents=True, exist_ok=True)
    save_examples([w.example for w in train], out_dir / "train.pt")
    save_examples([w.example for w in held], out_dir / "heldout_windows.pt")
    summary = {
        "phase": config.phase, "examples": len(train), "heldout_windows": len(held),
        "train_files": len(train_files), "heldout_files": len(held_files),
        "tokens": sum(len(w.example.ids) for w in train),
        "target_tokens": sum(w.targets for w in train),
        "edited_tokens": sum(w.edited for w in train),
        "kinds": dict(Counter(w.example.kind for w in train)),
        "seconds": round(time.monotonic() - started, 1),
        "config": asdict(config), "window": asdict(window),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
