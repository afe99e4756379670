"""A local model folder whose config.json is broken is reported as that, not as a missing model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fastapply.cli import main
from fastapply.engine.load import load_model
from fastapply.engine.types import EngineError, ModelNotFoundError

CASE = {"path": "a.py", "instruction": "Rename x.", "before": "x = 1\n", "after": "y = 1\n"}
BROKEN = [
    ("not json {", "is not valid JSON"),
    (json.dumps({"hidden_size": 64}), "names no model_type"),
    ("[1]", "is not a model config"),
    (json.dumps({"model_type": None}), "names no model_type"),
]


def _folder(root: Path, config: str) -> Path:
    root.mkdir()
    (root / "config.json").write_text(config)
    (root / "model.safetensors").write_bytes(b"")  # never read: the config is checked first
    return root


@pytest.mark.parametrize(("config", "says"), BROKEN)
def test_a_broken_config_is_named_as_such(tmp_path: Path, config: str, says: str) -> None:
    folder = _folder(tmp_path / "m", config)
    with pytest.raises(EngineError, match=says) as caught:
        load_model(str(folder), device="cpu")
    assert not isinstance(caught.value, ModelNotFoundError)
    assert "config.json" in str(caught.value) and "not found" not in str(caught.value)


@pytest.mark.parametrize(("config", "says"), BROKEN[:2])
def test_the_cli_exits_4_with_the_config_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  config: str, says: str) -> None:
    folder = _folder(tmp_path / "m", config)
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(CASE) + "\n")
    assert main(["bench", "--cases", str(cases), "--model", str(folder), "--methods", "greedy"]) == 4
    err = capsys.readouterr().err
    assert says in err and "not found" not in err and len(err.strip().splitlines()) == 1
