"""One error path: every failure is a message and its documented exit code, never a traceback.

Exit 1 only ever means "files changed". A closed stdout ends quietly; SIGTERM exits 143; an
unexpected exception is "internal error", exit 4; a file over the model's context is refused (3).
"""

from __future__ import annotations

import errno
import os
import signal
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

from fastapply.cli import main as cli_main

RENAME = "Rename the function add to plus."
CODE = "def add(a, b):\n    return a + b\n"
PLUS = CODE.replace("add", "plus")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", {"a.py": CODE, "b.py": CODE, "c.py": CODE})
    monkeypatch.chdir(root)
    return root


def _state(repo: Path) -> tuple[bytes, ...]:
    """The bytes of every work-tree file, the index and HEAD."""
    files = tuple((repo / n).read_bytes() for n in ("a.py", "b.py", "c.py"))
    return (*files, (repo / ".git" / "index").read_bytes(), git(repo, "rev-parse", "HEAD").encode())


def _env(factory: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR), "FASTAPPLY_BACKEND": f"conftest:{factory}", **extra}
    env.pop("FASTAPPLY_DEBUG", None)
    return env


def test_a_file_over_the_context_is_refused_with_the_numbers_and_exit_3(repo: Path, use_backend, capsys) -> None:
    big = "".join(f"def add_{n}(a, b):\n    return a + b\n" for n in range(40))
    (repo / "big.py").write_text(big)
    use_backend(FakeBackend(rewrite=rename_rewrite, max_context=64))
    assert cli_main(["run", "big.py", "a.py", "-m", RENAME]) == 3
    out = capsys.readouterr().out
    tokens = len(big) // 4 + len(RENAME) // 4 + 32
    assert f"big.py: refused: too large for the model's context: {tokens:,} tokens, the model reads 64" in out
    assert (repo / "big.py").read_text() == big
    assert (repo / "a.py").read_text() == PLUS  # the other file still goes through


def test_the_context_refusal_is_a_refused_status_in_json(repo: Path, use_backend, capsys) -> None:
    import json

    use_backend(FakeBackend(rewrite=rename_rewrite, max_context=8))
    assert cli_main(["run", "a.py", "-m", RENAME, "--output-format", "json"]) == 3
    record = json.loads(capsys.readouterr().out)["files"][0]
    assert record["status"] == "refused" and record["reason"].startswith("too large for the model's context: ")
    assert not record["written"] and (repo / "a.py").read_text() == CODE


def test_an_unexpected_exception_is_an_internal_error_exit_4_without_traceback(repo: Path, use_backend, monkeypatch, capsys) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("fastapply.cli.run.run_edits", broken)
    monkeypatch.delenv("FASTAPPLY_DEBUG", raising=False)
    before = _state(repo)
    assert cli_main(["run", "a.py", "-m", RENAME]) == 4
    err = capsys.readouterr().err
    assert "fastapply: internal error: ZeroDivisionError: division by zero" in err and "Traceback" not in err
    assert "FASTAPPLY_DEBUG=1" in err
    assert _state(repo) == before
    monkeypatch.setenv("FASTAPPLY_DEBUG", "1")
    assert cli_main(["run", "a.py", "-m", RENAME]) == 4
    assert "Traceback" in capsys.readouterr().err


