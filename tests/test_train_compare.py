"""`fastapply train compare`: the card's shipping rule. A candidate ships only when it is at least
as good on every figure of a real `train eval` report and better on one; reports of different
edits are refused, and no traceback reaches the user."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from train_support import run_train as _cli
from train_support import write_heldout

from fastapply.train.compare import compare, format_comparison

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict[str, Any]:
    """A real report of the default model on one no-op and one rename."""
    folder = write_heldout(tmp_path_factory.mktemp("eval"))
    done = _cli("eval", "--data", str(folder), "--bench", "1", "--out", str(folder / "report.json"))
    assert done.returncode == 0, done.stderr
    return json.loads((folder / "report.json").read_text())


def _rename_solved(report: dict[str, Any], line_accuracy: float = 1.0) -> dict[str, Any]:
    better = copy.deepcopy(report)
    case = next(c for c in better["cases"] if c["kind"] == "rename-function")
    case["line_accuracy"] = line_accuracy
    kind = better["kinds"]["rename-function"]
    kind["exact_match"], kind["line_accuracy"], kind["closed"] = 1.0, line_accuracy, 1
    better["exact_match"] = (better["kinds"]["noop"]["exact_match"] + 1.0) / 2
    better["line_accuracy"] = (better["kinds"]["noop"]["line_accuracy"] + line_accuracy) / 2
    return better


def test_the_same_model_does_not_ship(report) -> None:
    result = compare(report, report)
    assert not result.ship and not result.worse and not result.better
    assert "speculative forwards on the timed renames" in {f.name for f in result.figures}
    assert format_comparison(result).endswith("ship: no (better on no figure)")


def test_better_on_one_kind_and_no_worse_ships(report) -> None:
    assert report["kinds"]["rename-function"]["exact_match"] == 0.0  # the default model does not rename
    result = compare(report, _rename_solved(report))
    assert result.ship, format_comparison(result)
    assert "rename-function exact match" in {f.name for f in result.better}
    assert result.cases_better == 1 and result.cases_worse == 0


def test_better_overall_but_worse_on_one_kind_does_not_ship(report) -> None:
    candidate = _rename_solved(report)
    candidate["kinds"]["noop"]["closed"] -= 1
    result = compare(report, candidate)
    assert not result.ship and "rename-function exact match" in {f.name for f in result.better}
    assert "noop closed" in {f.name for f in result.worse}
    assert "noop closed" in format_comparison(result).splitlines()[-1]


def test_more_forwards_on_the_timed_renames_is_worse(report) -> None:
    candidate = _rename_solved(report)
    candidate["speed"]["speculative"]["forwards"] += 1
    assert [f.name for f in compare(report, candidate).worse] == ["speculative forwards on the timed renames"]


def test_reports_of_different_edits_are_refused(report) -> None:
    fewer = copy.deepcopy(report)
    fewer["cases"] = fewer["cases"][:1]
    with pytest.raises(ValueError, match="different edits: 2 against 1"):
        compare(report, fewer)
    moved = copy.deepcopy(report)
    moved["cases"][1]["path"] = "other.py"
    with pytest.raises(ValueError, match="edit 2 is rename-function m.py"):
        compare(report, moved)
    torn = copy.deepcopy(report)
    del torn["kinds"]["noop"]["closed"]
    with pytest.raises(ValueError, match="lacks a figure"):
        compare(report, torn)


def test_the_cli_exits_0_to_ship_1_not_to_and_2_on_bad_input(report, tmp_path: Path) -> None:
    base, good, bad = tmp_path / "base.json", tmp_path / "good.json", tmp_path / "bad.json"
    base.write_text(json.dumps(report))
    good.write_text(json.dumps(_rename_solved(report)))
    bad.write_text("{not json")
    shipped = _cli("compare", str(base), str(good))
    assert shipped.returncode == 0 and "ship: yes" in shipped.stdout, shipped.stderr
    kept = _cli("compare", str(good), str(base))
    assert kept.returncode == 1 and "ship: no (worse on" in kept.stdout
    for args, message in (((str(base), str(bad)), "is not a JSON report"),
                          ((str(base), str(tmp_path / "none.json")), "cannot read"),
                          ((str(base), str(tmp_path)), "cannot read")):
        done = _cli("compare", *args)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
