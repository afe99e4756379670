"""`fastapply train tokenizer|data|windows|model|eval|errors|compare|export|graft-rename|rewire`: build the project's own apply model.

A thin shell over ``fastapply.train``: reads the options (``cli.train_parser``), prints progress to
stderr and results to stdout. Every step writes under a folder it is given, checked before any
work (``cli.output_paths``), and ``model`` resumes from its checkpoint with ``--resume``, so long
CPU runs can be chained in bounded invocations. Export is ``cli.train_export``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from fastapply.cli.train_parser import add_arguments
from fastapply.cli.output_paths import output_file, output_folder
from fastapply.errors import UsageError

__all__ = ["add_arguments", "main"]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load_tokenizer(path: Path | None = None) -> object:
    from fastapply.engine.load import TOKENIZER_DIR, load_tokenizer

    return load_tokenizer(path or TOKENIZER_DIR)


def main(args: argparse.Namespace) -> int:
    step = getattr(args, "step", None)
    if step is None:
        raise UsageError("say what to train: fastapply train tokenizer|data|windows|model|eval|errors|compare|export|graft-rename|rewire")
    if step == "tokenizer":
        from fastapply.train.tokenizer import train_tokenizer

        output_folder(args.out, "--out")
        print(train_tokenizer(args.out))
        return 0
    if step == "data":
        return _data(args)
    if step == "windows":
        return _windows(args)
    if step == "model":
        return _model(args)
    if step == "eval":
        return _eval(args)
    if step == "errors":
        return _errors(args)
    if step == "compare":
        return _compare(args)
    if step == "graft-rename":
        return _graft_rename(args)
    if step == "rewire":
        return _rewire(args)
    from fastapply.cli.train_export import export

    return export(args)


def _compare(args: argparse.Namespace) -> int:
    from fastapply.train.compare import compare, format_comparison

    reports = []
    for path in (args.base, args.candidate):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path} is not a JSON report: {exc}") from exc
        if not isinstance(reports[-1], dict):
            raise UsageError(f"{path} is not a 'fastapply train eval --out' report")
    try:
        result = compare(reports[0], reports[1], names=(str(args.base), str(args.candidate)))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(format_comparison(result))
    return 0 if result.ship else 1


def _source_folder(args: argparse.Namespace) -> Path:
    from fastapply.engine.assets import DEFAULT_MODEL_DIR

    source: Path = args.source or DEFAULT_MODEL_DIR
    if not (source / "config.json").exists():
        raise UsageError(f"no model folder at {source} (want config.json)")
    return source


def _rewire(args: argparse.Namespace) -> int:
    from fastapply.train.copy_prior import PriorLayout
    from fastapply.train.rewire import rewire_folder

    knobs = {"repeat_penalty": args.repeat_penalty, "window_nats": args.window_nats, "segment_nats": args.segment_nats,
             "match_decay": args.match_decay, "marker_decay": args.marker_decay}  # ranges checked by the parser
    layout = PriorLayout(**{name: value for name, value in knobs.items() if value is not None})
    try:
        print(rewire_folder(_source_folder(args), args.to, bf16=not args.fp32, layout=layout))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return 0


def _graft_rename(args: argparse.Namespace) -> int:
    from fastapply.train.rename_graft import graft_folder

    source = _source_folder(args)
    try:
        keep = None if args.keep is None else tuple(int(part) for part in args.keep.split(","))
    except ValueError:
        raise UsageError(f"--keep: want layer numbers separated by commas, got {args.keep!r}") from None
    try:
        print(graft_folder(source, args.to, keep, rename_last=args.rename_last, bf16=not args.fp32))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return 0


def _data(args: argparse.Namespace) -> int:
    from fastapply.train.build_data import DataConfig, build
    from fastapply.train.git_edits import real_examples

    output_folder(args.out, "--out")
    tok = _load_tokenizer()
    config = DataConfig(max_files=args.max_files, per_source=args.per_source, max_tokens=args.max_tokens,
                        eval_per_kind=args.eval_per_kind, seed=args.seed)
    if args.heldout_only:
        from fastapply.train.build_data import write_heldout

        edits = write_heldout(tok, args.out, config)
        print(json.dumps({"heldout_edits": len(edits)}))
        return 0
    real = []
    for repo in args.from_git:
        try:
            real.extend(real_examples(tok, repo, max_tokens=args.max_tokens))
        except ValueError as exc:
            raise UsageError(f"--from-git {repo}: {exc}") from exc
        _progress(f"{repo}: {len(real)} real edits so far")
    try:
        summary = build(tok, args.out, config, progress=_progress, extra=real)
    except ValueError as exc:  # nothing drawn: written nothing either
        raise UsageError(str(exc)) from exc
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 0


def _windows(args: argparse.Namespace) -> int:
    from fastapply.train.curriculum import phase
    from fastapply.train.phase_data import PhaseDataConfig, build_phase

    try:
        phase(args.phase)
    except ValueError as exc:
        raise UsageError(f"--phase: {exc}") from exc
    output_folder(args.out, "--out")
    config = PhaseDataConfig(phase=args.phase, max_files=args.max_files, max_windows=args.max_windows,
                             heldout_windows=args.heldout_windows, max_minutes=args.max_minutes, seed=args.seed,
                             workers=args.workers)
    try:
        summary = build_phase(_load_tokenizer(), args.out, config, progress=_progress)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(json.dumps({k: v for k, v in summary.items() if k not in ("config", "window")}, indent=2))
    return 0


def _model(args: argparse.Namespace) -> int:
    from fastapply.train.loop import TrainConfig, start_checkpoint, train
    from fastapply.train.stored import load_examples

    path = args.data / "train.pt"
    if not path.is_file():
        raise UsageError(f"no training data at {path}; run 'fastapply train data --out {args.data}' first")
    probe_path = args.data / "heldout_windows.pt"
    if args.probe_every and not probe_path.is_file():
        raise UsageError(f"--probe-every needs held-out windows at {probe_path}; run 'fastapply train windows'")
    output_folder(args.run, "--run")
    if not args.resume and (args.run / "ckpt.pt").exists():  # a new run would overwrite that one
        raise UsageError(f"--run {args.run} already holds a run (ckpt.pt); pass --resume to continue it, "
                         "or give another --run")
    config = TrainConfig(size=args.size, lr=args.lr, total_steps=args.total_steps,
                         tokens_per_batch=args.tokens_per_batch, max_minutes=args.max_minutes,
                         threads=args.threads, edit_weight=args.edit_weight, probe_every=args.probe_every,
                         warmup_steps=args.warmup_steps, init_from=str(args.init_from or ""),
                         train_embeddings=args.train_embeddings)
    start = start_checkpoint(args.run, config, args.resume)  # refused here, before the data loads
    probes = load_examples(probe_path) if args.probe_every else None
    examples = load_examples(path)
    if not examples:
        raise UsageError(f"{path} holds no training examples")
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` checkpoints too (background jobs ignore SIGINT)
    _progress(f"{len(examples)} examples; training {args.size} into {args.run}")
    state = train(examples, _load_tokenizer(), args.run, config, resume=args.resume, start=start,
                  on_log=lambda d: _progress(json.dumps(d)), probe_examples=probes)
    print(json.dumps({"run": str(args.run), "step": state.step, "tokens_seen": state.tokens_seen,
                      "minutes": round(state.seconds / 60, 2), "done": state.step >= config.total_steps,
                      "stopped": state.stopped, "last_probe": state.probes[-1] if state.probes else None}))
    return 0


def _heldout(args: argparse.Namespace) -> list[Any]:
    """DATA's held-out edits, only those of the kinds asked (an unknown kind is refused by name);
    none at all is refused too, and ``--out`` is checked before any edit is run."""
    from fastapply.train.stored import load_heldout

    path = args.data / "heldout.jsonl"
    if not path.is_file():
        raise UsageError(f"no held-out edits at {path}; run 'fastapply train data' first")
    edits = load_heldout(path)
    if not edits:
        raise UsageError(f"{path} holds no held-out edits; run 'fastapply train data' again")
    unknown = sorted(set(args.kinds) - {e.kind for e in edits})
    if unknown:
        raise UsageError(f"--kind: no held-out edits of kind {', '.join(unknown)} in {path}")
    if args.out:
        output_file(args.out, "--out")
    return [e for e in edits if e.kind in args.kinds] if args.kinds else edits


def _errors(args: argparse.Namespace) -> int:
    from fastapply.train.errors import count_errors, format_errors

    edits = _heldout(args)
    report = count_errors(getattr(args, "model", None) or "default", edits, context=args.context,
                          device=args.device, dtype=args.dtype, progress=_progress)
    print(format_errors(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from fastapply.train.evaluate import evaluate, format_report

    edits = _heldout(args)
    report = evaluate(getattr(args, "model", None) or "default", edits, method=args.method,
                      limit=args.limit, bench=args.bench, device=args.device, dtype=args.dtype,
                      progress=_progress)
    print(format_report(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0
