"""`fastapply run`: exit codes, messages, output formats, and untouched bytes on every refusal."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import (
    TESTS_DIR,
    FakeBackend,
    git,
    make_repo,
    rename_rewrite,
    signal_during_generation,
)
from fastapply.engine.types import (
    GenerationRequest,
    GenerationResult,
    ModelNotFoundError,
)

from fastapply.cli import main as cli_main
from fastapply.repo import TRAILER

RENAME = "Rename the function add to plus."
CODE = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", {"a.py": CODE, "b.py": CODE, "pkg/c.py": CODE, "notes.txt": "add\n", ".gitignore": "build/\n"})
    (root / "build").mkdir()
    (root / "build" / "gen.py").write_text(CODE)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def backend(use_backend) -> FakeBackend:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    return fake


def run(*argv: str) -> int:
    return cli_main(["run", *argv])


def test_run_writes_by_default_and_loads_the_model_once(repo: Path, backend: FakeBackend, use_backend, capsys) -> None:
    assert run("a.py", "b.py", "-m", RENAME) == 0
    assert (repo / "a.py").read_text() == CODE.replace("add", "plus")
    assert (repo / "b.py").read_text() == CODE.replace("add", "plus")
    assert len(use_backend.loads) == 1 and len(backend.requests) == 2
    out = capsys.readouterr().out
    assert "a.py: changed (written)" in out and "2 written" in out


def test_check_never_writes_prints_the_diff_and_exits_1(repo: Path, backend: FakeBackend, capsys) -> None:
    assert run("a.py", "-m", RENAME, "--check") == 1
    out = capsys.readouterr().out
    assert "-def add(a, b):" in out and "+def plus(a, b):" in out
    assert (repo / "a.py").read_text() == CODE
    assert run("a.py", "-m", "Rename the function nothing to else.", "--check") == 0


def test_json_output_is_one_object_with_the_documented_fields(repo: Path, backend: FakeBackend, capsys) -> None:
    assert run("a.py", "notes.txt", "-m", RENAME, "--output-format", "json", "--check") == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"files", "summary"}
    record = data["files"][0]
    for key in ("path", "status", "reason", "diff", "before_sha256", "after_sha256", "tokens", "forwards", "seconds", "tokens_per_second"):
        assert key in record
    assert [f["status"] for f in data["files"]] == ["changed", "changed"]
    assert data["summary"]["changed"] == 2 and data["summary"]["exit_code"] == 1


def test_jsonl_streams_events_in_order(repo: Path, backend: FakeBackend, capsys) -> None:
    assert run("a.py", "b.py", "-m", RENAME, "--output-format", "jsonl") == 0
    events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
    assert events == ["run.started", "file.started", "file.completed", "file.started", "file.completed", "run.completed"]



def test_the_started_event_names_the_server_when_only_the_environment_makes_the_model_remote(
    repo: Path, backend: FakeBackend, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("FASTAPPLY_API_BASE", "http://127.0.0.1:9/v1")
    assert run("a.py", "-m", RENAME, "--output-format", "jsonl") == 0
    started = json.loads(capsys.readouterr().out.splitlines()[0])
    assert started["event"] == "run.started" and started["model"] == "the model served at http://127.0.0.1:9/v1"

def test_globs_expand_recursively_and_skip_ignored_files(repo: Path, backend: FakeBackend) -> None:
    assert run("**/*.py", "-m", RENAME) == 0
    assert "plus" in (repo / "pkg" / "c.py").read_text()
    assert (repo / "build" / "gen.py").read_text() == CODE


def test_works_from_a_subdirectory(repo: Path, backend: FakeBackend, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo / "pkg")
    assert run("c.py", "-m", RENAME) == 0
    assert "pkg/c.py: changed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "missing.py: no such file"),
        (["*.rs"], "*.rs: no file matches"),
        (["a.py", "--max-new-tokens", "0"], "must be positive"),
    ],
)
def test_usage_errors_exit_2_and_touch_nothing(repo: Path, backend: FakeBackend, use_backend, capsys, args, message) -> None:
    assert run(*args, "-m", RENAME) == 2
    assert message in capsys.readouterr().err
    assert (repo / "a.py").read_text() == CODE and use_backend.loads == []


def test_refusals_exit_3_and_load_no_model_when_nothing_is_editable(tmp_path: Path, repo: Path, backend, use_backend, capsys) -> None:
    (tmp_path / "outside.py").write_text(CODE)
    (repo / "blob.bin").write_bytes(b"add\0\0")
    assert run("../outside.py", "blob.bin", ".git/HEAD", "-m", RENAME) == 3
    out = capsys.readouterr().out
    assert "outside the repository" in out and "binary file" in out and ".git/" in out
    assert use_backend.loads == []
    assert (tmp_path / "outside.py").read_text() == CODE


def test_a_refused_file_does_not_stop_the_others(tmp_path: Path, repo: Path, backend) -> None:
    (tmp_path / "outside.py").write_text(CODE)
    assert run("../outside.py", "a.py", "-m", RENAME) == 3
    assert "plus" in (repo / "a.py").read_text()


def test_cut_off_output_exits_4_and_writes_nothing(repo: Path, use_backend, capsys) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite, finish_reason="length"))
    assert run("a.py", "-m", RENAME, "--max-new-tokens", "3") == 4
    assert "token limit" in capsys.readouterr().out
    assert (repo / "a.py").read_text() == CODE


def test_max_new_tokens_reaches_the_backend(repo: Path, backend: FakeBackend) -> None:
    run("a.py", "-m", RENAME, "--max-new-tokens", "77")
    assert backend.requests[0].max_new_tokens == 77


def test_model_load_failure_exits_4(repo: Path, monkeypatch, capsys) -> None:
    def broken(*args, **kwargs):
        raise ModelNotFoundError("no weights at /nowhere")

    monkeypatch.setattr("fastapply.backend.load_model", broken)
    assert run("a.py", "-m", RENAME) == 4
    assert "no weights at /nowhere" in capsys.readouterr().err


def test_interrupt_exits_130_and_keeps_what_was_already_written_undoable(repo: Path, use_backend) -> None:
    class Interrupting(FakeBackend):
        def generate(self, request: GenerationRequest) -> GenerationResult:
            if request.path == "b.py":
                raise KeyboardInterrupt
            return super().generate(request)

    use_backend(Interrupting(rewrite=rename_rewrite))
    assert run("a.py", "b.py", "-m", RENAME) == 130
    assert "plus" in (repo / "a.py").read_text() and (repo / "b.py").read_text() == CODE
    assert cli_main(["undo"]) == 0
    assert (repo / "a.py").read_text() == CODE


def test_commit_makes_one_commit_with_the_trailer(repo: Path, backend) -> None:
    assert run("a.py", "b.py", "-m", RENAME, "--commit") == 0
    assert TRAILER in git(repo, "log", "-1", "--format=%B")
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == ["a.py", "b.py"]


def test_commit_with_index_lock_held_is_refused_before_the_model_loads(repo: Path, backend, use_backend, capsys) -> None:
    (repo / ".git" / "index.lock").write_text("")
    assert run("a.py", "-m", RENAME, "--commit") == 3
    assert "index.lock" in capsys.readouterr().err
    assert (repo / "a.py").read_text() == CODE and use_backend.loads == []


def _subprocess(repo: Path, *args: str, backend: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    if backend:
        env["FASTAPPLY_BACKEND"] = "conftest:rename_backend"
    else:
        env.pop("FASTAPPLY_BACKEND", None)
    return subprocess.run(["fastapply", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120)


def test_console_script_exit_codes(tmp_path: Path, repo: Path) -> None:
    done = _subprocess(repo, "run", "a.py")
    assert done.returncode == 2 and "-m" in done.stderr
    (tmp_path / "outside.py").write_text(CODE)
    done = _subprocess(repo, "run", "../outside.py", "-m", RENAME)
    assert done.returncode == 3 and "outside the repository" in done.stdout
    done = _subprocess(repo, "run", "a.py", "-m", RENAME, "--check")
    assert done.returncode == 1 and (repo / "a.py").read_text() == CODE
    done = _subprocess(repo, "run", "a.py", "-m", RENAME)
    assert done.returncode == 0 and "plus" in (repo / "a.py").read_text()


@pytest.mark.slow
def test_console_script_reports_a_missing_model_with_exit_4(tmp_path: Path, repo: Path) -> None:
    pytest.importorskip("fastapply.engine.api")
    done = _subprocess(repo, "run", "--model", str(tmp_path / "no-such-model"), "a.py", "-m", RENAME, backend=False)
    assert done.returncode == 4, done.stderr
    assert (repo / "a.py").read_text() == CODE


@pytest.mark.slow
def test_end_to_end_with_a_tiny_random_model_reports_and_writes_what_the_engine_produced(
    tmp_path: Path, repo: Path, capsys
) -> None:
    """The CLI's status, reason, exit code and bytes are exactly what the real engine's greedy
    output implies, whatever a random model happens to emit (greedy is deterministic)."""
    pytest.importorskip("fastapply.engine.api")
    import hashlib

    import torch
    from fastapply.engine.load import TOKENIZER_DIR
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from fastapply.backend import load_backend
    from fastapply.edit import EditOptions, EditRequest, edit_file
    from fastapply.report import exit_code

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    model_dir = tmp_path / "tiny"
    LlamaForCausalLM(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    engine = load_backend(str(model_dir), device="cpu", dtype="float32")
    expected = edit_file(engine, EditRequest("a.py", RENAME, EditOptions(max_new_tokens=24)))
    assert expected.status in ("changed", "unchanged", "refused", "failed")
    before = (repo / "a.py").read_bytes()
    code = run(
        "--model", str(model_dir), "--device", "cpu", "--dtype", "float32",
        "a.py", "-m", RENAME, "--max-new-tokens", "24", "--output-format", "json",
    )
    record = json.loads(capsys.readouterr().out)["files"][0]
    assert (record["status"], record["reason"], record["finish_reason"]) == (
        expected.status, expected.reason, expected.finish_reason
    )
    assert code == exit_code([expected], changes_fail=False)
    after = (repo / "a.py").read_bytes()
    if expected.status == "changed":
        assert record["written"] and hashlib.sha256(after).hexdigest() == expected.after_sha256
    else:
        assert not record["written"] and after == before


def test_models_lists_the_default_model(repo: Path, capsys) -> None:
    assert cli_main(["models"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "default"


def test_malformed_backend_override_is_a_usage_error(repo: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FASTAPPLY_BACKEND", "no-colon")
    assert run("a.py", "-m", RENAME) == 2
    assert "module:factory" in capsys.readouterr().err
    assert (repo / "a.py").read_text() == CODE


def test_run_on_detached_head_without_commits_and_with_index_lock_held(tmp_path: Path, monkeypatch, backend) -> None:
    detached = make_repo(tmp_path / "detached", {"a.py": CODE})
    git(detached, "checkout", "-q", "--detach")
    monkeypatch.chdir(detached)
    assert run("a.py", "-m", RENAME, "--commit") == 0
    assert "plus" in git(detached, "show", "HEAD:a.py")

    fresh = make_repo(tmp_path / "fresh", {"a.py": CODE}, commit=False)
    monkeypatch.chdir(fresh)
    (fresh / ".git" / "index.lock").write_text("")
    assert run("a.py", "-m", RENAME) == 0  # writing the work tree needs no index
    assert "plus" in (fresh / "a.py").read_text()


def test_outside_any_repository_is_a_usage_error(tmp_path: Path, monkeypatch, backend, capsys) -> None:
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "a.py").write_text(CODE)
    monkeypatch.chdir(tmp_path / "loose")
    assert run("a.py", "-m", RENAME) == 2
    assert "not inside a git repository" in capsys.readouterr().err
    assert (tmp_path / "loose" / "a.py").read_text() == CODE



@pytest.mark.parametrize("commit", [False, True])
def test_a_file_in_a_submodule_or_nested_repository_is_refused_before_writing(
    tmp_path: Path, repo: Path, backend: FakeBackend, capsys, commit: bool
) -> None:
    # its index, HEAD and undo journal are the inner repository's, which fastapply here does not manage
    inner = make_repo(tmp_path / "inner", {"d.py": CODE})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "subm")
    git(repo, "commit", "-qm", "add a submodule")
    make_repo(repo / "vendored", {"e.py": CODE})  # a nested repository, not a submodule
    heads = (git(repo, "rev-parse", "HEAD"), git(repo / "subm", "rev-parse", "HEAD"))
    index = (repo / ".git" / "index").read_bytes()
    for path in ("subm/d.py", "vendored/e.py"):
        assert run(path, "-m", RENAME, *(["--commit"] if commit else [])) == 3
        folder = path.split("/")[0]
        assert f"inside {folder}/, a submodule or another repository" in capsys.readouterr().out
        assert (repo / path).read_text() == CODE
    assert (git(repo, "rev-parse", "HEAD"), git(repo / "subm", "rev-parse", "HEAD")) == heads
    assert (repo / ".git" / "index").read_bytes() == index
    assert backend.requests == []


def test_a_file_name_that_is_not_utf8_is_refused_and_the_other_files_still_run(
    repo: Path, backend: FakeBackend, capsys
) -> None:
    name = os.fsdecode(b"bad\xff.py")
    (repo / name).write_text(CODE)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a file name in latin-1")
    assert run(name, "a.py", "-m", RENAME) == 3
    assert "its name is not valid UTF-8" in capsys.readouterr().out
    assert (repo / name).read_text() == CODE
    assert [r.path for r in backend.requests] == ["a.py"]


def test_an_instruction_that_is_not_utf8_is_a_usage_error(repo: Path, backend: FakeBackend, use_backend, capsys) -> None:
    assert run("a.py", "-m", os.fsdecode(b"rename add \xff")) == 2
    assert "the instruction (-m) is not valid UTF-8 text" in capsys.readouterr().err
    assert use_backend.loads == [] and (repo / "a.py").read_text() == CODE

def test_console_script_exits_130_on_ctrl_c_during_generation(tmp_path: Path, repo: Path) -> None:
    import signal

    marker = tmp_path / "generating"
    env = {
        **os.environ,
        "PYTHONPATH": str(TESTS_DIR),
        "FASTAPPLY_BACKEND": "conftest:slow_backend",
        "FASTAPPLY_TEST_MARKER": str(marker),
    }
    code, err = signal_during_generation(repo, env, marker, signal.SIGINT, "a.py", "-m", RENAME)
    assert code == 130 and "interrupted" in err
    assert (repo / "a.py").read_text() == CODE


def test_commit_is_skipped_when_a_file_was_refused_and_a_failing_hook_is_reported(
    tmp_path: Path, repo: Path, backend, capsys
) -> None:
    (tmp_path / "outside.py").write_text(CODE)
    assert run("a.py", "../outside.py", "-m", RENAME, "--commit") == 3
    assert "not committing" in capsys.readouterr().err
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1" and "plus" in (repo / "a.py").read_text()

    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    assert run("b.py", "-m", RENAME, "--commit", "--output-format", "json") == 3
    captured = capsys.readouterr()
    assert "files written but not committed" in captured.err and "hook says no" in captured.err
    assert json.loads(captured.out)["summary"]["exit_code"] == 3
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


@pytest.mark.parametrize("stage", [False, True])
def test_commit_refuses_files_holding_the_users_own_changes_before_the_model_loads(
    repo: Path, backend, use_backend, capsys, stage: bool
) -> None:
    (repo / "a.py").write_text(CODE + "# mine\n")
    if stage:
        git(repo, "add", "a.py")
    index = (repo / ".git" / "index").read_bytes()
    assert run("a.py", "b.py", "-m", RENAME, "--commit") == 3
    assert "a commit would carry your own changes" in capsys.readouterr().err
    assert (repo / "a.py").read_text() == CODE + "# mine\n" and (repo / "b.py").read_text() == CODE
    assert (repo / ".git" / "index").read_bytes() == index and use_backend.loads == []
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
