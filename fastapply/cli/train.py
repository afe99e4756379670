"""`fastapply train tokenizer|data|windows|model|eval|errors|compare|export|graft-rename|rewire`: build the project's own apply model.

A thin shell over ``fastapply.train``: parses options, prints progress to stderr and results to
stdout. Every step writes under a folder it is given, and ``model`` resumes from its checkpoint
with ``--resume``, so long CPU runs can be chained in bounded invocations.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from fastapply.errors import UsageError



def add_arguments(parser: argparse.ArgumentParser) -> None:
    steps = parser.add_subparsers(dest="step", metavar="STEP")
    tok = steps.add_parser("tokenizer", help="train the byte-level BPE tokenizer on local Python source")
    tok.add_argument("--out", type=Path, default=Path("runs/tokenizer"))

    data = steps.add_parser("data", help="generate synthetic (and real, --from-git) edits")
    data.add_argument("--out", type=Path, default=Path("runs/data"))
    data.add_argument("--max-files", type=int, default=8000)
    data.add_argument("--per-source", type=int, default=1, help="edits drawn per source chunk")
    data.add_argument("--max-tokens", type=int, default=1536, help="cap on prompt + target tokens")
    data.add_argument("--eval-per-kind", type=int, default=12)
    data.add_argument("--from-git", type=Path, action="append", default=[], metavar="REPO",
                      help="also use real edits: commits that change exactly one .py file")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--heldout-only", action="store_true", help="only (re)draw the held-out edits")

    win = steps.add_parser("windows", help="one curriculum phase's edit-dense windows (issue 18)")
    win.add_argument("--phase", default="rename-single", help="curriculum phase (see fastapply.train.curriculum)")
    win.add_argument("--out", type=Path, required=True)
    win.add_argument("--max-files", type=int, default=20000)
    win.add_argument("--max-windows", type=int, default=4000)
    win.add_argument("--heldout-windows", type=int, default=96)
    win.add_argument("--max-minutes", type=float, default=10.0, help="stop drawing after, keeping what was drawn")
    win.add_argument("--seed", type=int, default=0)
    win.add_argument("--workers", type=int, default=1, help="processes drawing training windows")

    model = steps.add_parser("model", help="train (or resume training) the apply model")
    model.add_argument("--data", type=Path, default=Path("runs/data"))
    model.add_argument("--run", type=Path, default=Path("runs/model"))
    model.add_argument("--size", default="small",
                       help="toy, tiny, small, base, or copy (hand-wired copy layers, the rest trained)")
    model.add_argument("--lr", type=float, default=2e-3)
    model.add_argument("--total-steps", type=int, default=2000, help="length of the lr schedule")
    model.add_argument("--tokens-per-batch", type=int, default=6144)
    model.add_argument("--max-minutes", type=float, default=9.0, help="stop this invocation after")
    model.add_argument("--threads", type=int, default=2)
    model.add_argument("--edit-weight", type=float, default=1.0,
                       help="loss weight of the tokens a verbatim copy of the file would get wrong")
    model.add_argument("--resume", action="store_true", help="continue from RUN/ckpt.pt")
    model.add_argument("--init-from", type=Path, metavar="CKPT",
                       help="start from the weights of an earlier run's ckpt.pt (the next curriculum phase)")
    model.add_argument("--probe-every", type=int, default=0, metavar="N",
                       help="score DATA/heldout_windows.pt every N steps and stop on the stop rule (0: never)")
    model.add_argument("--warmup-steps", type=int, default=60)
    model.add_argument("--train-embeddings", action="store_true",
                       help="copy preset: train the tied embeddings too (the wired layers stay frozen)")

    ev = steps.add_parser("eval", help="exact match per edit kind on held-out files, and speed")
    ev.add_argument("--model", dest="model", default=argparse.SUPPRESS, help="model folder to evaluate")
    ev.add_argument("--data", type=Path, default=Path("runs/data"))
    ev.add_argument("--limit", type=int, default=0, help="at most this many edits per kind (0: all)")
    ev.add_argument("--kind", dest="kinds", action="append", default=[], metavar="KIND",
                    help="only edits of this kind (repeat for several; default: every kind)")
    ev.add_argument("--method", default="speculative", choices=["greedy", "prompt-lookup", "speculative"])
    ev.add_argument("--bench", type=int, default=3, help="rename edits to time greedy vs speculative")
    ev.add_argument("--out", type=Path, help="also write the report as JSON here")

    er = steps.add_parser("errors", help="teacher-forced errors on held-out edits, by where they fall "
                          "(edited tokens, after an edit, ties of the copy's context, ...)")
    er.add_argument("--model", dest="model", default=argparse.SUPPRESS, help="model folder to evaluate")
    er.add_argument("--data", type=Path, default=Path("runs/data"))
    er.add_argument("--kind", dest="kinds", action="append", default=[], metavar="KIND",
                    help="only edits of this kind (repeat for several; default: every kind)")
    er.add_argument("--context", type=int, default=8, help="tokens of context that make a tie (the copy head's K)")
    er.add_argument("--out", type=Path, help="also write the report as JSON here")

    cmp = steps.add_parser("compare", help="the card's shipping rule: is CANDIDATE at least as good as BASE on "
                           "every figure, and better on one? (exit 0 yes, 1 no)")
    cmp.add_argument("base", type=Path, help="'train eval --out' report of the shipped model")
    cmp.add_argument("candidate", type=Path, help="'train eval --out' report of the candidate, on the same edits")

    ex = steps.add_parser("export", help="copy a trained model into a shippable folder")
    ex.add_argument("--run", type=Path, default=Path("runs/model"))
    ex.add_argument("--to", type=Path, required=True)
    ex.add_argument("--bf16", action="store_true", help="store the weights in bfloat16")
    ex.add_argument("--data", type=Path, default=Path("runs/data"), help="for the card: summary.json")
    ex.add_argument("--learned-scale", type=float, default=1.0, metavar="ALPHA",
                    help="copy preset only: scale the trained layers' residual writes by ALPHA in [0, 1] "
                         "(0: the untrained circuit, 1: the trained model)")
    ex.add_argument("--eval", type=Path, help="for the card: the JSON written by 'train eval --out'")
    ex.add_argument("--hardware", default="2 shared CPU cores (no GPU)", help="for the card")
    ex.add_argument("--notes", type=Path, help="for the card: what the model can and cannot do (markdown)")

    gr = steps.add_parser("graft-rename", help="put the wired rename path (one-token names) under a trained "
                          "copy-preset model's layers, into a new model folder")
    gr.add_argument("--model", dest="source", type=Path, default=None,
                    help="the model folder to graft (default: the embedded default model)")
    gr.add_argument("--to", type=Path, required=True, help="a new folder for the grafted model")
    gr.add_argument("--keep", default=None, metavar="I,J",
                    help="the trained layers to keep, in order (default: all of them)")
    gr.add_argument("--rename-last", action="store_true", help="put the rename layer above the trained ones")
    gr.add_argument("--fp32", action="store_true", help="store float32 weights (default: bfloat16)")

    rw = steps.add_parser("rewire", help="set a trained copy-preset model's wired layers from the current "
                          "circuit, keeping its trained layers, into a new model folder")
    rw.add_argument("--model", dest="source", type=Path, default=None,
                    help="the model folder to rewire (default: the embedded default model)")
    rw.add_argument("--to", type=Path, required=True, help="a new folder for the rewired model")
    rw.add_argument("--fp32", action="store_true", help="store float32 weights (default: bfloat16)")
    rw.add_argument("--repeat-penalty", type=float, default=None, metavar="P",
                    help="the repeat head's penalty (0: no repeat head, as the shipped default model; "
                         "default: the circuit's own)")
    rw.add_argument("--window-nats", type=float, default=None, metavar="N",
                    help="the copy window's logit for a perfect match (default: the circuit's own)")
    rw.add_argument("--segment-nats", type=float, default=None, metavar="N",
                    help="what a key in the window's own segment (instruction, file, rewrite) gains "
                         "over one outside (0: no segments; default: the circuit's own)")
    rw.add_argument("--match-decay", type=float, default=None, metavar="D",
                    help="the weight of each context token a step further back in the copy's match, "
                         "in (0, 1] (default: the circuit's own)")
    rw.add_argument("--marker-decay", type=float, default=None, metavar="D",
                    help="the same for the <code> marker's extra weight, in (0, 1] (default: as --match-decay)")


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
    return _export(args)


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
        result = compare(reports[0], reports[1])
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

    knobs = {"repeat_penalty": args.repeat_penalty, "window_nats": args.window_nats, "segment_nats": args.segment_nats}
    for name, value in knobs.items():
        if value is not None and not value >= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be 0 or more, not {value}")
    decays = {"match_decay": args.match_decay, "marker_decay": args.marker_decay}
    for name, value in decays.items():
        if value is not None and not 0 < value <= 1:
            raise UsageError(f"--{name.replace('_', '-')} must lie in (0, 1], not {value}")
    layout = PriorLayout(**{name: value for name, value in {**knobs, **decays}.items() if value is not None})
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
    summary = build(tok, args.out, config, progress=_progress, extra=real)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 0


def _windows(args: argparse.Namespace) -> int:
    from fastapply.train.curriculum import phase
    from fastapply.train.phase_data import PhaseDataConfig, build_phase

    try:
        phase(args.phase)
    except ValueError as exc:
        raise UsageError(f"--phase: {exc}") from exc
    config = PhaseDataConfig(phase=args.phase, max_files=args.max_files, max_windows=args.max_windows,
                             heldout_windows=args.heldout_windows, max_minutes=args.max_minutes, seed=args.seed,
                             workers=args.workers)
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    try:
        summary = build_phase(_load_tokenizer(), args.out, config, progress=_progress)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(json.dumps({k: v for k, v in summary.items() if k not in ("config", "window")}, indent=2))
    return 0


def _model(args: argparse.Namespace) -> int:
    from fastapply.train.build_data import load_examples
    from fastapply.train.loop import TrainConfig, train

    path = args.data / "train.pt"
    if not args.edit_weight > 0:
        raise UsageError(f"--edit-weight must be positive, not {args.edit_weight}")
    if not path.exists():
        raise UsageError(f"no training data at {path}; run 'fastapply train data --out {args.data}' first")
    config = TrainConfig(size=args.size, lr=args.lr, total_steps=args.total_steps,
                         tokens_per_batch=args.tokens_per_batch, max_minutes=args.max_minutes,
                         threads=args.threads, edit_weight=args.edit_weight, probe_every=args.probe_every,
                         warmup_steps=args.warmup_steps, init_from=str(args.init_from or ""),
                         train_embeddings=args.train_embeddings)
    if args.init_from and not args.init_from.is_file():
        raise UsageError(f"--init-from: no checkpoint at {args.init_from}")
    probe_path = args.data / "heldout_windows.pt"
    if args.probe_every and not probe_path.exists():
        raise UsageError(f"--probe-every needs held-out windows at {probe_path}; run 'fastapply train windows'")
    probes = load_examples(probe_path) if args.probe_every else None
    examples = load_examples(path)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` checkpoints too (background jobs ignore SIGINT)
    _progress(f"{len(examples)} examples; training {args.size} into {args.run}")
    state = train(examples, _load_tokenizer(), args.run, config, resume=args.resume,
                  on_log=lambda d: _progress(json.dumps(d)), probe_examples=probes)
    print(json.dumps({"run": str(args.run), "step": state.step, "tokens_seen": state.tokens_seen,
                      "minutes": round(state.seconds / 60, 2), "done": state.step >= config.total_steps,
                      "stopped": state.stopped, "last_probe": state.probes[-1] if state.probes else None}))
    return 0


def _heldout(args: argparse.Namespace) -> list[Any]:
    """DATA's held-out edits, only those of the kinds asked (an unknown kind is refused by name)."""
    from fastapply.train.build_data import load_heldout

    path = args.data / "heldout.jsonl"
    if not path.exists():
        raise UsageError(f"no held-out edits at {path}; run 'fastapply train data' first")
    edits = load_heldout(path)
    unknown = sorted(set(args.kinds) - {e.kind for e in edits})
    if unknown:
        raise UsageError(f"--kind: no held-out edits of kind {', '.join(unknown)} in {path}")
    return [e for e in edits if e.kind in args.kinds] if args.kinds else edits


