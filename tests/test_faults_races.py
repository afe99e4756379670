"""Races on the write path: two writers, two `fastapply run`, two undos, with a barrier, repeated.

Exactly one side wins each time and the file holds the winner's bytes (defect 2 and the lock).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from conftest import FakeBackend, make_repo, rename_rewrite
from fault_support import (
    CODE,
    RENAMED,
    edit_one,
    snapshot,
    written_files,
)

from fastapply.apply import ApplySession, apply_results
from fastapply.cli import main as cli_main
from fastapply.errors import RefusedError
from fastapply.repo import find_repo
from fastapply.undo import list_applies, undo_last

RACE_REPETITIONS = 30
CLI_RACE_REPETITIONS = 20


# 2. Lost update between two runs: two processes, a barrier, many repetitions.


def _racer(root: str, instruction: str, barrier: object, queue: object) -> None:
    os.chdir(root)
    result = edit_one(Path(root) / "a.py", instruction)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        written = ApplySession(find_repo(root), instruction).write(result)
        queue.put((instruction, "written" if written else "nothing"))  # type: ignore[attr-defined]
    except RefusedError as exc:
        queue.put((instruction, f"refused: {exc.reason}"))  # type: ignore[attr-defined]


def _race(target: object, arg_sets: list[tuple[object, ...]], timeout: float) -> list[object]:
    """Start one forked process per argument tuple, all released by one barrier; what each reported."""
    context = multiprocessing.get_context("fork")
    barrier, queue = context.Barrier(len(arg_sets)), context.Queue()
    procs = [context.Process(target=target, args=(*args, barrier, queue)) for args in arg_sets]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout)
    return [queue.get(timeout=5) for _ in procs]


def test_two_processes_writing_one_file_never_both_succeed(tmp_path: Path) -> None:
    outputs = {
        "Rename add to plus": RENAMED,
        "Rename add to sum": CODE.replace("add", "sum").encode(),
    }
    started = time.perf_counter()
    for rep in range(RACE_REPETITIONS):
        root = make_repo(tmp_path / f"race{rep}", {"a.py": CODE})
        before = snapshot(root)
        outcomes = dict(_race(_racer, [(str(root), i) for i in outputs], 30))
        winners = [i for i, what in outcomes.items() if what == "written"]
        assert len(winners) == 1, f"repetition {rep}: {outcomes}"
        loser = next(i for i in outputs if i not in winners)
        assert "changed on disk since it was read" in outcomes[loser]
        after = snapshot(root)
        assert written_files(before, after) == {"a.py": outputs[winners[0]]}
        assert (after["index"], after["head"]) == (before["index"], before["head"])
        assert [r.instruction for r in list_applies(root)] == winners
    assert time.perf_counter() - started < 60


def _cli_racer(root: str, instruction: str, barrier: object, queue: object) -> None:
    import contextlib
    import io

    import fastapply.backend

    # Both runs have read the file once both are generating; the barrier makes them write together.
    backend = FakeBackend(rewrite=rename_rewrite, during=lambda request: barrier.wait())  # type: ignore[attr-defined]
    fastapply.backend.load_model = lambda *args, **kwargs: backend  # this forked child's own module
    os.chdir(root)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli_main(["run", "a.py", "-m", instruction])
    queue.put((instruction, code, out.getvalue()))  # type: ignore[attr-defined]


def test_two_fastapply_runs_at_the_same_moment_one_writes_and_the_other_exits_3(tmp_path: Path) -> None:
    outputs = {"Rename add to plus": RENAMED, "Rename add to sum": CODE.replace("add", "sum").encode()}
    for rep in range(CLI_RACE_REPETITIONS):
        root = make_repo(tmp_path / f"cli-race{rep}", {"a.py": CODE})
        before = snapshot(root)
        runs = {i: (code, out) for i, code, out in _race(_cli_racer, [(str(root), i) for i in outputs], 60)}
        codes = sorted(code for code, _ in runs.values())
        assert codes == [0, 3], f"repetition {rep}: {runs}"
        winner = next(i for i, (code, _) in runs.items() if code == 0)
        loser = next(i for i in outputs if i != winner)
        assert "a.py: changed (written)" in runs[winner][1]
        assert "changed on disk since it was read" in runs[loser][1]
        after = snapshot(root)
        assert written_files(before, after) == {"a.py": outputs[winner]}
        assert (after["index"], after["head"]) == (before["index"], before["head"])


# Two undos of one apply at the same moment: one restores, the other finds it done.


def _undoer(root: str, barrier: object, queue: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    report = undo_last(root)
    queue.put((report.status, tuple(report.restored)))  # type: ignore[attr-defined]


def test_two_processes_undoing_one_apply_restore_it_once(tmp_path: Path) -> None:
    for rep in range(RACE_REPETITIONS // 2):
        root = make_repo(tmp_path / f"undo{rep}", {"a.py": CODE})
        original = snapshot(root)
        apply_results([edit_one(root / "a.py")])
        outcomes = sorted(_race(_undoer, [(str(root),), (str(root),)], 30))
        assert outcomes == [("nothing", ()), ("undone", ("a.py",))], f"repetition {rep}: {outcomes}"
        assert snapshot(root)["files"] == original["files"]
        assert [r.undone for r in list_applies(root)] == [True]
