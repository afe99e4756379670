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
