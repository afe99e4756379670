"""A device or dtype the engine does not know is a usage error (exit 2) before any model loads.

Every command takes ``--device`` and ``--dtype`` (``fastapply.cli.model_options``) and reads them
from the configuration too (``fastapply.config``); both judge by the same names, which are the
names ``fastapply.engine.load`` resolves, checked here against it, without loading torch to judge.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FakeBackend, make_repo, rename_rewrite
from fastapply.cli import main as cli_main
from fastapply.cli.dispatch import COMMANDS, build_parser
from fastapply.config import DEVICE_TYPES, DTYPE_NAMES, ConfigError, device_problem, dtype_problem, load_config

CODE = "def add(a, b):\n    return a + b\n"
RENAME = "Rename the function add to plus."
GOOD_DEVICES = ["cpu", "cuda", "cuda:0", "cuda:1", "cuda:12", "mps", "mps:0", "cpu:0"]
BAD_DEVICES = ["tpu", "CUDA", "Cpu", "cuda:", "cuda:-1", "cuda:01", "cuda:1:2", "cuda:+1", " cuda", "cuda ",
               "cuda:\u0661", "", "gpu", "cuda0"]
BAD_DTYPES = ["int8", "float64", "FLOAT32", "fp8", "half", "torch.float16", " bf16", ""]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", {"a.py": CODE})
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--device", "tpu", "argument --device: must be cpu, cuda, cuda:N or mps, not 'tpu'"),
        ("--dtype", "int8", "argument --dtype: must be one of float32, fp32, bfloat16, bf16, float16, fp16, not 'int8'"),
    ],
)
def test_every_command_refuses_a_bad_value_with_exit_2_and_loads_nothing(
    repo: Path, use_backend, capsys, command: str, option: str, value: str, message: str
) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    with pytest.raises(SystemExit) as exited:
        cli_main([command, option, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err  # about the option, not a missing argument the command also lacks
    assert "Traceback" not in err
    assert use_backend.loads == []


@pytest.mark.parametrize(("option", "value"), [("--device", "tpu"), ("--dtype", "int8")])
def test_run_with_a_bad_value_exits_2_without_the_engine(repo: Path, option: str, value: str) -> None:
    """The real command, no fake backend: before this the engine's load said it, with exit 4."""
    env = {k: v for k, v in os.environ.items() if k not in ("FASTAPPLY_BACKEND", "FASTAPPLY_DEBUG")}
    done = subprocess.run(
        ["fastapply", "run", "a.py", "-m", RENAME, option, value],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"argument {option}: must be" in done.stderr and repr(value) in done.stderr
    assert (repo / "a.py").read_text() == CODE


@pytest.mark.parametrize("device", GOOD_DEVICES)
def test_good_devices_pass_through_unchanged(device: str) -> None:
    args = build_parser().parse_args(["run", "a.py", "-m", RENAME, "--device", device])
    assert args.device == device and device_problem(device) is None


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_every_dtype_name_passes_through_unchanged(dtype: str) -> None:
    args = build_parser().parse_args(["run", "a.py", "-m", RENAME, "--dtype", dtype])
    assert args.dtype == dtype and dtype_problem(dtype) is None


@pytest.mark.parametrize("device", BAD_DEVICES)
def test_bad_devices_have_a_reason_naming_them(device: str) -> None:
    why = device_problem(device)
    assert why is not None and repr(device) in why


@pytest.mark.parametrize("dtype", BAD_DTYPES)
def test_bad_dtypes_have_a_reason_naming_them(dtype: str) -> None:
    why = dtype_problem(dtype)
    assert why is not None and repr(dtype) in why


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('device = "tpu"', "'device' must be cpu, cuda, cuda:N or mps, not 'tpu'"),
        ('dtype = "int8"', "'dtype' must be one of float32, fp32, bfloat16, bf16, float16, fp16, not 'int8'"),
        ('device = "cuda:01"', "'device' must be cpu, cuda, cuda:N or mps, not 'cuda:01'"),
    ],
)
def test_the_config_refuses_a_bad_value_naming_the_file_and_key(tmp_path: Path, line: str, message: str) -> None:
    root = make_repo(tmp_path / "r", {"a.py": CODE})
    (root / ".fastapply.toml").write_text(line + "\n")
    with pytest.raises(ConfigError) as refused:
        load_config(root)
    assert str(refused.value) == f"{root / '.fastapply.toml'}: {message}"


def test_the_config_refuses_a_bad_value_in_pyproject_too(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"a.py": CODE})
    (root / "pyproject.toml").write_text('[tool.fastapply]\ndtype = "int8"\n')
    with pytest.raises(ConfigError, match="pyproject.toml: 'dtype' must be one of"):
        load_config(root)


def test_the_config_keeps_good_values(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"a.py": CODE})
    (root / ".fastapply.toml").write_text('device = "cuda:1"\ndtype = "bf16"\n')
    config = load_config(root)
    assert (config.device, config.dtype) == ("cuda:1", "bf16")


def test_a_bad_config_value_is_exit_2_before_any_load(repo: Path, use_backend, capsys) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    (repo / ".fastapply.toml").write_text('device = "tpu"\n')
    assert cli_main(["run", "a.py", "-m", RENAME]) == 2
    assert "'device' must be cpu, cuda, cuda:N or mps, not 'tpu'" in capsys.readouterr().err
    assert use_backend.loads == [] and (repo / "a.py").read_text() == CODE


def test_the_command_line_still_wins_over_a_good_config(repo: Path, use_backend) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    (repo / ".fastapply.toml").write_text('device = "cuda"\ndtype = "float16"\n')
    assert cli_main(["run", "a.py", "-m", RENAME, "--device", "cpu", "--dtype", "fp32"]) == 0
    (_, kwargs), = use_backend.loads
    assert (kwargs["device"], kwargs["dtype"]) == ("cpu", "fp32")


def test_the_dtype_names_are_the_engines() -> None:
    from fastapply.engine import load

    assert set(DTYPE_NAMES) == set(load._DTYPES)
    for name in DTYPE_NAMES:
        assert load.pick_dtype(load.torch.device("cpu"), name) is load._DTYPES[name]


@pytest.mark.parametrize("device", GOOD_DEVICES)
def test_every_accepted_device_is_one_torch_parses_as_that_type(device: str) -> None:
    from fastapply.engine import load

    parsed = load.torch.device(device)
    assert parsed.type in DEVICE_TYPES and str(parsed) == device


@pytest.mark.parametrize("device", ["tpu", "CUDA", "cuda:", "cuda:-1", "cuda:01", " cuda", "gpu"])
def test_what_torch_cannot_parse_the_engine_calls_unknown_and_so_do_we(device: str) -> None:
    from fastapply.engine import load
    from fastapply.engine.types import EngineError

    with pytest.raises(EngineError, match="unknown device"):
        load.pick_device(device)
    assert device_problem(device) is not None


def test_judging_the_names_loads_no_torch() -> None:
    code = (
        "import sys\n"
        "from fastapply.cli.dispatch import build_parser\n"
        "from fastapply.config import device_problem, dtype_problem\n"
        "assert device_problem('tpu') and dtype_problem('int8')\n"
        "try:\n"
        "    build_parser().parse_args(['run', 'a.py', '-m', 'x', '--device', 'tpu'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 2\n"
        "else:\n"
        "    raise AssertionError('tpu was accepted')\n"
        "loaded = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
