"""The TUI with a remote model: the same --api-* options as every command, a real server on 127.0.0.1."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from test_remote import PromptRenamer
from test_serve_load import serving
from tui_fakes import make_demo_repo, wait_for

from fastapply.errors import UsageError
from fastapply.tui.app import FastApplyApp


def _args(repo: Path, **remote: Any) -> argparse.Namespace:
    base = dict(path=str(repo), model=None, device=None, dtype=None, max_new_tokens=None, no_history=True,
                api_base=None, api_mode=None, api_key_env=None, tokenizer=None, no_prediction=False)
    return argparse.Namespace(**{**base, **remote})


def test_cli_tui_hands_the_remote_server_to_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapply.cli import tui as cli_tui

    repo = make_demo_repo(tmp_path / "demo")
    seen: dict[str, Any] = {}
    def fake_run(self: FastApplyApp, *args: Any, **kwargs: Any) -> None:
        seen["config"] = self.config

    monkeypatch.setattr(FastApplyApp, "run", fake_run)
    args = _args(repo, api_base="http://127.0.0.1:9/v1", api_mode="completions", tokenizer="default")
    assert cli_tui.main(args) == 0
    config = seen["config"]
    assert config.remote is not None and config.remote.api_base == "http://127.0.0.1:9/v1"
    assert config.remote.mode == "completions" and config.model == ""  # the server's only model
    assert config.project is not None


def test_malformed_remote_options_are_a_usage_error_before_the_screen(tmp_path: Path) -> None:
    from fastapply.cli import tui as cli_tui

    repo = make_demo_repo(tmp_path / "demo")
    with pytest.raises(UsageError):
        cli_tui.main(_args(repo, api_base="not a url"))


async def test_the_app_loads_the_remote_model_and_shows_it_in_the_status_bar(tmp_path: Path) -> None:
    from fastapply.remote.options import resolve_remote
    from fastapply.tui.app import create_app

    repo = make_demo_repo(tmp_path / "demo")
    with serving(PromptRenamer(), name="renamer") as base:
        remote = resolve_remote(api_base=base, api_mode="completions", tokenizer="default", config=None)
        app = create_app(path=repo, model="", remote=remote, history_path=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.model_state != "loading", timeout=30)
            assert app.model_state == "ready", getattr(app, "model_error", "")
            assert app.model_name == "renamer"


async def _switch_to(pilot: Any, typed: str) -> str:
    """Open the model switch, type ``typed``, take the first match; returns its label."""
    from fastapply.tui.screens.finder import FinderScreen
    from textual.widgets import OptionList

    app = pilot.app
    app.action_switch_model()
    await wait_for(pilot, lambda: isinstance(app.screen, FinderScreen))
    await pilot.press(*typed)
    await pilot.pause()
    options = app.screen.query_one(OptionList)
    label = str(options.get_option_at_index(options.highlighted or 0).prompt)
    await pilot.press("enter")
    return label


async def test_the_model_switch_offers_the_configured_server_and_loads_it_remotely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapply.config import Config
    from fastapply.tui.app import create_app

    monkeypatch.setenv("FASTAPPLY_BACKEND", "tui_fakes:plain_backend")  # the local model: the fake
    monkeypatch.delenv("FASTAPPLY_API_BASE", raising=False)
    repo = make_demo_repo(tmp_path / "demo")
    with serving(PromptRenamer(), name="renamer") as base:
        project = Config(api_base=base, api_mode="completions", tokenizer="default")
        app = create_app(path=repo, model="default", project=project, history_path=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.model_state == "ready", timeout=30)
            assert app.model_name == "fake-apply" and app.config.remote is None
            label = await _switch_to(pilot, "remote")
            assert label == f"remote: the server's model @ {base}"
            await wait_for(pilot, lambda: app.model_state != "loading" and app.backend is not None, timeout=30)
            assert app.model_state == "ready", app.model_error
            assert app.model_name == "renamer"  # the server's only model, over HTTP
            assert app.config.remote is not None and app.config.remote.api_base == base
            label = await _switch_to(pilot, "default")  # and back to the local model
            assert label == "default"
            await wait_for(pilot, lambda: app.model_state == "ready" and app.model_name == "fake-apply", timeout=30)
            assert app.config.remote is None


def test_the_switch_lists_no_server_when_none_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapply.config import Config
    from fastapply.tui.config import AppConfig
    from fastapply.tui.model_switch import configured_endpoint, model_choices

    monkeypatch.delenv("FASTAPPLY_API_BASE", raising=False)
    config = AppConfig(model="some/model", project=Config())
    assert configured_endpoint(config) is None
    assert [c.label for c in model_choices(config, ["default"], None)] == ["some/model", "default"]
    monkeypatch.setenv("FASTAPPLY_API_BASE", "http://127.0.0.1:9/v1")  # the environment names one
    endpoint = configured_endpoint(config)
    assert endpoint is not None and endpoint.options.api_base == "http://127.0.0.1:9/v1"
    labels = [c.label for c in model_choices(config, ["default"], endpoint)]
    assert labels == ["some/model", "default", "remote: the server's model @ http://127.0.0.1:9/v1"]


async def test_a_local_choice_loads_locally_even_while_the_environment_names_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapply.tui.app import create_app

    monkeypatch.setenv("FASTAPPLY_BACKEND", "tui_fakes:plain_backend")
    repo = make_demo_repo(tmp_path / "demo")
    app = create_app(path=repo, model="default", history_path=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_state == "ready", timeout=30)
        # without remote=False, load_model would go to this (closed) server and fail
        monkeypatch.setenv("FASTAPPLY_API_BASE", "http://127.0.0.1:9/v1")
        app.switch_model("default")
        assert app.model_state == "loading"
        await wait_for(pilot, lambda: app.model_state in ("ready", "failed"), timeout=30)
        assert app.model_state == "ready" and app.model_name == "fake-apply", app.model_error
        assert app.config.remote is None and app.config.local


