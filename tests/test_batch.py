"""`fastapply batch`: one model load, failures isolated per job, resumable, restartable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FakeBackend, make_repo, rename_rewrite
from fastapply.batch import parse_jobs
from fastapply.cli import main as cli_main
from fastapply.engine.types import GenerationRequest, GenerationResult
from fastapply.errors import UsageError

CODE = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", {"a.py": CODE, "b.py": CODE, "c.py": CODE})
    monkeypatch.chdir(root)
    return root


def _jobs(path: Path, *jobs: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    return path


def test_jobs_run_with_one_model_load_and_a_bad_job_does_not_stop_the_others(tmp_path, repo, use_backend, capsys) -> None:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    jobs = _jobs(
        tmp_path / "jobs.jsonl",
        {"files": ["a.py"], "instruction": "Rename the function add to plus."},
        {"files": ["missing.py"], "instruction": "Rename add to x."},
        {"files": ["../outside.py"], "instruction": "Rename add to y."},
        {"files": ["*.py"], "instruction": "Rename the function add to sum."},
    )
    (tmp_path / "outside.py").write_text(CODE)
    code = cli_main(["batch", str(jobs), "--output-format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 3  # the refused job is the worst outcome
    assert len(use_backend.loads) == 1
    assert (repo / "a.py").read_text() == CODE.replace("add", "plus")
    assert (repo / "b.py").read_text() == CODE.replace("add", "sum")
    assert [j["error"] != "" for j in data["jobs"]] == [False, True, False, False]
    assert data["jobs"][2]["refused"] == 1
    assert data["summary"]["changed"] == 3 and data["summary"]["ran"] == 4
    assert (tmp_path / "outside.py").read_text() == CODE


def test_an_interrupted_batch_resumes_where_it_stopped(tmp_path, repo, use_backend) -> None:
    class StopsOnC(FakeBackend):
        armed = True

        def generate(self, request: GenerationRequest) -> GenerationResult:
            if request.path == "c.py" and self.armed:
                raise KeyboardInterrupt
            return super().generate(request)

    fake = StopsOnC(rewrite=rename_rewrite)
    use_backend(fake)
    jobs = _jobs(
        tmp_path / "jobs.jsonl",
        {"files": ["a.py"], "instruction": "Rename add to plus"},
        {"files": ["b.py"], "instruction": "Rename add to plus"},
        {"files": ["c.py"], "instruction": "Rename add to plus"},
    )
    assert cli_main(["batch", str(jobs)]) == 130
    assert [r.path for r in fake.requests] == ["a.py", "b.py"]  # c.py interrupted before recording
    fake.armed = False
    fake.requests.clear()
    assert cli_main(["batch", str(jobs)]) == 0
    assert [r.path for r in fake.requests] == ["c.py"]
    assert all("plus" in (repo / n).read_text() for n in ("a.py", "b.py", "c.py"))
    fake.requests.clear()
    assert cli_main(["batch", str(jobs)]) == 0
    assert fake.requests == []  # everything done: nothing runs again
    assert cli_main(["batch", str(jobs), "--restart"]) == 0
    assert [r.path for r in fake.requests] == ["a.py", "b.py", "c.py"]


def test_batch_state_lives_under_the_git_dir_not_the_work_tree(tmp_path, repo, use_backend) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    jobs = _jobs(tmp_path / "jobs.jsonl", {"files": ["a.py"], "instruction": "Rename add to plus"})
    cli_main(["batch", str(jobs)])
    assert list((repo / ".git" / "fastapply" / "batch").glob("*.json"))
    from conftest import git

    assert git(repo, "status", "--porcelain").split() == ["M", "a.py"]


def test_text_output_is_a_summary_table(tmp_path, repo, use_backend, capsys) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    jobs = _jobs(tmp_path / "jobs.jsonl", {"files": ["a.py", "b.py"], "instruction": "Rename add to plus"})
    assert cli_main(["batch", str(jobs)]) == 0
    out = capsys.readouterr().out
    assert "fastapply batch" in out and "changed" in out and "Rename add to plus" in out


def test_jsonl_emits_one_event_per_job_then_the_summary(tmp_path, repo, use_backend, capsys) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    jobs = _jobs(
        tmp_path / "jobs.jsonl",
        {"files": ["a.py"], "instruction": "Rename add to plus"},
        {"files": "b.py", "instruction": "Rename add to plus"},
    )
    assert cli_main(["batch", str(jobs), "--output-format", "jsonl"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["job.completed", "job.completed", "batch.completed"]
    assert events[0]["files"][0]["status"] == "changed" and events[0]["files"][0]["written"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ('{"instruction": "x"}', "'files' must be a non-empty list"),
        ('{"files": ["a.py"], "instruction": ""}', "'instruction' is empty"),
        ('{"files": ["a.py"], "instruction": "rename \\udcff"}', "'instruction' is not valid UTF-8 text"),
        ('{"files": [1], "instruction": "x"}', "'files' must be a non-empty list"),
    ],
)
def test_bad_jobs_files_are_usage_errors_naming_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"files": ["a.py"], "instruction": "ok"}\n\n' + line + "\n")
    with pytest.raises(UsageError, match=f"jobs.jsonl:3: {message}"):
        parse_jobs(path)


def test_bad_jobs_file_exits_2_before_loading_a_model(tmp_path, repo, use_backend, capsys) -> None:
    use_backend(FakeBackend())
    (tmp_path / "jobs.jsonl").write_text("{\n")
    assert cli_main(["batch", str(tmp_path / "jobs.jsonl")]) == 2
    assert "not JSON" in capsys.readouterr().err and use_backend.loads == []


def test_failed_refused_and_missing_jobs_stay_pending_and_a_rerun_runs_exactly_them(tmp_path, repo, use_backend, capsys) -> None:
    class CutsOffB(FakeBackend):
        broken = True

        def generate(self, request: GenerationRequest) -> GenerationResult:
            self.finish_reason = "length" if request.path == "b.py" and self.broken else "stop"
            return super().generate(request)

    fake = CutsOffB(rewrite=rename_rewrite)
    use_backend(fake)
    (tmp_path / "outside.py").write_text(CODE)
    jobs = _jobs(
        tmp_path / "jobs.jsonl",
        {"files": ["a.py"], "instruction": "Rename add to plus"},
        {"files": ["b.py"], "instruction": "Rename add to plus"},
        {"files": ["../outside.py"], "instruction": "Rename add to plus"},
        {"files": ["d.py"], "instruction": "Rename add to plus"},
    )
    assert cli_main(["batch", str(jobs), "--output-format", "json"]) == 4
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert (summary["ran"], summary["pending"], summary["failed"], summary["refused"]) == (4, 3, 1, 1)
    assert (repo / "b.py").read_text() == CODE

    fake.broken = False
    fake.requests.clear()
    (repo / "d.py").write_text(CODE)
    assert cli_main(["batch", str(jobs), "--output-format", "json"]) == 3  # outside.py is refused again
    data = json.loads(capsys.readouterr().out)
    assert [r.path for r in fake.requests] == ["b.py", "d.py"]
    assert [j["skipped"] for j in data["jobs"]] == [True, False, False, False]
    assert data["summary"]["pending"] == 1
    assert (repo / "b.py").read_text() == CODE.replace("add", "plus") == (repo / "d.py").read_text()
    assert (tmp_path / "outside.py").read_text() == CODE

    fake.requests.clear()
    assert cli_main(["batch", str(jobs)]) == 3
    assert fake.requests == []  # the refused job runs again, but refusals cost no model call
    assert "1 pending" in capsys.readouterr().out


def test_batch_json_records_are_the_run_reporters_file_records(tmp_path, repo, use_backend, capsys) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    jobs = _jobs(tmp_path / "jobs.jsonl", {"files": ["a.py"], "instruction": "Rename add to plus"})
    assert cli_main(["batch", str(jobs), "--output-format", "json", "--restart"]) == 0
    batch_file = json.loads(capsys.readouterr().out)["jobs"][0]["files"][0]
    (repo / "a.py").write_text(CODE)
    assert cli_main(["run", "a.py", "-m", "Rename add to plus", "--output-format", "json"]) == 0
    run_file = json.loads(capsys.readouterr().out)["files"][0]
    assert set(batch_file) == set(run_file)
    assert {k: batch_file[k] for k in ("path", "status", "diff", "written")} == {k: run_file[k] for k in ("path", "status", "diff", "written")}
