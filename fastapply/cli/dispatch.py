"""The ``fastapply`` command: parse arguments, read the configuration once, dispatch to a command.

Every command module in ``COMMANDS`` exposes ``add_arguments(parser)`` and ``main(args) -> int``.
This shell owns turning errors into a message and an exit code (ARCHITECTURE.md, "Exit codes");
the library never prints. The configuration is read once, from the root of the repository that
holds the working directory (or the TUI's path), and reaches the command as ``args.config``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapply import __version__
from fastapply.cli.model_options import add_model_options
from fastapply.engine.types import EngineError
from fastapply.errors import EXIT_ENGINE, EXIT_INTERRUPTED, FastapplyError

# command -> (module, one-line help); the first is what a bare ``fastapply`` runs
COMMANDS: dict[str, tuple[str, str]] = {
    "tui": ("fastapply.cli.tui", "open the terminal app (the default with no command)"),
    "run": ("fastapply.cli.run", "rewrite files with one instruction"),
    "batch": ("fastapply.cli.batch", "run many edit jobs from a JSONL file with one model load"),
    "hook": ("fastapply.cli.hook", "run the configured hook instructions on staged files"),
    "install-hook": ("fastapply.cli.install_hook", "write .git/hooks/pre-commit that runs fastapply hook"),
    "undo": ("fastapply.cli.undo", "restore the files of the last apply"),
    "bench": ("fastapply.cli.bench", "compare greedy, prompt lookup and speculative edits"),
    "train": ("fastapply.cli.train", "train the tokenizer or the apply model, or evaluate it"),
    "models": ("fastapply.cli.models", "list the models fastapply can load"),
    "serve": ("fastapply.cli.serve", "serve the model over an OpenAI-compatible HTTP API"),
}
_TOP_LEVEL = ("-h", "--help", "--version")


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
        module.add_arguments(sub)
        sub.set_defaults(handler=module.main)
    return parser


def apply_config_defaults(args: argparse.Namespace) -> None:
    """Read the configuration and fill --model/--device/--dtype the command line left out.

    The config (``fastapply.config.Config``) is kept on ``args.config`` for the command.
    Raises ``fastapply.config.ConfigError`` (exit 2) for an invalid file.
    """
    from fastapply.config import load_project_config

    start = Path(args.path) if args.command == "tui" else Path.cwd()
    config = load_project_config(start)
    args.config = config
    for key in ("model", "device", "dtype"):
        if getattr(args, key, None) is None:
            setattr(args, key, getattr(config, key))


def _with_command(argv: list[str]) -> list[str]:
    """A bare ``fastapply [PATH] [--model M ...]`` is the TUI."""
    if argv and (argv[0] in COMMANDS or argv[0] in _TOP_LEVEL):
        return argv
    return ["tui", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    argv = _with_command(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
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
