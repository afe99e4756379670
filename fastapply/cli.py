"""The ``fastapply`` command: parses arguments and dispatches to one module per subcommand.

Each subcommand module (``fastapply.cli_<name>``) exposes ``add_arguments(parser)`` and
``main(args) -> int``. This shell owns printing errors and exit codes; the library never prints.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapply import __version__
from fastapply.engine.types import EngineError
from fastapply.errors import EXIT_ENGINE, EXIT_INTERRUPTED, FastapplyError

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "tui": ("fastapply.cli_tui", "open the terminal app (the default with no subcommand)"),
    "run": ("fastapply.cli_run", "rewrite files with one instruction"),
    "batch": ("fastapply.cli_batch", "run many edit jobs from a JSONL file with one model load"),
    "hook": ("fastapply.cli_hook", "run the configured hook instructions on staged files"),
    "install-hook": ("fastapply.cli_hook", "write .git/hooks/pre-commit that runs fastapply hook"),
    "undo": ("fastapply.cli_undo", "restore the files of the last apply"),
    "bench": ("fastapply.cli_bench", "compare greedy, prompt lookup and speculative edits"),
    "train": ("fastapply.cli_train", "train the tokenizer or the apply model, or evaluate it"),
    "models": ("fastapply.cli_models", "list the models fastapply can load"),
}


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The global model options, accepted by every subcommand that loads a model."""
    parser.add_argument("--model", help="local path, hub id, or 'default' (embedded model)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    parser.add_argument("--dtype", help="float32, bfloat16 or float16 (default: by device)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastapply",
        description="Rewrite whole files with a local model using speculative edits.",
    )
    parser.add_argument("--version", action="version", version=f"fastapply {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        add_model_options(sub)
        adder = getattr(module, f"add_{name.replace('-', '_')}_arguments", None)
        (adder or module.add_arguments)(sub)
        sub.set_defaults(handler=getattr(module, f"{name.replace('-', '_')}_main", None) or module.main)
    return parser


def apply_config_defaults(args: argparse.Namespace) -> None:
    """Fill --model/--device/--dtype the command line left out from the project's config file.

    The config (``fastapply.config.Config``) is kept on ``args.config`` for the subcommand.
    Raises ``fastapply.config.ConfigError`` (exit 2) for an invalid file.
    """
    from fastapply.config import load_config

    config = load_config(Path.cwd())
    args.config = config
    for key in ("model", "device", "dtype"):
        if getattr(args, key, None) is None:
            setattr(args, key, getattr(config, key))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv = ["tui", *argv]
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["tui"])
    try:
        apply_config_defaults(args)
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("fastapply: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FastapplyError as exc:
        print(f"fastapply: {exc}", file=sys.stderr)
        return exc.exit_code
    except EngineError as exc:
        print(f"fastapply: {exc}", file=sys.stderr)
        return EXIT_ENGINE
    except MemoryError:
        print("fastapply: out of memory", file=sys.stderr)
        return EXIT_ENGINE


if __name__ == "__main__":
    sys.exit(main())
