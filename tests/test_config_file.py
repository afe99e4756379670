"""A config file that is there but cannot be used is refused (exit 2), never skipped: configured
checks that silently stopped running would let unchecked code be written. Nothing may hang on a
FIFO or read a device forever, and a bad number in a check is refused when the file is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastapply.cli import main
from fastapply.config import ConfigError, load_config


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # find_config_file stops at the repository root
    return tmp_path


def _make(kind: str, path: Path) -> None:
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "dangling":
        path.symlink_to(path.parent / "nowhere.toml")
    elif kind == "loop":
        path.symlink_to(path)


@pytest.mark.parametrize("name", [".fastapply.toml", "pyproject.toml"])
@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "dangling", "loop"])
def test_a_config_name_that_is_not_a_readable_file_is_refused_without_reading_it(
        root: Path, name: str, kind: str) -> None:
    _make(kind, root / name)
    # in a child process with a deadline, so a read that blocks on the FIFO fails the test
    code = "import sys; from fastapply.config import load_config; load_config(sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "ConfigError" in done.stderr and name in done.stderr, done.stderr


def test_a_folder_named_like_the_config_does_not_let_pyproject_govern(root: Path) -> None:
    (root / ".fastapply.toml").mkdir()
    (root / "pyproject.toml").write_text('[tool.fastapply]\nmodel = "default"\n')
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(root)


@pytest.mark.parametrize(("text", "says"), [
    ("a=" + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("\ufeffmodel = 'default'\n", "byte-order mark"),
    ("[tool.fastaply]\nmodel = 'default'\n", "did you mean 'tool.fastapply'"),
])
def test_a_config_that_cannot_be_parsed_says_why(root: Path, text: str, says: str) -> None:
    (root / ".fastapply.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=says):
        load_config(root)


@pytest.mark.parametrize("timeout", ["nan", "inf", "-inf", "1e308", "9223372036854775807", "0", "-1"])
def test_a_check_timeout_that_is_not_a_usable_number_of_seconds_is_refused(root: Path, timeout: str) -> None:
    (root / ".fastapply.toml").write_text(f'[[check]]\nrun = "true"\ntimeout = {timeout}\n')
    with pytest.raises(ConfigError, match="timeout' must be positive seconds"):
        load_config(root)


def test_max_attempts_is_capped_in_the_file_and_on_the_command_line(
        root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (root / ".fastapply.toml").write_text("max_attempts = 101\n")
    with pytest.raises(ConfigError, match="at most 100"):
        load_config(root)
    (root / ".fastapply.toml").write_text("max_attempts = 100\n")
    assert load_config(root).max_attempts == 100
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "a.py").write_text("x = 1\n")
    monkeypatch.chdir(root)
    assert main(["run", "a.py", "-m", "Rename x to y.", "--max-attempts", "99999999999999999999"]) == 2
    assert "--max-attempts must be from 1 to 100" in capsys.readouterr().err
