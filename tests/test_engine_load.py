"""Loading by local path, clear errors when nothing loadable is there, and a light core import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_support import tiny_model

from fastapply.engine.load import load_model, pick_dtype
from fastapply.engine.types import EngineError, ModelNotFoundError


def test_saved_model_loads_by_path_with_its_tokenizer(tmp_path: Path) -> None:
    lm = tiny_model("qwen2")
    lm.model.save_pretrained(tmp_path)
    lm.tokenizer.save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path), device="cpu")
    assert loaded.model.config.model_type == "qwen2"
    assert loaded.dtype == pick_dtype(loaded.device)
    assert loaded.tokenizer.encode("def f():") == lm.tokenizer.encode("def f():")


def test_truncated_weights_are_an_engine_error_and_the_cli_exits_4_without_a_traceback(tmp_path: Path) -> None:
    lm = tiny_model("llama")
    lm.model.save_pretrained(tmp_path / "m")
    lm.tokenizer.save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(EngineError, match="damaged or cut short"):
        load_model(str(tmp_path / "m"), device="cpu")
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "a.py").write_text("x = 1\n")
    done = subprocess.run(
        [sys.executable, "-m", "fastapply.cli", "run", "a.py", "-m", "Rename x to y.", "--model", str(tmp_path / "m")],
        cwd=repo, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 4, done.stderr
    assert "damaged or cut short" in done.stderr and "Traceback" not in done.stderr
    assert (repo / "a.py").read_text() == "x = 1\n"


def test_a_dtype_declared_in_config_json_is_the_default_and_an_explicit_one_wins(tmp_path: Path) -> None:
    import json

    import torch

    from fastapply.engine.assets import COMPUTE_DTYPE_KEY

    lm = tiny_model("llama")
    lm.model.save_pretrained(tmp_path)
    lm.tokenizer.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, COMPUTE_DTYPE_KEY: "bfloat16"}))
    assert load_model(str(tmp_path), device="cpu").dtype == torch.bfloat16  # fp32 is the CPU default
    assert load_model(str(tmp_path), device="cpu", dtype="float32").dtype == torch.float32


def test_missing_folder_names_what_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_model(str(tmp_path / "nope"))


def test_folder_without_safetensors_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="safetensors"):
        load_model(str(tmp_path))


def test_unknown_hub_id_offline_fails_with_the_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="no-such-org/no-such-model"):
        load_model("no-such-org/no-such-model")


def test_uncached_hub_id_fails_at_once_when_the_hub_is_unreachable(tmp_path: Path) -> None:
    # The hub client retries for ~50 s before giving up; one failed connection must be enough.
    code = (
        "from fastapply.engine.load import load_model\n"
        "try:\n    load_model('no-such-org/no-such-model')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path), "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=40)
    assert out.stdout.startswith("ModelNotFoundError"), out.stdout + out.stderr
    assert "no-such-org/no-such-model" in out.stdout and "127.0.0.1:9 cannot be reached" in out.stdout
    assert "Retrying" not in out.stderr


def test_bad_device_and_dtype_are_clear_errors() -> None:
    with pytest.raises(EngineError, match="dtype"):
        load_model("default", dtype="float8")
    with pytest.raises(EngineError, match="cuda:7|CUDA|device"):
        load_model("default", device="cuda:7" if not __import__("torch").cuda.is_available() else "nonsense")


def test_no_top_level_engine_kernels_or_tui_packages() -> None:
    """The install maps the three folders under ``fastapply`` only. (A package of another
    distribution may take one of the names: transformers 5.25 requires the PyPI ``kernels``.)"""
    code = (
        "import importlib.util as u, sys\n"
        "found = {n: u.find_spec(n) for n in ('engine', 'kernels', 'tui')}\n"
        "places = {n: [s.origin, *(s.submodule_search_locations or [])] for n, s in found.items() if s}\n"
        "print([n for n, ps in places.items() if any(p and p.startswith(sys.argv[1] + '/' + n) for p in ps)])\n"
    )
    checkout = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code, checkout], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == "[]"
