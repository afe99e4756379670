"""`fastapply train export`: copy a trained run's model into a shippable folder with its MODEL_CARD.md.

Every input (the checkpoint, the data summary, ``--eval``, ``--notes``, where ``--to`` is) is read
and checked, and the card rendered once from the run's own model folder, before anything is
written: a bad input is a usage error (exit 2) that leaves no folder without its card. Knows the
files export reads; how the model is saved is ``fastapply.train.export``'s.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapply.cli.output_paths import output_folder
from fastapply.errors import UsageError


def _text(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{option}: {path} is not UTF-8 text ({exc.reason})") from exc


def _record(path: Path, option: str, check: Callable[[Any], None]) -> dict[str, Any]:
    """The JSON object at ``path``, refused unless ``check`` accepts it."""
    try:
        record = json.loads(_text(path, option))
        check(record)
    except ValueError as exc:  # json's decode errors are ValueErrors too
        raise UsageError(f"{option}: {path} is malformed: {exc}") from exc
    return record


class _Card:
    """What the card is rendered from, read once; rendered for the run's model and the exported one."""

    def __init__(self, args: argparse.Namespace, ckpt: dict[str, Any], summary: dict[str, Any],
                 evaluation: dict[str, Any] | None, notes: str) -> None:
        from fastapply.engine.load import TOKENIZER_DIR, load_tokenizer
        from fastapply.train.loop import TrainConfig, TrainState, parameters_of

        config, state = TrainConfig(**ckpt["config"]), TrainState(**ckpt["state"])
        self.args, self.summary, self.evaluation, self.notes = args, summary, evaluation, notes
        self.config, self.state = config, state
        self.parameters = parameters_of(config, load_tokenizer(TOKENIZER_DIR))

    def render(self, model_dir: Path) -> str:
        from dataclasses import asdict

        from fastapply.engine.load import declared_dtype
        from fastapply.train.card import render_card

        return render_card(self.summary, asdict(self.state), asdict(self.config), self.parameters, self.evaluation,
                           hardware=self.args.hardware, notes=self.notes, learned_scale=self.args.learned_scale,
                           model_config=json.loads((model_dir / "config.json").read_text(encoding="utf-8")),
                           compute_dtype=declared_dtype(model_dir))


def _inputs(args: argparse.Namespace) -> _Card:
    """Every input read and checked; raises UsageError for the first bad one."""
    from fastapply.train.card import check_evaluation, check_summary
    from fastapply.train.model import COPY_PRIOR
    from fastapply.train.stored import load_checkpoint

    if not (args.run / "model" / "config.json").is_file() or not (args.run / "ckpt.pt").is_file():
        raise UsageError(f"no trained model under {args.run} (want model/config.json and ckpt.pt)")
    ckpt = load_checkpoint(args.run / "ckpt.pt", whole=True)
    if args.learned_scale != 1.0 and ckpt["config"].get("size") != COPY_PRIOR:
        raise UsageError(f"--learned-scale applies to models of size {COPY_PRIOR!r} only")
    summary_path = args.data / "summary.json"
    if not summary_path.is_file():
        raise UsageError(f"no data summary at {summary_path}; pass --data")
    summary = _record(summary_path, "--data", check_summary)
    evaluation = _record(args.eval, "--eval", check_evaluation) if args.eval else None
    notes = _text(args.notes, "--notes") if args.notes else "Not written yet."
    output_folder(args.to, "--to")
    if args.to.resolve() == (args.run / "model").resolve():  # it would be rewritten from itself, scaled or in bf16
        raise UsageError(f"--to {args.to} is the run's own model folder; export to another folder")
    try:
        return _Card(args, ckpt, summary, evaluation, notes)
    except ValueError as exc:  # a size no preset has
        raise UsageError(f"{args.run / 'ckpt.pt'}: {exc}") from exc


def export(args: argparse.Namespace) -> int:
    from fastapply.train.export import export_model

    card = _inputs(args)
    try:
        card.render(args.run / "model")  # a rehearsal: a shape the checks missed fails here, before any write
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"cannot write the model card from these inputs: {type(exc).__name__}: {exc}") from exc
    print(export_model(args.run / "model", args.to, bf16=args.bf16, learned_scale=args.learned_scale))
    (args.to / "MODEL_CARD.md").write_text(card.render(args.to), encoding="utf-8")
    return 0