def test_a_full_disk_is_a_message_with_a_documented_code_and_the_file_intact(repo: Path, use_backend, monkeypatch, capsys) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    real_replace = os.replace

    def full(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if str(dst).endswith(".py"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", full)
    before = _state(repo)
    code = cli_main(["run", "a.py", "-m", RENAME])
    captured = capsys.readouterr()
    assert code == 3, captured  # the write pipeline refuses: the file is as it was
    assert "No space left on device" in captured.out + captured.err and "Traceback" not in captured.err
    assert _state(repo)[:3] == before[:3]


def test_stdout_closed_early_ends_quietly_and_the_run_completes(repo: Path) -> None:
    proc = subprocess.Popen(
        ["fastapply", "run", "a.py", "b.py", "c.py", "-m", RENAME, "--output-format", "jsonl"],
        cwd=repo, env=_env("paced_backend", FASTAPPLY_TEST_DELAY="0.2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert b"run.started" in first
    assert err == ""  # no traceback, no "Exception ignored"
    assert all((repo / n).read_text() == PLUS for n in ("a.py", "b.py", "c.py"))


def test_head_minus_one_in_a_shell_pipeline(repo: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", 'fastapply run a.py b.py -m "$1" --check --diff | head -1; echo "rc=${PIPESTATUS[0]}" >&2', "-", RENAME],
        cwd=repo, env=_env("paced_backend", FASTAPPLY_TEST_DELAY="0.2"), capture_output=True, text=True, timeout=60,
    )
    assert done.stdout.count("\n") == 1
    assert done.stderr.strip() == "rc=1"  # --check: files would change; nothing else on stderr
    assert (repo / "a.py").read_text() == CODE


def test_sigterm_during_generation_exits_143_and_writes_nothing(tmp_path: Path, repo: Path) -> None:
    marker = tmp_path / "generating"
    before = _state(repo)
    code, err = signal_during_generation(
        repo, _env("slow_backend", FASTAPPLY_TEST_MARKER=str(marker)), marker, signal.SIGTERM, "a.py", "-m", RENAME
    )
    assert code == 143 and "fastapply: terminated" in err and "Traceback" not in err
    assert _state(repo) == before


def test_the_context_refusal_in_a_subprocess_exits_3(repo: Path) -> None:
    (repo / "big.py").write_text(CODE * 40)
    done = subprocess.run(
        ["fastapply", "run", "big.py", "-m", RENAME], cwd=repo, env=_env("small_context_backend"),
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 3 and "too large for the model's context" in done.stdout and done.stderr == ""
    assert (repo / "big.py").read_text() == CODE * 40


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["run", "missing.py", "-m", RENAME], 2),
        (["run", "a.py", "-m", "   "], 2),
        (["run", "a.py", "-m", RENAME, "--check"], 1),
        (["run", "a.py", "-m", "Rename nothing to else.", "--check"], 0),
        (["batch", "no-such-jobs.jsonl"], 2),
        (["undo"], None),  # H2's command: whatever it says, never 1
    ],
)
def test_exit_1_only_ever_means_files_changed(repo: Path, use_backend, capsys, argv: list[str], code: int | None) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    got = cli_main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code is None:
        assert got != 1
    else:
        assert got == code, err


@pytest.mark.slow
def test_the_default_model_refuses_a_file_over_its_context_with_exit_3(repo: Path) -> None:
    """The real engine counts the prompt before any prefill; the CLI makes that a refusal."""
    pytest.importorskip("fastapply.engine.api")
    body = "".join(f"def function_number_{n}(alpha, beta):\n    return alpha * {n} + beta\n" for n in range(400))
    (repo / "big.py").write_text(body)
    env = {k: v for k, v in os.environ.items() if k not in ("FASTAPPLY_BACKEND", "FASTAPPLY_DEBUG")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    done = subprocess.run(
        ["fastapply", "run", "big.py", "-m", RENAME, "--max-new-tokens", "16", "--device", "cpu"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "too large for the model's context" in done.stdout and "the model reads 4,096" in done.stdout
    assert (repo / "big.py").read_text() == body


@pytest.mark.slow
def test_truncated_weights_exit_4_with_a_message_and_no_traceback(tmp_path: Path, repo: Path) -> None:
    pytest.importorskip("fastapply.engine.api")
    import shutil

    from fastapply.engine.assets import DEFAULT_MODEL_DIR

    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    env = {k: v for k, v in os.environ.items() if k not in ("FASTAPPLY_BACKEND", "FASTAPPLY_DEBUG")}
    before = _state(repo)
    done = subprocess.run(
        ["fastapply", "run", "--model", str(model), "--device", "cpu", "a.py", "-m", RENAME],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("fastapply: ") and "Traceback" not in done.stderr
    assert _state(repo) == before
