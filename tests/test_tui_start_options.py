"""`fastapply tui`'s checks before the screen: a path that does not exist is named as given, and a
token cap below 1 is refused while parsing (exit 2); the app never opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_repo

from fastapply.cli import main


def _opened(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record instead of opening the app, so a test that wrongly gets that far does not hang."""
    import fastapply.tui.app as app

    opened: list[object] = []
    monkeypatch.setattr(app, "create_app", lambda config: opened.append(config) or _NoApp())
    return opened


class _NoApp:
    def run(self) -> None:
        return None


@pytest.mark.parametrize("name", ["nonexistent", "nonexistent/deeper/still"])
def test_a_missing_path_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], name: str) -> None:
    opened = _opened(monkeypatch)
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    given = str(repo / name)
    assert main(["tui", given]) == 2
    assert capsys.readouterr().err.strip() == f"fastapply: no such file or folder: {given}"
    assert opened == []


@pytest.mark.parametrize("value", ["-5", "0", "x"])
def test_a_token_cap_below_one_is_refused_while_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], value: str) -> None:
    opened = _opened(monkeypatch)
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    with pytest.raises(SystemExit) as exited:
        main(["tui", str(repo), "--max-new-tokens", value])
    assert exited.value.code == 2
    assert "--max-new-tokens" in capsys.readouterr().err
    assert opened == []


def test_a_positive_token_cap_reaches_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _opened(monkeypatch)
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    assert main(["tui", str(repo), "--max-new-tokens", "7"]) == 0
    assert [config.max_new_tokens for config in opened] == [7]
