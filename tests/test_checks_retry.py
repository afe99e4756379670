"""Check and retry through the CLI: a failing rewrite is fed back and redone, never written failing.

A scripted backend answers each attempt in turn; the subject is the loop, not the model.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import pytest

from conftest import ScriptedBackend, git, make_repo
from fastapply.cli import main as cli_main

CODE = "def add(a, b):\n    return a + b\n"
BROKEN = "def plus(a, b)\n    return a + b\n"  # the colon is missing
FIXED = "def plus(a, b):\n    return a + b\n"
RENAME = "Rename the function add to plus."


def _py(code: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def _toml(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", {"a.py": CODE, "b.py": CODE, "notes.txt": "add\n"})
    monkeypatch.chdir(root)
    return root


def _state(repo: Path) -> tuple[bytes, ...]:
    files = tuple(p.read_bytes() for p in sorted(repo.rglob("*")) if p.is_file() and ".git" not in p.parts)
    return (*files, (repo / ".git" / "index").read_bytes(), git(repo, "rev-parse", "HEAD").encode())


def _run_json(*argv: str) -> tuple[int, dict]:
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = cli_main(["run", *argv, "--output-format", "json"])
    return code, json.loads(buffer.getvalue())


def test_a_rewrite_that_does_not_parse_is_retried_with_the_parsers_message_and_drafted_from(repo: Path, use_backend) -> None:
    backend = ScriptedBackend([BROKEN, FIXED])
    use_backend(backend)
    code, data = _run_json("a.py", "-m", RENAME)
    [record] = data["files"]
    assert code == 0 and record["status"] == "changed" and record["written"] and record["attempts"] == 2
    assert (repo / "a.py").read_text() == FIXED
    assert [(c["attempt"], c["name"], c["ok"]) for c in record["checks"]] == [(1, "parse:python", False), (2, "parse:python", True)]
    first, second = backend.requests
    assert first.instruction == RENAME and first.prediction is None
    assert second.instruction.startswith(RENAME) and "a.py:1:" in second.instruction
    assert "expected ':'" in second.instruction and record["checks"][0]["output"] in second.instruction
    assert second.prediction == BROKEN  # the retry drafts from the failed candidate


def test_a_check_that_always_fails_writes_nothing_exits_5_and_reports_every_attempt(repo: Path, use_backend, capsys) -> None:
    backend = ScriptedBackend([BROKEN])
    use_backend(backend)
    before = _state(repo)
    code, data = _run_json("a.py", "-m", RENAME)
    [record] = data["files"]
    assert code == 5 and data["summary"]["exit_code"] == 5 and data["summary"]["check-failed"] == 1
    assert record["status"] == "check-failed" and not record["written"] and record["attempts"] == 3
    assert [c["attempt"] for c in record["checks"]] == [1, 2, 3] and not any(c["ok"] for c in record["checks"])
    assert "checks failed (parse:python) after 3 attempts; nothing written" == record["reason"]
    assert len(backend.requests) == 3 and _state(repo) == before
    capsys.readouterr()
    cli_main(["undo"])
    assert "nothing to undo" in capsys.readouterr().err and _state(repo) == before


def test_max_attempts_bounds_the_loop_and_text_output_shows_the_failure(repo: Path, use_backend, capsys) -> None:
    backend = ScriptedBackend([BROKEN])
    use_backend(backend)
    assert cli_main(["run", "a.py", "-m", RENAME, "--max-attempts", "1"]) == 5
    out = capsys.readouterr().out
    assert len(backend.requests) == 1
    assert "a.py: check-failed: checks failed (parse:python) after 1 attempt; nothing written" in out
    assert "attempt 1: parse:python failed: a.py:1:" in out and "1 check-failed" in out


def test_no_checks_writes_what_the_model_said(repo: Path, use_backend) -> None:
    use_backend(ScriptedBackend([BROKEN]))
    code, data = _run_json("a.py", "-m", RENAME, "--no-checks")
    assert code == 0 and data["files"][0]["checks"] == [] and data["files"][0]["checks_passed"] is None
    assert (repo / "a.py").read_text() == BROKEN


def test_write_failing_writes_the_last_candidate_on_request_and_still_exits_5(repo: Path, use_backend) -> None:
    use_backend(ScriptedBackend([BROKEN]))
    code, data = _run_json("a.py", "-m", RENAME, "--write-failing", "--max-attempts", "2")
    [record] = data["files"]
    assert code == 5 and record["written"] and record["status"] == "changed" and record["checks_passed"] is False
    assert "--write-failing" in record["reason"] and (repo / "a.py").read_text() == BROKEN


def test_a_configured_file_check_feeds_its_output_back(repo: Path, use_backend) -> None:
    script = "import sys; src = open(sys.argv[1]).read(); print('TODO left in ' + sys.argv[1]) if 'TODO' in src else None; sys.exit('TODO' in src)"
    (repo / ".fastapply.toml").write_text(f'[[check]]\nname = "no-todo"\nrun = {_toml(_py(script) + " {file}")}\nfiles = "*.py"\n')
    backend = ScriptedBackend([FIXED + "# TODO\n", FIXED])
    use_backend(backend)
    code, data = _run_json("a.py", "notes.txt", "-m", RENAME)
    by_path = {f["path"]: f for f in data["files"]}
    assert code == 0 and by_path["a.py"]["attempts"] == 2
    assert [(c["name"], c["ok"]) for c in by_path["a.py"]["checks"]] == [
        ("parse:python", True), ("no-todo", False), ("parse:python", True), ("no-todo", True)
    ]
    assert "Check `no-todo` failed:\nTODO left in a.py" in backend.requests[1].instruction
    assert by_path["notes.txt"]["checks"] == [] and by_path["notes.txt"]["checks_passed"] is None


def test_a_configured_check_that_times_out_counts_as_failing(repo: Path, use_backend) -> None:
    script = "import time; time.sleep(30)"
    (repo / ".fastapply.toml").write_text(f'[[check]]\nname = "slow"\nrun = {_toml(_py(script))}\ntimeout = 0.5\n')
    use_backend(ScriptedBackend([FIXED]))
    started = time.monotonic()
    code, data = _run_json("a.py", "-m", RENAME, "--max-attempts", "2")
    assert time.monotonic() - started < 20
    record = data["files"][0]
    assert code == 5 and record["status"] == "check-failed" and record["attempts"] == 2
    assert [c["output"].splitlines()[0] for c in record["checks"] if c["name"] == "slow"] == ["timed out after 0.5 s"] * 2
    assert (repo / "a.py").read_text() == CODE


def test_a_project_check_sees_the_candidate_while_the_users_tree_is_untouched(repo: Path, use_backend) -> None:
    user = str(repo / "a.py")
    script = (
        "import sys; cand = open('a.py').read(); mine = open(" + repr(user) + ").read(); "
        "open('scratch-marker', 'w').write('x'); "
        "sys.exit(0 if 'plus' in cand and 'plus' not in mine else 1)"
    )
    (repo / ".fastapply.toml").write_text(f'[[check]]\nname = "tests"\nrun = {_toml(_py(script))}\n')
    use_backend(ScriptedBackend([FIXED]))
    code, data = _run_json("a.py", "-m", RENAME)
    assert code == 0, data
    assert data["files"][0]["checks"][1] == {"name": "tests", "ok": True, "output": "", "attempt": 1}
    assert (repo / "a.py").read_text() == FIXED and not (repo / "scratch-marker").exists()


def test_a_check_command_that_cannot_start_exits_2_before_the_model_loads(repo: Path, use_backend, capsys) -> None:
    (repo / ".fastapply.toml").write_text('[[check]]\nrun = "no-such-linter-xyz {file}"\n')
    use_backend(ScriptedBackend([FIXED]))
    before = _state(repo)
    assert cli_main(["run", "a.py", "-m", RENAME]) == 2
    assert "check 'no-such-linter-xyz {file}': cannot start 'no-such-linter-xyz'" in capsys.readouterr().err
    assert use_backend.loads == [] and _state(repo) == before


def test_jsonl_streams_the_retry(repo: Path, use_backend, capsys) -> None:
    use_backend(ScriptedBackend([BROKEN, FIXED]))
    assert cli_main(["run", "a.py", "-m", RENAME, "--output-format", "jsonl"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["run.started", "file.started", "file.retrying", "file.completed", "run.completed"]
    assert events[2]["attempt"] == 2 and events[2]["checks"][0]["name"] == "parse:python"
    assert events[3]["attempts"] == 2 and len(events[3]["checks"]) == 2


def test_the_hook_runs_the_same_checks(repo: Path, use_backend) -> None:
    (repo / ".fastapply.toml").write_text('[[hook]]\ninstruction = "Rename the function add to plus."\nfiles = "*.py"\n')
    (repo / "a.py").write_text(CODE + "\n")
    git(repo, "add", "a.py", ".fastapply.toml")
    backend = ScriptedBackend([BROKEN])
    use_backend(backend)
    before = _state(repo)
    assert cli_main(["hook", "--max-attempts", "2"]) == 5
    assert len(backend.requests) == 2 and _state(repo) == before


def test_batch_runs_the_same_checks_and_a_check_failed_job_stays_pending(tmp_path: Path, repo: Path, use_backend, capsys) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"files": ["a.py"], "instruction": RENAME}) + "\n")
    use_backend(ScriptedBackend([BROKEN]))
    assert cli_main(["batch", str(jobs), "--output-format", "json", "--max-attempts", "2"]) == 5
    data = json.loads(capsys.readouterr().out)
    assert data["jobs"][0]["check-failed"] == 1 and data["summary"]["pending"] == 1
    assert (repo / "a.py").read_text() == CODE
    use_backend(ScriptedBackend([FIXED]))
    assert cli_main(["batch", str(jobs)]) == 0
    assert (repo / "a.py").read_text() == FIXED


def test_the_reported_cost_counts_every_attempt(repo: Path, use_backend) -> None:
    use_backend(ScriptedBackend([BROKEN, FIXED]))
    _, retried = _run_json("a.py", "-m", RENAME)
    (repo / "a.py").write_text(CODE)
    use_backend(ScriptedBackend([FIXED]))
    _, once = _run_json("a.py", "-m", RENAME)
    assert retried["files"][0]["tokens"] == once["files"][0]["tokens"] + len(BROKEN) // 4
    assert retried["files"][0]["forwards"] > once["files"][0]["forwards"]
