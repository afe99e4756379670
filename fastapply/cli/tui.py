"""`fastapply` / `fastapply tui [PATH]`: open the terminal app in the repository holding PATH.

Checks the repository and the configuration before the screen takes over (so a usage error is a
plain message and exit 2), then hands off to ``fastapply.tui``. The model is not loaded here: the
app loads it in the background while the picker is already usable. Textual is imported only when
this subcommand runs, so ``import fastapply`` stays light.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fastapply.cli.numbers import integer
from fastapply.errors import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help="a directory inside the repository (default: .)")
    parser.add_argument(
        "--max-new-tokens", type=integer(1), default=None, help="cap on generated tokens per file"
    )
    parser.add_argument(
        "--no-history", action="store_true", help="do not remember instructions between runs"
    )


def main(args: argparse.Namespace) -> int:
    from fastapply.config import load_project_config
    from fastapply.repo import find_repo

    if not Path(args.path).exists():  # find_repo would name the nearest folder that does exist
        raise UsageError(f"no such file or folder: {args.path}")
    repo = find_repo(Path(args.path))  # UsageError (exit 2) outside a repository
    config = getattr(args, "config", None) or load_project_config(repo.root)
    from fastapply.tui.app import create_app
    from fastapply.tui.config import AppConfig

    from fastapply.cli.model_options import remote_options
    from fastapply.journal import journal_dir

    args.config = config
    remote = remote_options(args)  # UsageError (exit 2) for malformed remote options, before the screen
    history = None if args.no_history else journal_dir(repo.git_dir) / "tui-history.jsonl"
    app = create_app(
        AppConfig(
            path=repo.root,
            # remote: no name means the server's only model
            model=getattr(args, "model", None) or config.model or ("" if remote else "default"),
            device=getattr(args, "device", None) or config.device,
            dtype=getattr(args, "dtype", None) or config.dtype,
            history_path=history,
            max_new_tokens=args.max_new_tokens or config.max_new_tokens,
            allow_deletion=config.allow_deletion,
            max_bytes=config.max_bytes,
            project=config,
            remote=remote,
        )
    )
    code = app.run()
    return EXIT_OK if code is None else int(code)
