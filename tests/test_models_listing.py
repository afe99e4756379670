"""`fastapply models` lists only cache entries that can be loaded; the others are named on stderr
with the reason, and the TUI's model switch (``local_models``) never offers them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fastapply.cli import main
from fastapply.models import cache_entries, local_models

GOOD = json.dumps({"model_type": "llama"})


def _entry(cache: Path, repo_id: str, files: dict[str, str | None], *, ref: bool = True) -> Path:
    """A hub-cache entry as the hub client lays it out: blobs, refs/main, snapshots/<sha> of links.
    A file given as None is a link to a blob that is not there (a download cut short)."""
    entry = cache / ("models--" + repo_id.replace("/", "--"))
    sha = "0123456789abcdef0123456789abcdef01234567"
    snapshot = entry / "snapshots" / sha
    snapshot.mkdir(parents=True)
    (entry / "blobs").mkdir()
    if ref:
        (entry / "refs").mkdir()
        (entry / "refs" / "main").write_text(sha)
    for number, (name, text) in enumerate(files.items()):
        blob = entry / "blobs" / f"blob{number}"
        if text is not None:
            blob.write_text(text)
        (snapshot / name).symlink_to(Path("..", "..", "blobs", blob.name))
    return entry


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    _entry(cache, "org/good", {"config.json": GOOD, "model.safetensors": "w"})
    _entry(cache, "org/no-config", {"model.safetensors": "w"})
    _entry(cache, "org/not-json", {"config.json": "{oops", "model.safetensors": "w"})
    _entry(cache, "org/no-type", {"config.json": "{}", "model.safetensors": "w"})
    _entry(cache, "org/list", {"config.json": "[1]", "model.safetensors": "w"})
    _entry(cache, "org/bin-only", {"config.json": GOOD, "pytorch_model.bin": "w"})
    _entry(cache, "org/cut-short", {"config.json": GOOD, "model.safetensors": None})
    _entry(cache, "org/no-ref", {"config.json": GOOD, "model.safetensors": "w"}, ref=False)
    return cache


def test_only_loadable_cache_entries_are_offered(cache: Path) -> None:
    assert [spec for spec, _ in local_models()] == ["default", "org/good"]
    problems = {entry.spec: entry.problem for entry in cache_entries()}
    assert problems == {
        "org/bin-only": "no safetensors weights (only safetensors are loaded)",
        "org/cut-short": "no safetensors weights (only safetensors are loaded)",
        "org/good": None,
        "org/list": "config.json is not a model config (a JSON object)",
        "org/no-config": "no config.json",
        "org/no-ref": "no snapshot of main in the cache",
        "org/no-type": "config.json names no model_type, so transformers cannot tell which model it is",
        "org/not-json": "config.json is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
    }


def test_the_command_prints_usable_models_and_names_the_rest_on_stderr(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["default", "org/good"]
    skipped = err.splitlines()
    assert len(skipped) == 7 and all(line.startswith("skipped org/") for line in skipped)
    assert any("org/no-config" in line and "no config.json" in line for line in skipped)
    assert main(["models", "--paths"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"org/good\t{cache / 'models--org--good'}"
