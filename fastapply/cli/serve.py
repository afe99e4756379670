"""`fastapply serve`: the model over an OpenAI-compatible HTTP API with Predicted Outputs.

A thin shell over ``fastapply.serve``: checks the bind and the key and binds the port before the
model loads (a non-loopback host without ``--api-key-env`` exits 2, a port it cannot bind exits 4
as any system error), loads the model once, and serves until interrupted. Exit codes:
ARCHITECTURE.md, "Exit codes".
"""

from __future__ import annotations

import argparse
import sys

from fastapply import backend as backends
from fastapply.errors import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need --api-key-env)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--served-model-name", metavar="NAME",
                        help="the model name clients send (default: --model, or 'default')")
    parser.add_argument("--max-queue", type=int, default=8, metavar="N",
                        help="requests that may wait for the model; more are answered 429 (default 8)")
    parser.add_argument("--queue-timeout", type=float, default=120.0, metavar="SECONDS",
                        help="a request waiting longer for the model is answered 503 (default 120)")
    parser.add_argument("--max-body-bytes", type=int, default=8 * 1024 * 1024, metavar="N",
                        help="larger request bodies are answered 413 (default 8 MiB)")


def main(args: argparse.Namespace) -> int:
    from fastapply.cli.model_options import remote_options
    from fastapply.serve.server import BindConfig, bind_socket, check_bind, server_key

    if args.api_base is not None or remote_options(args) is not None:
        raise UsageError("fastapply serve serves a local model; point clients at the remote server instead of --api-base")
    if args.max_queue < 0 or args.queue_timeout <= 0 or args.max_body_bytes <= 0:
        raise UsageError("--max-queue must be 0 or more, --queue-timeout and --max-body-bytes positive")
    bind = BindConfig(args.host, args.port)
    key = server_key(args.api_key_env)  # only the command line names the server's key
    check_bind(bind, key)
    sock = bind_socket(bind)  # a port in use fails now, not after a model load

    from fastapply.serve.app import ServeOptions
    from fastapply.serve.server import serve

    with sock:
        backend = backends.load_model(args.model, device=args.device, dtype=args.dtype)
        name = args.served_model_name or args.model or "default"
        port = sock.getsockname()[1]  # the real one when --port is 0
        print(f"fastapply: serving {name} on http://{bind.host}:{port}/v1 "
              f"({backend.device}, {backend.dtype}){'' if key else ', no API key'}", file=sys.stderr)
        serve(backend, ServeOptions(name, key, args.max_queue, args.queue_timeout, args.max_body_bytes), sock)
    return EXIT_OK
