"""``fastapply bench``: greedy vs prompt lookup vs speculative edits, side by side in one process.

With ``--api-base`` an OpenAI-compatible endpoint (``--model`` is then its model name) is timed
end to end on the same cases, beside the local methods (on ``--shape`` or the default model).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

from fastapply.cli.model_options import remote_options
from fastapply.cli.output_paths import output_file
from fastapply.cli.numbers import integer
from fastapply.engine.types import METHODS
from fastapply.errors import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--cases", metavar="CASES.jsonl", help='edits: {"path","instruction","before","after"} per line')
    source.add_argument("--from-git", metavar="RANGE", type=_revision_range,
                        help="mine one-file commits of a git range (e.g. HEAD~200..HEAD)")
    parser.add_argument("--repo", default=".", help="repository for --from-git (default: .)")
    parser.add_argument("--min-lines", type=integer(0), default=100, help="--from-git: smallest file (lines)")
    parser.add_argument("--max-lines", type=integer(1), default=400, help="--from-git: largest file (lines)")
    parser.add_argument("--save-cases", metavar="FILE", help="write the cases used as JSONL")
    parser.add_argument("--shape", help="random-weight model: tiny, qwen2.5-coder-1.5b, qwen2.5-coder-7b")
    parser.add_argument("--replay", action="store_true", help="pin logits so greedy reproduces each case's after text")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--limit", type=integer(1), help="use at most N cases")
    parser.add_argument("--output-format", choices=("text", "json"), default="text")


def _revision_range(text: str) -> str:
    """A git range as given; one starting with ``-`` would reach ``git log`` as an option."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty range")
    if text.startswith("-"):
        raise argparse.ArgumentTypeError(f"a range cannot start with '-': {text!r}")
    return text


def _methods(text: str) -> tuple:
    names = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise UsageError(f"--methods: unknown method(s) {unknown}; choose from {','.join(METHODS)}")
    return names


def _load_cases(args: argparse.Namespace) -> list:
    from fastapply.engine.bench.cases import BenchCase, load_cases
    from fastapply.history import mine_git

    try:
        if args.cases:
            cases = load_cases(args.cases)
        elif args.from_git:
            mined = mine_git(args.repo, args.from_git, min_lines=args.min_lines, max_lines=args.max_lines)
            cases = [BenchCase(e.path, e.instruction, e.before, e.after) for e in mined]
        else:
            raise UsageError("give --cases CASES.jsonl or --from-git RANGE")
    except OSError as exc:
        what = exc.strerror or str(exc)
        raise UsageError(f"{exc.filename}: {what}" if exc.filename else what) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    cases = cases if args.limit is None else cases[: args.limit]
    if not cases:
        raise UsageError("no bench cases (for --from-git: no one-file commits within the size limits)")
    return cases


def _engine(args: argparse.Namespace, model: str | None):
    from fastapply.engine.api import Engine

    if args.shape and model:
        raise UsageError("give --model or --shape, not both")
    if args.shape:
        from fastapply.engine.bench.shapes import build_shape

        try:
            return Engine(build_shape(args.shape, device=args.device, dtype=args.dtype))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    return Engine.load(model or "default", device=args.device, dtype=args.dtype)


