"""`fastapply bench --api-base`: a real endpoint on 127.0.0.1 timed on the same cases as the local methods."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_remote import CODE, RENAMED, PromptRenamer
from test_serve_load import serving

from fastapply.cli.dispatch import main


def test_bench_times_the_endpoint_beside_the_local_methods(tmp_path: Path, capsys: Any) -> None:
    cases = tmp_path / "cases.jsonl"
    case = {"path": "calc.py", "instruction": "Rename the function add to plus.", "before": CODE, "after": RENAMED}
    cases.write_text(json.dumps(case) + "\n")
    backend = PromptRenamer()
    with serving(backend, name="renamer") as base:
        code = main([
            "bench", "--cases", str(cases), "--shape", "tiny", "--methods", "greedy", "--output-format", "json",
            "--api-base", base, "--model", "renamer", "--api-mode", "completions", "--tokenizer", "default",
        ])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["methods"]) == {"greedy"}
    remote = data["remote"]
    assert remote["model"] == "renamer" and remote["matches_after"] == 1
    assert [row["path"] for row in remote["rows"]] == ["calc.py"]
    assert remote["rows"][0]["finish_reason"] == "stop" and remote["rows"][0]["seconds"] > 0
    assert len(backend.requests) == 1  # one request per case, the same case the local methods ran


def test_bench_without_api_base_has_no_remote_section(tmp_path: Path, capsys: Any) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"path": "calc.py", "instruction": "x", "before": CODE, "after": CODE}) + "\n")
    assert main(["bench", "--cases", str(cases), "--shape", "tiny", "--methods", "greedy", "--output-format", "json"]) == 0
    assert "remote" not in json.loads(capsys.readouterr().out)
