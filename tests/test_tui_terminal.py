"""The app in a real pseudo-terminal, as ``fastapply`` runs it: quitting never waits on a model.

A Pilot test cannot show this: the process only ends once every non-daemon thread has, which is
what made ctrl+q blank the screen while the process ran on behind a stuck generation. Here the
command runs in a pty with a backend that ignores cancel, and the test times ctrl+q to exit.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
import time
from pathlib import Path

import pytest
from tui_fakes import make_demo_repo

pty = pytest.importorskip("pty")
TESTS = Path(__file__).resolve().parent


def _read(fd: int, seconds: float) -> bytes:
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


def _wait_exit(pid: int, fd: int, seconds: float) -> int | None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        _read(fd, 0.02)
    return None


@pytest.mark.skipif(shutil.which("fastapply") is None, reason="the fastapply command is not installed")
def test_ctrl_q_ends_the_process_within_a_second_while_a_generation_is_stuck(tmp_path: Path) -> None:
    repo = make_demo_repo(tmp_path / "demo")
    env = {
        **os.environ,
        "FASTAPPLY_BACKEND": "tui_fakes:deaf_backend",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "TERM": "xterm-256color",
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, in the repository
        os.chdir(repo)
        os.execvpe(sys.executable, [sys.executable, "-c", "import sys; from fastapply.cli import main; sys.exit(main())", "--no-history"], env)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"ready" not in seen and time.monotonic() < deadline:
            seen += _read(fd, 0.2)
        assert b"ready" in seen, seen[-500:]
        os.write(fd, b" ")  # select README.md, the first line
        _read(fd, 0.3)
        os.write(fd, b"i")
        _read(fd, 0.5)
        os.write(fd, b"go\r")  # send: the deaf backend now holds the run for 30 s
        _read(fd, 1.0)
        pressed = time.monotonic()
        os.write(fd, b"\x11")  # ctrl+q
        status = _wait_exit(pid, fd, 10)
        took = time.monotonic() - pressed
        assert status is not None, "the process ran on after ctrl+q"
        assert took < 1.0, f"quit took {took:.1f}s"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
