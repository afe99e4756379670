"""The model options every command takes, and the backend they name, loaded on first use.

``add_model_options`` adds ``--model``, ``--device`` and ``--dtype`` to a command's parser;
``lazy_backend`` turns the parsed options (filled from the configuration by ``dispatch``) into a
``LazyBackend``, so a command that finds nothing to edit never loads a model.
"""

from __future__ import annotations

import argparse

from fastapply import backend as backends
from fastapply.batch import LazyBackend


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The global model options, accepted by every command."""
    parser.add_argument("--model", help="local path, hub id, or 'default' (embedded model)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    parser.add_argument("--dtype", help="float32, bfloat16 or float16 (default: by device)")


def lazy_backend(args: argparse.Namespace) -> LazyBackend:
    """The model named by the options, loaded on first use."""
    # Looked up on the module at call time so tests can substitute a fake backend.
    return LazyBackend(lambda: backends.load_model(args.model, device=args.device, dtype=args.dtype))
