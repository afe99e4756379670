"""Starting the server: who may bind where, where the key comes from, the socket, and the uvicorn run.

Binding anything but loopback without an API key is refused (``UsageError``, exit 2) before the
model loads; a port that cannot be bound fails before it too (``bind_socket`` raises an ``OSError``
that names the address). ``serve`` loads nothing itself: it takes a ready backend and the bound
socket, which uvicorn listens on, and blocks until uvicorn stops. Knows uvicorn, sockets and
environment variables, not routes.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from fastapply.backend import Backend
from fastapply.errors import UsageError
from fastapply.serve.app import ServeOptions, create_app

LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


@dataclass(slots=True)
class BindConfig:
    host: str = "127.0.0.1"
    port: int = 8000


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def server_key(key_env: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The key clients must present, from the variable ``key_env`` names; None when none is named.

    Raises:
        UsageError: the variable is named but unset or empty.
    """
    if key_env is None:
        return None
    key = environ.get(key_env, "").strip()
    if not key:
        raise UsageError(f"--api-key-env names {key_env}, but {key_env} is not set (or empty)")
    return key


def check_bind(bind: BindConfig, key: str | None) -> None:
    """Raises ``UsageError`` for a bind that would expose the model without a key, or a bad port."""
    if not 0 <= bind.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {bind.port}")
    if key is None and not is_loopback(bind.host):
        raise UsageError(
            f"refusing to serve on {bind.host} without an API key: anyone who can reach it could use the "
            "model; set a key in an environment variable and pass --api-key-env NAME, or bind 127.0.0.1"
        )


def bind_socket(bind: BindConfig) -> socket.socket:
    """A TCP socket bound to ``bind``, not yet listening (a client meanwhile is refused, not kept waiting).

    Raises:
        OSError: ``cannot listen on HOST:PORT: <reason>`` (the port in use, an address not here...).
    """
    host = bind.host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a restart reuses the port
        sock.bind((host, bind.port))
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        raise OSError(exc.errno, f"cannot listen on {bind.host}:{bind.port}: {reason}") from None
    return sock


def serve(backend: Backend, options: ServeOptions, sock: socket.socket) -> None:
    """Serve on ``sock`` (from ``bind_socket``) until interrupted (uvicorn handles SIGINT and SIGTERM)."""
    import uvicorn

    config = uvicorn.Config(create_app(backend, options), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