def _errors(args: argparse.Namespace) -> int:
    from fastapply.train.errors import count_errors, format_errors

    if args.context < 1:
        raise UsageError(f"--context must be 1 or more, not {args.context}")
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


def _export(args: argparse.Namespace) -> int:
    import torch

    from fastapply.train.export import export_model
    from fastapply.train.model import COPY_PRIOR, check_learned_scale

    if not (args.run / "model" / "config.json").exists() or not (args.run / "ckpt.pt").exists():
        raise UsageError(f"no trained model under {args.run} (want model/config.json and ckpt.pt)")
    ckpt = torch.load(args.run / "ckpt.pt", map_location="cpu", weights_only=False)
    if args.learned_scale != 1.0 and ckpt["config"]["size"] != COPY_PRIOR:
        raise UsageError(f"--learned-scale applies to models of size {COPY_PRIOR!r} only")
    try:
        check_learned_scale(args.learned_scale)
    except ValueError as exc:
        raise UsageError(f"--learned-scale: {exc}") from exc
    summary = args.data / "summary.json"
    if not summary.exists():
        raise UsageError(f"no data summary at {summary}; pass --data")
    print(export_model(args.run / "model", args.to, bf16=args.bf16, learned_scale=args.learned_scale))
    _write_card(args, ckpt, json.loads(summary.read_text()))
    return 0


def _write_card(args: argparse.Namespace, ckpt: dict[str, Any], summary: dict[str, Any]) -> None:
    from fastapply.engine.load import declared_dtype
    from fastapply.train.card import render_card
    from fastapply.train.loop import TrainConfig, parameters_of

    evaluation = json.loads(args.eval.read_text()) if args.eval else None
    notes = args.notes.read_text() if args.notes else "Not written yet."
    config = TrainConfig(**ckpt["config"])
    card = render_card(summary, ckpt["state"], ckpt["config"], parameters_of(config, _load_tokenizer()), evaluation,
                       hardware=args.hardware, notes=notes, learned_scale=args.learned_scale,
                       model_config=json.loads((args.to / "config.json").read_text()),
                       compute_dtype=declared_dtype(args.to))
    (args.to / "MODEL_CARD.md").write_text(card)
