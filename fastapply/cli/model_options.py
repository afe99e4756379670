"""The model options every command takes, and the backend they name, loaded on first use.

``add_model_options`` adds ``--model``, ``--device`` and ``--dtype``, and the remote ones
(``--api-base``, ``--api-key-env``, ``--api-mode``, ``--tokenizer``, ``--no-prediction``) to a
command's parser; a device or dtype the engine does not know is refused while parsing (exit 2, by
the names in ``fastapply.config``, so no torch is loaded to judge them). ``lazy_backend`` turns
the parsed options (``--model``/``--device``/``--dtype`` filled from the configuration by
``dispatch``, which has checked the same names there; the remote ones here: flag, then
configuration, then ``FASTAPPLY_API_BASE``) into a ``LazyBackend``, so a command that finds nothing
to edit never loads a model or opens a connection.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from fastapply import backend as backends
from fastapply.batch import LazyBackend
from fastapply.config import device_problem, dtype_problem
from fastapply.remote.options import API_MODES, RemoteOptions, resolve_remote


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The global model options, accepted by every command."""
    parser.add_argument(
        "--model", help="local path, hub id, or 'default' (embedded model); with --api-base, the server's model name"
    )
    parser.add_argument(
        "--device", type=_checked(device_problem), help="cpu, cuda, cuda:N or mps (default: best available)"
    )
    parser.add_argument(
        "--dtype", type=_checked(dtype_problem),
        help="float32, bfloat16 or float16, or fp32, bf16, fp16 (default: by device)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the model's loading progress on stderr")
    remote = parser.add_argument_group("remote model (an OpenAI-compatible server)")
    remote.add_argument(
        "--api-base", metavar="URL",
        help="the server's base URL, e.g. http://gpu-box:8000/v1 (also: config api_base, FASTAPPLY_API_BASE)",
    )
    remote.add_argument(
        "--api-key-env", metavar="NAME",
        help="environment variable holding the API key (default: OPENAI_API_KEY); for serve, the key clients must send",
    )
    remote.add_argument(
        "--api-mode", choices=API_MODES,
        help="chat (default: messages, the file as a Predicted Output) or completions (the exact prompt, built here)",
    )
    remote.add_argument(
        "--tokenizer", metavar="PATH|HUB_ID",
        help="the remote model's tokenizer, for completions mode (default: the model name)",
    )
    remote.add_argument(
        "--no-prediction", action="store_true", help="chat mode: do not send the file as a Predicted Output"
    )


def _checked(problem: Callable[[str], str | None]) -> Callable[[str], str]:
    """An argparse ``type`` refusing what ``problem`` objects to: exit 2 with the reason, no model loaded."""

    def check(value: str) -> str:
        why = problem(value)
        if why is not None:
            raise argparse.ArgumentTypeError(why)
        return value

    return check


def remote_options(args: argparse.Namespace) -> RemoteOptions | None:
    """The remote server the options (then the configuration, then the environment) name, if any."""
    return resolve_remote(
        api_base=getattr(args, "api_base", None),
        api_mode=getattr(args, "api_mode", None),
        api_key_env=getattr(args, "api_key_env", None),
        tokenizer=getattr(args, "tokenizer", None),
        no_prediction=bool(getattr(args, "no_prediction", False)),
        config=getattr(args, "config", None),
    )


def lazy_backend(args: argparse.Namespace) -> LazyBackend:
    """The model named by the options, loaded (or connected to) on first use.

    Raises ``UsageError`` at once for malformed remote options.
    """
    remote = remote_options(args)
    # Looked up on the module at call time so tests can substitute a fake backend.
    if remote is None:
        return LazyBackend(lambda: backends.load_model(args.model, device=args.device, dtype=args.dtype))
    return LazyBackend(lambda: backends.load_model(args.model, device=args.device, dtype=args.dtype, remote=remote))
