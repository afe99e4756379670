"""`fastapply train eval --kind`: only the edits of the kinds asked are run, and a kind the
held-out set lacks is refused by name before any model loads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")

CODE = "def add(a, b):\n    return a + b\n\n\ndef twice(x):\n    return add(x, x)\n"


def _eval(data, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fastapply.cli", "train", "eval", "--data", str(data),
                           "--bench", "0", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture()
def data(tmp_path):
    rows = [{"kind": "noop", "instruction": "Make no changes.", "before": CODE, "after": CODE, "path": "m.py", "meta": {}},
            {"kind": "rename-function", "instruction": "Rename add to plus.", "before": CODE,
             "after": CODE.replace("add", "plus"), "path": "m.py", "meta": {}}]
    (tmp_path / "heldout.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_only_the_kinds_asked_are_evaluated(data, tmp_path) -> None:
    done = _eval(data, "--kind", "noop", "--out", str(tmp_path / "report.json"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["edits"] == 1 and list(report["kinds"]) == ["noop"]


def test_a_kind_the_set_lacks_is_refused_by_name(data) -> None:
    done = _eval(data, "--kind", "noop", "--kind", "add-imports")
    assert done.returncode == 2 and "add-imports" in done.stderr and "Traceback" not in done.stderr
