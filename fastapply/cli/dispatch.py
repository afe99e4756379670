"""The ``fastapply`` command: parse arguments, read the configuration once, dispatch to a command.

Every command module in ``COMMANDS`` exposes ``add_arguments(parser)`` and ``main(args) -> int``.
This shell owns turning errors into a message and an exit code (ARCHITECTURE.md, "Exit codes");
the library never prints. The configuration is read once, from the root of the repository that
holds the working directory (or the TUI's path), and reaches the command as ``args.config``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from fastapply import __version__
from fastapply.cli.model_options import add_model_options
from fastapply.cli.signals import broken_pipe_to_devnull, terminate_as_interrupt
from fastapply.engine.types import EngineError
from fastapply.errors import EXIT_ENGINE, EXIT_INTERRUPTED, EXIT_TERMINATED, FastapplyError, Terminated

DEBUG_ENV = "FASTAPPLY_DEBUG"
VERBOSE_ENV = "FASTAPPLY_VERBOSE"  # engine.load reads it; named here so the CLI imports no engine module

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
    """Run one command; every outcome is an exit code of ARCHITECTURE.md, "Exit codes".

    A closed stdout (``fastapply run ... | head -1``) does not end the run: output goes to the null
    device from then on and the exit code is the run's own. SIGTERM ends it as Ctrl-C does, with
    143. Any other exception is an internal error, exit 4, with a traceback only under
    ``FASTAPPLY_DEBUG=1``.
    """
    argv = _with_command(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ[VERBOSE_ENV] = "1"  # the engine reads it when it loads; the shell owns the env
    with terminate_as_interrupt(), broken_pipe_to_devnull():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        apply_config_defaults(args)
        return int(args.handler(args))
    except Terminated:
        return _fail("terminated", EXIT_TERMINATED)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except FastapplyError as exc:
        return _fail(str(exc), exc.exit_code)
    except EngineError as exc:
        return _fail(str(exc), EXIT_ENGINE)
    except MemoryError:
        return _fail("out of memory", EXIT_ENGINE)
    except OSError as exc:
        return _fail(f"system error: {_describe_os_error(exc)}", EXIT_ENGINE)
    except Exception as exc:  # the last resort: no traceback reaches a user
        if os.environ.get(DEBUG_ENV) == "1":
            traceback.print_exc()
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        hint = "" if os.environ.get(DEBUG_ENV) == "1" else f" (set {DEBUG_ENV}=1 for the traceback)"
        return _fail(f"internal error: {detail}{hint}", EXIT_ENGINE)


def _describe_os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    return f"{exc.filename}: {what}" if exc.filename else what


def _fail(message: str, code: int) -> int:
    try:
        print(f"fastapply: {message}", file=sys.stderr)
    except (OSError, ValueError):
        pass  # stderr is gone too; the exit code still tells
    return code
