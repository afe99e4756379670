"""A damaged batch state file means starting over: every job runs, nothing is skipped blindly.

"Damaged" is anything ``BatchState.mark`` would not have written: not UTF-8, not JSON, or JSON of
another shape or with other types. The library reports it on the state (``damaged``) and never
prints; ``fastapply batch`` says so on stderr, leaving stdout to the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FakeBackend, make_repo, rename_rewrite
from fastapply.batch import BatchState, Job, parse_jobs, state_path
from fastapply.cli import main as cli_main
from fastapply.repo import find_repo

CODE = "def add(a, b):\n    return a + b\n"
RENAME = "Rename the function add to plus."

# Each names the job of the test's jobs file as done in a way mark never writes; the key is filled in.
DAMAGED_NAMING_THE_JOB = [
    '{"done": {KEY: 1}}',
    '{"done": {KEY: null}}',
    '{"done": {KEY: [1, 1]}}',
    '{"done": {KEY: {}}}',
    '{"done": {KEY: {"files": "1", "written": 1}}}',
    '{"done": {KEY: {"files": 1, "written": true}}}',
    '{"done": {KEY: {"files": -1, "written": 0}}}',
    '{"done": {KEY: {"files": 1.0, "written": 1}}}',
    '[{"done": {KEY: {"files": 1, "written": 1}}}]',
    '{"done": [KEY]}',
]
DAMAGED_ANYHOW = [
    b"[1]",
    b'{"done": 5}',
    b'{"done": "x"}',
    b'{"done": null}',
    b"{}",
    b"null",
    b'"done"',
    b"",
    b"\x00\xff\xfe\x89PNG\r\n\x1a\n garbage",
    b'{"done": {"0:abc": {"files": 1, "written": 1}}}\xff',
    b'{"done": {',
    b"[" * 200_000,  # deep enough that the JSON parser recurses out
]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", {"a.py": CODE})
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def jobs_file(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps({"files": ["a.py"], "instruction": RENAME}) + "\n")
    return path


def _state_file(repo: Path, jobs_file: Path) -> Path:
    path = state_path(find_repo(repo), jobs_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _only_job(jobs_file: Path) -> Job:
    (job,) = parse_jobs(jobs_file)
    return job


@pytest.mark.parametrize("content", DAMAGED_ANYHOW, ids=lambda c: repr(c[:24]))
def test_a_damaged_file_loads_as_no_progress_and_says_why(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    state = BatchState.load(path)
    assert state.done == {}
    assert state.damaged


@pytest.mark.parametrize("template", DAMAGED_NAMING_THE_JOB)
def test_a_damaged_file_naming_a_job_does_not_mark_it_done(tmp_path: Path, jobs_file: Path, template: str) -> None:
    job = _only_job(jobs_file)
    path = tmp_path / "state.json"
    path.write_text(template.replace("KEY", json.dumps(job.key)))
    state = BatchState.load(path)
    assert job.key not in state.done and state.damaged


def test_what_mark_writes_loads_back_sound(tmp_path: Path, jobs_file: Path) -> None:
    job = _only_job(jobs_file)
    path = tmp_path / "batch" / "state.json"
    BatchState(path).mark(job, {"files": 2, "written": 0})
    state = BatchState.load(path)
    assert state.done == {job.key: {"files": 2, "written": 0}} and state.damaged == ""


def test_restart_and_a_missing_file_are_not_damage(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert BatchState.load(path).damaged == ""
    path.write_bytes(b"[1]")
    assert BatchState.load(path, restart=True).damaged == ""


@pytest.mark.parametrize("content", [b"[1]", b'{"done": 5}', b'{"done": "x"}', b"\x00\xff garbage"])
def test_batch_over_a_damaged_file_runs_every_job_and_says_so_on_stderr(
    repo: Path, jobs_file: Path, use_backend, capsys, content: bytes
) -> None:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    state_file = _state_file(repo, jobs_file)
    state_file.write_bytes(content)
    assert cli_main(["batch", str(jobs_file), "--output-format", "json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # stdout is still the report alone
    assert report["summary"]["skipped"] == 0
    assert [r.path for r in fake.requests] == ["a.py"]
    assert (repo / "a.py").read_text() == CODE.replace("add", "plus")
    assert str(state_file) in captured.err and "damaged" in captured.err
    assert "internal error" not in captured.err
    # the finished job replaced the damage with sound progress
    assert BatchState.load(state_file).done.keys() == {_only_job(jobs_file).key}


def test_batch_over_a_damaged_file_naming_the_job_still_runs_it(repo: Path, jobs_file: Path, use_backend, capsys) -> None:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    key = json.dumps(_only_job(jobs_file).key)
    _state_file(repo, jobs_file).write_text('{"done": {%s: 1}}' % key)
    assert cli_main(["batch", str(jobs_file)]) == 0
    assert [r.path for r in fake.requests] == ["a.py"]
    assert "damaged" in capsys.readouterr().err


def test_batch_over_sound_progress_skips_quietly(repo: Path, jobs_file: Path, use_backend, capsys) -> None:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    assert cli_main(["batch", str(jobs_file)]) == 0
    capsys.readouterr()
    assert cli_main(["batch", str(jobs_file)]) == 0
    assert len(fake.requests) == 1  # the second run skipped the finished job
    assert "damaged" not in capsys.readouterr().err
