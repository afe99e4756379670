"""Build the training set and the held-out evaluation set on disk.

Training examples are encoded edits over chunks of training files; held-out edits are whole
files of 40-200 lines from held-out files (never chunked into training), kept as text so the
evaluation can run them through the real engine. Knows sources, generators and the prompt;
knows nothing about the model.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastapply.train.dataset import DEFAULT_MIX, Example, draw_edit, make_examples, seam_ok
from fastapply.train.edit_common import Edit
from fastapply.train.edit_rename import unseen_wording
from fastapply.train.scramble import scramble
from fastapply.train.sources import Source, chunks, is_held_out, iter_files


@dataclass(slots=True)
class DataConfig:
    max_files: int = 20000
    per_source: int = 2  # edits drawn per chunk
    max_tokens: int = 1536
    long_share: float = 0.15  # files cut into longer chunks, so long files are not unseen
    long_max_tokens: int = 3072
    min_lines: int = 10
    max_lines: int = 80
    scramble_share: float = 0.5  # chunks whose identifiers are scrambled first (see scramble.py)
    eval_per_kind: int = 12
    eval_min_lines: int = 40
    eval_max_lines: int = 200
    seed: int = 0
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))


def _held_out_edits(rng: random.Random, files: list[Source], config: DataConfig, tokenizer: Any) -> list[Edit]:
    """About ``eval_per_kind`` edits per generator kind on whole held-out files."""
    per: Counter[str] = Counter()
    out: list[Edit] = []
    kinds = list(config.mix)
    quota = {k: config.eval_per_kind * (2 if k == "rename" else 1) for k in kinds}
    for source in files:
        n = source.text.count("\n")
        if not config.eval_min_lines <= n <= config.eval_max_lines:
            continue
        for kind in rng.sample(kinds, len(kinds)):
            if per[kind] >= quota[kind]:
                continue
            edit = draw_edit(rng, source, {kind: 1.0})
            if edit is not None and seam_ok(tokenizer, edit):
                if kind == "rename" and per[kind] % 2 == 1 and "old" in edit.meta:
                    edit.instruction = unseen_wording(rng, edit)
                    edit.kind = "rename-unseen-wording"
                out.append(edit)
                per[kind] += 1
                break
        if all(per[k] >= quota[k] for k in kinds):
            break
    return out


def build(
    tokenizer: Any,
    out_dir: Path,
    config: DataConfig,
    progress: Callable[[str], None] | None = None,
    extra: list[Example] | None = None,
) -> dict[str, Any]:
    """Write ``train.pt`` (token ids) and ``heldout.jsonl`` (text edits) under ``out_dir``."""
    import torch

    rng = random.Random(config.seed)
    train_files: list[Source] = []
    held: list[Source] = []
    for source in iter_files(config.max_files):
        (held if is_held_out(source.path) else train_files).append(source)
    rng.shuffle(held)
    examples: list[Example] = list(extra or [])
    for i, source in enumerate(train_files):
        long = rng.random() < config.long_share
        pieces = chunks(source, config.min_lines, max(150, config.max_lines) if long else config.max_lines)
        for piece in pieces:
            if rng.random() < config.scramble_share:
                piece.text = scramble(piece.text, rng) or piece.text
        limit = config.long_max_tokens if long else config.max_tokens
        examples.extend(make_examples(tokenizer, pieces, rng, config.mix, limit, config.per_source))
        if progress and i % 500 == 0:
            progress(f"{i}/{len(train_files)} files, {len(examples)} examples")
    if extra:  # real edits at most 1 : 4 against synthetic ones
        cap = max(1, (len(examples) - len(extra)) // 4)
        real = rng.sample(list(extra), min(cap, len(extra)))
        examples = real + examples[len(extra):]
    if not examples:
        raise ValueError(f"no training examples drawn from {len(train_files)} files "
                         f"(at most {config.max_tokens} tokens each: too few?)")
    rng.shuffle(examples)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"ids": [e.ids for e in examples], "prompt_len": [e.prompt_len for e in examples],
         "kind": [e.kind for e in examples]},
        out_dir / "train.pt",
    )
    heldout = write_heldout(tokenizer, out_dir, config, held)
    summary = {
        "train_files": len(train_files), "heldout_files": len(held), "examples": len(examples),
        "tokens": sum(len(e.ids) for e in examples),
        "target_tokens": sum(len(e.ids) - e.prompt_len for e in examples),
        "kinds": dict(Counter(e.kind for e in examples)), "heldout_edits": len(heldout),
        "heldout_kinds": dict(Counter(e.kind for e in heldout)), "config": asdict(config),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def write_heldout(tokenizer: Any, out_dir: Path, config: DataConfig, held: list[Source] | None = None) -> list[Edit]:
    """Draw the held-out edits (whole held-out files) and write ``heldout.jsonl``."""
    rng = random.Random(config.seed + 1)
    if held is None:
        held = [s for s in iter_files(config.max_files) if is_held_out(s.path)]
        rng.shuffle(held)
    heldout = _held_out_edits(rng, held, config, tokenizer)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "heldout.jsonl", "w", encoding="utf-8") as fh:
        for edit in heldout:
            fh.write(json.dumps(asdict(edit)) + "\n")
    return heldout
