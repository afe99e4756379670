"""The bench: cases from JSONL and git history, replay reproduces each case, JSON has its shape."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import git, make_repo
from engine_support import SAMPLE, tiny_model

from fastapply.cli import main
from fastapply.engine.api import Engine, EngineConfig
from fastapply.engine.bench.cases import BenchCase, load_cases
from fastapply.engine.bench.harness import run_bench
from fastapply.history import mine_git
from fastapply.engine.drafter import DraftConfig

AFTER = SAMPLE.replace("add(", "plus(")


def _cases() -> list[BenchCase]:
    return [
        BenchCase("sample.py", "Rename add to plus.", SAMPLE, AFTER),
        BenchCase("sample.py", "Remove the print.", SAMPLE, SAMPLE.replace("    print(total([1, 2, 3]))\n", "")),
    ]


def test_replay_reproduces_every_case_with_every_method() -> None:
    engine = Engine(tiny_model("llama"), EngineConfig(draft=DraftConfig(start=8, cap=64)))
    report = run_bench(engine, _cases(), replay=True)
    data = report.to_dict()
    assert set(data) == {
        "cases", "model", "device", "dtype", "replay", "methods", "speedup", "oracle_forwards",
        "oracle_forwards_capped", "draft_cap", "rows", "skipped"
    }
    assert data["draft_cap"] == 64
    assert data["skipped"] == []
    assert [set(row["methods"]) for row in data["rows"]] == [set(data["methods"])] * 2
    for row in data["rows"]:  # no lookup drafter beats the bound (the drafter also knows the close marker)
        assert 0 < row["oracle_forwards"] <= row["oracle_forwards_capped"] <= row["methods"]["speculative"]["forwards"] + 1
        assert row["methods"]["speculative"]["forwards"] <= row["methods"]["prompt-lookup"]["forwards"]
    assert data["oracle_forwards"] == sum(row["oracle_forwards"] for row in data["rows"])
    assert set(data["speedup"]) == {"speculative_vs_greedy", "speculative_vs_prompt_lookup"}
    for name, totals in data["methods"].items():
        assert set(totals) == {"tokens", "forwards", "seconds", "tokens_per_second", "identical_to_greedy"}
        assert totals["identical_to_greedy"], name
    spec, greedy = report.methods["speculative"], report.methods["greedy"]
    assert spec.tokens == greedy.tokens
    assert spec.forwards * 4 < greedy.forwards  # copying the file needs few forwards


def test_replay_skips_a_case_whose_new_text_holds_the_close_marker_and_says_so() -> None:
    engine = Engine(tiny_model("llama"), EngineConfig(draft=DraftConfig(start=8, cap=64)))
    marker = SAMPLE + 'CLOSE = "</updated-code>"\n'
    cases = [*_cases()[:1], BenchCase("prompts.py", "Add the close marker.", SAMPLE, marker)]
    report = run_bench(engine, cases, methods=("greedy", "speculative"), replay=True)
    assert report.cases == 1 and [row.path for row in report.rows] == ["sample.py"]
    assert len(report.skipped) == 1 and "prompts.py" in report.skipped[0] and "stop token" in report.skipped[0]
    assert all(t.identical_to_greedy for t in report.methods.values())


def test_replay_skips_a_case_that_does_not_fit_the_context() -> None:
    engine = Engine(tiny_model("llama"), EngineConfig(draft=DraftConfig(start=8, cap=64)))
    big = SAMPLE * (engine.max_context // max(1, engine.count_tokens(SAMPLE)))
    cases = [*_cases()[:1], BenchCase("big.py", "Grow.", SAMPLE, big)]
    report = run_bench(engine, cases, methods=("greedy",), replay=True)
    assert [row.path for row in report.rows] == ["sample.py"]
    assert len(report.skipped) == 1 and "big.py" in report.skipped[0] and "context" in report.skipped[0]


def test_load_cases_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"path": "a", "instruction": "b", "before": "c", "after": "d"}) + "\n{\"path\": 1}\n")
    with pytest.raises(ValueError, match=":2: missing"):
        load_cases(path)


def test_mine_git_keeps_one_file_commits(tmp_path: Path) -> None:
    body = "".join(f"x{i} = {i}\n" for i in range(120))
    repo = make_repo(tmp_path / "r", {"a.py": body, "b.py": body})
    (repo / "a.py").write_text(body.replace("x5 = 5", "x5 = 50"))
    git(repo, "commit", "-qam", "Set x5 to 50.")
    (repo / "a.py").write_text(body)
    (repo / "b.py").write_text(body.replace("x7 = 7", "x7 = 70"))
    git(repo, "commit", "-qam", "Two files at once.")
    cases = mine_git(repo, "HEAD")
    assert [c.instruction for c in cases] == ["Set x5 to 50."]
    assert cases[0].before == body and "x5 = 50" in cases[0].after


def test_cli_bench_json_on_tiny_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(_cases()[0].to_json() + "\n")
    code = main(["bench", "--cases", str(path), "--shape", "tiny", "--replay", "--output-format", "json",
                 "--methods", "greedy,speculative"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["replay"] is True and data["cases"] == 1
    assert data["methods"]["speculative"]["identical_to_greedy"] is True


def test_cli_bench_text_names_both_lookup_bounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(_cases()[0].to_json() + "\n")
    assert main(["bench", "--cases", str(path), "--shape", "tiny", "--replay", "--methods", "speculative"]) == 0
    out = capsys.readouterr().out
    assert "lookup bound (an oracle drafter knowing each answer)" in out
    assert "lookup bound held to the drafter's width cap (" in out and "tokens):" in out
    assert "forwards per case" not in out  # one case: the totals are its row


def test_cli_bench_text_puts_each_case_beside_its_bound(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.jsonl"
    cases = [dataclasses.replace(case, path=f"case{i}.py") for i, case in enumerate(_cases())]
    path.write_text("".join(case.to_json() + "\n" for case in cases))
    assert main(["bench", "--cases", str(path), "--shape", "tiny", "--replay", "--methods", "speculative",
                 "--output-format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert main(["bench", "--cases", str(path), "--shape", "tiny", "--replay", "--methods", "speculative"]) == 0
    out = capsys.readouterr().out
    assert "forwards per case" in out
    for row in rows:
        spec, bound = row["methods"]["speculative"]["forwards"], row["oracle_forwards_capped"]
        line = next(line for line in out.splitlines() if row["path"] in line)
        assert f"{spec / bound:.2f}x" in line and str(bound) in line


def test_cli_bench_without_cases_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--shape", "tiny"]) == 2
    assert "--cases" in capsys.readouterr().err
