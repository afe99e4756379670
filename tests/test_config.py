"""Configuration files: where they are found, what they may say, and that the command line wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FakeBackend, make_repo, rename_rewrite
from fastapply.cli import main as cli_main
from fastapply.config import ConfigError, HookEntry, load_config

CODE = "def add(a, b):\n    return a + b\n"


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    config = load_config(repo)
    assert config.path is None and config.model is None and config.hooks == []


def test_pyproject_table_is_read_from_a_subdirectory(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"pkg/a.py": CODE})
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.fastapply]\nmodel = "some/model"\ndtype = "bfloat16"\nmax_bytes = 1234\n'
        '[[tool.fastapply.hook]]\ninstruction = "Rename the function add to plus."\nfiles = "*.py"\n'
    )
    config = load_config(repo / "pkg")
    assert (config.model, config.dtype, config.max_bytes) == ("some/model", "bfloat16", 1234)
    assert config.hooks == [HookEntry("Rename the function add to plus.", "*.py")]
    assert config.path == repo / "pyproject.toml"


def test_dot_fastapply_toml_wins_and_accepts_top_level_keys(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / "pyproject.toml").write_text('[tool.fastapply]\nmodel = "from-pyproject"\n')
    (repo / ".fastapply.toml").write_text('model = "from-own-file"\n[[hook]]\ninstruction = "x"\n')
    config = load_config(repo)
    assert config.model == "from-own-file" and config.hooks[0].files == "*"


def test_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".fastapply.toml").write_text('model = "outside"\n')
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    assert load_config(repo).model is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model = \n", "invalid TOML"),
        ('modle = "x"\n', "unknown key(s): modle (did you mean model?)"),
        ('max_attempt = 2\n', "max_attempt (did you mean max_attempts?)"),
        ("model = 3\n", "'model' must be a string"),
        ("max_bytes = -1\n", "must be positive"),
        ("max_new_tokens = true\n", "'max_new_tokens' must be an integer"),
        ('[[hook]]\nfiles = "*.py"\n', "needs an 'instruction'"),
        ('[[hook]]\ninstruction = "x"\nglob = "*"\n', "unknown key(s) in hook[0]: glob"),
        ('hook = "x"\n', "'hook' must be a list"),
        ('[[hook]]\ninstruction = "x"\nfiles = "[*.py"\n', "hook[0].files: '[*.py' is not a valid glob"),
        ('[[hook]]\ninstruction = "x"\nexclude = "!tests"\n', "hook[0].exclude: '!tests': negated globs"),
        ('api_mode = "chatty"\n', "'api_mode' must be one of chat, completions"),
        ('api_base = "localhost:8000"\n', "'api_base' must be an http:// or https:// URL"),
        ('api_key_env = "MY KEY"\n', "'api_key_env' must name an environment variable"),
        ('tokenizer = 7\n', "'tokenizer' must be a string"),
        ('max_attempts = 0\n', "'max_attempts' must be positive"),
        ('[[check]]\nfiles = "*.py"\n', "check[0] needs a 'run' command"),
        ('[[check]]\nrun = "ruff {file}"\ntimeout = "10"\n', "'check[0].timeout' must be an integer or a number"),
        ('[[check]]\nrun = "ruff {file}"\ntimeout = 0\n', "'check[0].timeout' must be positive"),
        ('[[check]]\nrun = "ruff {file}"\ncmd = "x"\n', "unknown key(s) in check[0]: cmd"),
    ],
)
def test_invalid_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / ".fastapply.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(repo)
    assert message in str(caught.value) and ".fastapply.toml" in str(caught.value)


def test_invalid_file_makes_the_cli_exit_2_without_writing(tmp_path: Path, monkeypatch, use_backend, capsys) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / ".fastapply.toml").write_text("model = [\n")
    monkeypatch.chdir(repo)
    use_backend(FakeBackend(rewrite=rename_rewrite))
    assert cli_main(["run", "a.py", "-m", "Rename add to plus"]) == 2
    assert ".fastapply.toml: invalid TOML" in capsys.readouterr().err
    assert (repo / "a.py").read_text() == CODE


def test_command_line_overrides_the_file(tmp_path: Path, monkeypatch, use_backend) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / ".fastapply.toml").write_text('model = "file-model"\ndevice = "cpu"\nmax_new_tokens = 50\n')
    monkeypatch.chdir(repo)
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    cli_main(["run", "a.py", "-m", "Rename add to plus", "--check"])
    cli_main(["run", "--model", "flag-model", "--max-new-tokens", "9", "a.py", "-m", "Rename add to plus", "--check"])
    (first_args, first_kwargs), (second_args, second_kwargs) = use_backend.loads
    assert first_args == ("file-model",) and first_kwargs["device"] == "cpu"
    assert second_args == ("flag-model",)
    assert [r.max_new_tokens for r in fake.requests] == [50, 9]


def test_size_limit_from_the_file_applies(tmp_path: Path, monkeypatch, use_backend, capsys) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / ".fastapply.toml").write_text("max_bytes = 10\n")
    monkeypatch.chdir(repo)
    use_backend(FakeBackend(rewrite=rename_rewrite))
    assert cli_main(["run", "a.py", "-m", "Rename add to plus"]) == 3
    assert "too large" in capsys.readouterr().out


def test_hook_entry_globs_match_paths_and_names() -> None:
    entry = HookEntry("x", "*.py", exclude="tests/*")
    assert entry.matches("a.py") and entry.matches("pkg/deep/a.py")
    assert not entry.matches("tests/a.py") and not entry.matches("a.txt")
    assert HookEntry("x", "src/*.py").matches("src/a.py") and not HookEntry("x", "src/*.py").matches("a.py")


@pytest.mark.parametrize(
    "pyproject",
    [
        '[ tool.fastapply ]\nmodel = "spaced"\n',
        '[tool]\nfastapply.model = "spaced"\n',
        '[tool]\nfastapply = { model = "spaced" }\n',
        '[tool.other]\nx = 1\n[tool."fastapply"]\nmodel = "spaced"\n',
    ],
)
def test_pyproject_table_is_found_however_toml_spells_it(tmp_path: Path, pyproject: str) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / "pyproject.toml").write_text(pyproject)
    config = load_config(repo)
    assert config.model == "spaced" and config.path == repo / "pyproject.toml"


def test_dotted_hook_tables_under_tool_are_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / "pyproject.toml").write_text('[tool]\nfastapply.hook = [{instruction = "x", files = "src/**/*.py"}]\n')
    [entry] = load_config(repo).hooks
    assert entry.matches("src/a.py") and entry.matches("src/b/c.py") and not entry.matches("a.py")


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ('[tool.fastaply]\nmodel = "x"\n', "unknown table 'tool.fastaply' (did you mean 'tool.fastapply'?)"),
        ('[tool.fast-apply]\nmodel = "x"\n', "unknown table 'tool.fast-apply'"),
        ('[tool.fastapply]\nmodle = "x"\n', "modle (did you mean model?)"),
        ('[tool.fastapply]\nmodel = \n', "invalid TOML"),
        ('[tool]\nfastapply = "x"\n', "'tool.fastapply' must be a table"),
    ],
)
def test_pyproject_mistakes_are_errors_naming_the_file(tmp_path: Path, pyproject: str, message: str) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / "pyproject.toml").write_text(pyproject)
    with pytest.raises(ConfigError) as caught:
        load_config(repo)
    assert message in str(caught.value) and "pyproject.toml" in str(caught.value)


def test_a_broken_pyproject_without_fastapply_is_not_ours_to_judge(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / "pyproject.toml").write_text("[project\nname = 1\n")
    assert load_config(repo).path is None


def test_api_keys_and_checks_are_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE})
    (repo / "pyproject.toml").write_text(
        '[tool.fastapply]\napi_base = "http://127.0.0.1:8000/v1"\napi_mode = "completions"\n'
        'api_key_env = "MY_KEY"\ntokenizer = "Qwen/Qwen2.5-Coder-1.5B"\nmax_attempts = 2\n'
        '[[tool.fastapply.check]]\nrun = "ruff check {file}"\nfiles = "*.py"\ntimeout = 5\n'
    )
    config = load_config(repo)
    assert (config.api_base, config.api_mode, config.api_key_env) == ("http://127.0.0.1:8000/v1", "completions", "MY_KEY")
    assert config.tokenizer == "Qwen/Qwen2.5-Coder-1.5B" and config.max_attempts == 2
    [check] = config.checks
    assert (check.run, check.timeout) == ("ruff check {file}", 5.0) and check.matches("pkg/a.py")


def test_the_tomli_fallback_is_gone() -> None:
    import fastapply.config as module

    assert "tomli" not in Path(module.__file__).read_text().replace("tomllib", "")
