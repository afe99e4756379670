"""What the model switch offers: the local models ``fastapply models`` lists, and the remote
server the command line, the configuration or the environment names.

Each choice is what ``fastapply.backend.load_model`` is given: a model spec, and the remote
options for a model on a server (None loads it locally, even while the environment names a
server: the app passes ``remote=False`` then). It reads the app's ``AppConfig``, the local model
listing and the environment; it loads nothing and opens no connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapply.errors import UsageError
from fastapply.remote.options import RemoteOptions, resolve_remote
from fastapply.tui.config import AppConfig

SERVER_MODEL = "the server's model"  # a remote choice with no name: the server's only model


@dataclass(frozen=True)
class ModelChoice:
    label: str  # how the switch lists it
    model: str  # the spec ``load_model`` gets ("" on a server: its only model)
    remote: RemoteOptions | None = None


@dataclass(frozen=True)
class Endpoint:
    """The remote server in force when the app started, and the model it was asked for there."""

    options: RemoteOptions
    model: str = ""


def configured_endpoint(config: AppConfig) -> Endpoint | None:
    """The server the app was started on, else the one the configuration or environment names.

    A malformed configured server is left out here: the CLI reports it before the screen opens.
    """
    if config.remote is not None:
        return Endpoint(config.remote, config.model)
    try:
        options = resolve_remote(config=config.project)
    except UsageError:
        return None
    if options is None:
        return None
    # as the CLI names a remote model: the configuration's model, else the server's only one
    return Endpoint(options, getattr(config.project, "model", None) or "")


def remote_label(endpoint: Endpoint) -> str:
    return f"remote: {endpoint.model or SERVER_MODEL} @ {endpoint.options.api_base}"


def model_choices(config: AppConfig, local: list[str], endpoint: Endpoint | None) -> list[ModelChoice]:
    """The current model first, then the other local specs, then the remote endpoint if any."""
    choices: list[ModelChoice] = []
    if config.remote is None and config.model not in local:
        choices.append(ModelChoice(config.model, config.model))
    choices.extend(ModelChoice(spec, spec) for spec in local)
    if endpoint is not None:
        choices.append(ModelChoice(remote_label(endpoint), endpoint.model, endpoint.options))
    if config.remote is not None:  # on a server now: that choice first, as the current one
        choices.sort(key=lambda c: c.remote is None)
    return choices
