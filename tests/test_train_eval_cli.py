"""`fastapply train eval --kind`: only the edits of the kinds asked are run, and a kind the
held-out set lacks is refused by name before any model loads."""

from __future__ import annotations

import json
import subprocess

import pytest
from train_support import run_train, write_heldout

pytest.importorskip("torch")


def _eval(data, *args: str) -> subprocess.CompletedProcess[str]:
    return run_train("eval", "--data", str(data), "--bench", "0", *args)


@pytest.fixture()
def data(tmp_path):
    return write_heldout(tmp_path)


def test_only_the_kinds_asked_are_evaluated(data, tmp_path) -> None:
    done = _eval(data, "--kind", "noop", "--out", str(tmp_path / "report.json"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["edits"] == 1 and list(report["kinds"]) == ["noop"]


def test_a_kind_the_set_lacks_is_refused_by_name(data) -> None:
    done = _eval(data, "--kind", "noop", "--kind", "add-imports")
    assert done.returncode == 2 and "add-imports" in done.stderr and "Traceback" not in done.stderr