def render_text(report) -> str:
    """The report as a rich table, rendered to plain text."""
    from rich.console import Console
    from rich.table import Table

    title = f"{report.cases} case(s) | {report.model} | {report.device} | {report.dtype}"
    if report.replay:
        title += " | REPLAY: real forwards, logits pinned to each case's after text"
    table = Table(title=title)
    for column in ("method", "tokens", "forwards", "seconds", "tokens/s", "fwd/token", "acceptance", "identical"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, t in report.methods.items():
        table.add_row(
            name, str(t.tokens), str(t.forwards), f"{t.seconds:.2f}", f"{t.tokens_per_second:.1f}",
            f"{t.forwards_per_token:.3f}", f"{t.acceptance:.3f}" if name == "speculative" else "-",
            "yes" if t.identical_to_greedy else f"no ({t.cases - t.identical_cases}/{t.cases} differ)",
        )
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(table)
    for other in ("greedy", "prompt-lookup"):
        if other in report.methods and "speculative" in report.methods:
            console.print(f"speculative vs {other}: {report.speedup('speculative', other):.2f}x tokens/s")
    bound = report.oracle_forwards
    if bound and "speculative" in report.methods:
        spec = report.methods["speculative"].forwards
        console.print(f"lookup bound (an oracle drafter knowing each answer): {bound} forwards; "
                      f"speculative at {spec / bound:.2f}x the bound")
        capped = report.oracle_forwards_capped
        if capped:
            console.print(f"lookup bound held to the drafter's width cap ({report.draft_cap} tokens): "
                          f"{capped} forwards; speculative at {spec / capped:.2f}x")
    if len(report.rows) > 1 and any(row.oracle_forwards_capped for row in report.rows):
        console.print(_case_table(report))
    for why in report.skipped:
        console.print(f"skipped {why}")
    return console.export_text()


def _case_table(report):
    """Forwards per case and method beside the case's capped lookup bound (replay only)."""
    from rich.table import Table

    table = Table(title=f"forwards per case (bound: the oracle's, at the width cap of {report.draft_cap})")
    table.add_column("case")
    for column in ("tokens", "bound", *report.methods, "speculative / bound"):
        table.add_column(column, justify="right")
    for row in report.rows:
        forwards = {method: run["forwards"] for method, run in row.methods.items()}
        tokens = next(iter(row.methods.values()), {}).get("tokens", "-")
        bound, spec = row.oracle_forwards_capped, forwards.get("speculative")
        ratio = f"{spec / bound:.2f}x" if spec is not None and bound else "-"
        table.add_row(row.path, str(tokens), str(bound or "-"),
                      *(str(forwards.get(m, "-")) for m in report.methods), ratio)
    return table


def main(args: argparse.Namespace) -> int:
    methods = _methods(args.methods)
    if isinstance(args.from_git, list):  # argparse makes "--from-git=--" [] and never calls the type
        raise UsageError("--from-git: a range cannot start with '-': '--'")
    if args.min_lines > args.max_lines:
        raise UsageError(f"--min-lines {args.min_lines} is above --max-lines {args.max_lines}")
    if args.save_cases:
        output_file(Path(args.save_cases), "--save-cases")
    cases = _load_cases(args)
    if args.save_cases:
        with open(args.save_cases, "w", encoding="utf-8") as handle:
            handle.writelines(case.to_json() + "\n" for case in cases)
    remote = remote_options(args)
    # With --api-base, --model names the server's model; the local methods run on --shape or default.
    engine = _engine(args, None if remote is not None else args.model)
    from fastapply.engine.bench.harness import run_bench

    def progress(index: int, method: str, result) -> None:
        s = result.stats
        print(f"[{index + 1}/{len(cases)}] {method:<13} {s.tokens:>6} tok {s.forwards:>6} fwd "
              f"{s.tokens_per_second:>9.1f} tok/s {s.finish_reason}", file=sys.stderr)

    try:
        report = run_bench(engine, cases, methods, replay=args.replay, on_case=progress)
    except ValueError as exc:  # every case was skipped: nothing to measure
        raise UsageError(str(exc)) from None
    times = _time_remote(args, remote, cases) if remote is not None else None
    if args.output_format == "json":
        data = report.to_dict()
        if times is not None:
            data["remote"] = times.to_dict()
        print(json.dumps(data, indent=2))
    else:
        print(render_text(report) + (_remote_text(times) if times is not None else ""))
    return EXIT_OK


def _time_remote(args: argparse.Namespace, remote, cases: list):
    from fastapply import backend as backends
    from fastapply.remote.bench import time_cases

    return time_cases(backends.load_model(args.model, device=args.device, dtype=args.dtype, remote=remote), cases)


def _remote_text(times) -> str:
    return (
        f"remote {times.model}: {times.tokens} tok in {times.seconds:.2f} s end to end, "
        f"{times.tokens_per_second:.1f} tok/s; {sum(r.matches_after for r in times.rows)}/{len(times.rows)} "
        "rewrites equal the case's after text\n"
    )
