"""From edit result to work tree: every step of the write pipeline, with real git repositories."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from conftest import FakeBackend, git, make_repo, placeholder_rewrite, rename_rewrite
from fastapply.apply import apply_results
from fastapply.edit import EditOptions, EditRequest, edit_file
from fastapply.errors import RefusedError
from fastapply.journal import Journal
from fastapply.repo import TRAILER, find_repo, list_files

RENAME = "Rename the function add to plus."
CODE = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
LONG = "".join(f"def f{i}():\n    return {i}\n\n" for i in range(12))


def _edit(path: Path, backend: FakeBackend | None = None, instruction: str = RENAME, **options: object):
    backend = backend or FakeBackend(rewrite=rename_rewrite)
    return edit_file(backend, EditRequest(str(path), instruction, EditOptions(**options)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (b"def add(a, b):\r\n    return a + b\r\n", b"def plus(a, b):\r\n    return a + b\r\n"),
        (b"def add(a, b):\r    return a + b\r", b"def plus(a, b):\r    return a + b\r"),
        (b"def add(a):\r\n    return a\n\nadd(1)\r\n", b"def plus(a):\r\n    return a\n\nplus(1)\r\n"),
        (b"\xef\xbb\xbfdef add(a):\n    pass\n", b"\xef\xbb\xbfdef plus(a):\n    pass\n"),
        (b"def add(a):\n    pass", b"def plus(a):\n    pass"),
    ],
    ids=["crlf", "cr", "mixed", "bom", "no-final-newline"],
)
def test_written_file_keeps_its_style_byte_for_byte(tmp_path: Path, original: bytes, expected: bytes) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": original})
    result = _edit(repo / "m.py")
    assert result.status == "changed" and "\r" not in result.diff
    record = apply_results([result])
    assert (repo / "m.py").read_bytes() == expected
    assert record.files[0].after_sha256 == result.after_sha256


def test_exec_bit_survives_the_write(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"run.py": CODE})
    (repo / "run.py").chmod(0o755)
    apply_results([_edit(repo / "run.py")])
    assert stat.S_IMODE((repo / "run.py").stat().st_mode) == 0o755
    assert "plus" in (repo / "run.py").read_text()


def test_symlink_inside_the_tree_writes_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"real.py": CODE})
    (repo / "alias.py").symlink_to("real.py")
    apply_results([_edit(repo / "alias.py")])
    assert (repo / "alias.py").is_symlink()
    assert "plus" in (repo / "real.py").read_text()


@pytest.mark.parametrize(
    ("name", "reason"),
    [("../outside.py", "outside"), (".git/config", ".git"), ("img.png", "binary"), ("lfs.bin", "LFS")],
)
def test_refused_paths_become_refused_results_and_nothing_is_asked_of_the_model(
    tmp_path: Path, name: str, reason: str
) -> None:
    repo = make_repo(
        tmp_path / "r",
        {"img.png": b"\x89PNG\0\0add", "lfs.bin": b"version https://git-lfs.github.com/spec/v1\noid sha256:1\n"},
    )
    (tmp_path / "outside.py").write_text(CODE)
    backend = FakeBackend(rewrite=rename_rewrite)
    result = edit_file(backend, EditRequest(str(repo / name), RENAME), repo=find_repo(repo))
    assert result.status == "refused" and reason in result.reason
    assert result.path == (name if not name.startswith("..") else str(repo / name))  # repo-relative inside
    assert backend.requests == []
    assert (tmp_path / "outside.py").read_text() == CODE


def test_huge_file_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"big.py": "add = 1\n" * 200})
    result = _edit(repo / "big.py", max_bytes=1000)
    assert result.status == "refused" and "too large" in result.reason


def test_file_changed_during_generation_is_refused_and_left_as_the_other_writer_left_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": CODE})
    target = repo / "m.py"
    backend = FakeBackend(rewrite=rename_rewrite, during=lambda request: target.write_text("edited by hand\n"))
    result = _edit(target, backend)
    assert result.status == "refused" and "changed" in result.reason
    assert apply_results([result]).files == []
    assert target.read_text() == "edited by hand\n"


def test_apply_refuses_everything_when_one_file_changed_after_the_edit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": CODE, "b.py": CODE})
    results = [_edit(repo / "a.py"), _edit(repo / "b.py")]
    (repo / "b.py").write_text(CODE + "# mine\n")
    with pytest.raises(RefusedError, match="b.py: changed on disk"):
        apply_results(results)
    assert (repo / "a.py").read_text() == CODE
    assert (repo / "b.py").read_text() == CODE + "# mine\n"
    assert Journal(find_repo(repo).git_dir).records() == []


@pytest.mark.parametrize(
    ("backend", "status", "reason"),
    [
        (FakeBackend(rewrite=rename_rewrite, finish_reason="length"), "failed", "token limit"),
        (FakeBackend(rewrite=rename_rewrite, finish_reason="error"), "failed", "engine error"),
        (FakeBackend(rewrite=placeholder_rewrite), "refused", "placeholder"),
        (FakeBackend(rewrite=lambda code, r: code.split("\n")[0] + "\n"), "refused", "drops most"),
        (FakeBackend(rewrite=lambda code, r: ""), "refused", "empty"),
    ],
    ids=["cut-off", "engine-error", "placeholder", "mass-deletion", "empty"],
)
def test_bad_generations_are_never_written(tmp_path: Path, backend: FakeBackend, status: str, reason: str) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": LONG + CODE})
    result = _edit(repo / "m.py", backend)
    assert (result.status, reason in result.reason) == (status, True)
    assert apply_results([result]).files == []
    assert (repo / "m.py").read_text() == LONG + CODE


def test_cancelled_generation_is_failed_and_unwritten(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": CODE})
    cancel = threading.Event()
    backend = FakeBackend(rewrite=rename_rewrite, delay=5.0)
    threading.Timer(0.05, cancel.set).start()
    result = edit_file(backend, EditRequest(str(repo / "m.py"), RENAME), cancel=cancel)
    assert (result.status, result.finish_reason, result.reason) == ("failed", "cancelled", "cancelled")
    assert (repo / "m.py").read_text() == CODE


def test_deletion_passes_when_allowed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": LONG})
    backend = FakeBackend(rewrite=lambda code, r: "def f0():\n    return 0\n")
    assert _edit(repo / "m.py", backend, allow_deletion=True).status == "changed"


def test_placeholder_already_in_the_file_is_not_held_against_the_output(tmp_path: Path) -> None:
    text = "# ... rest of the code unchanged ...\ndef add():\n    pass\n"
    repo = make_repo(tmp_path / "r", {"m.py": text})
    assert _edit(repo / "m.py").status == "changed"


def test_unchanged_output_is_reported_unchanged(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": "x = 1\n"})
    result = _edit(repo / "m.py")
    assert (result.status, result.diff, result.hunks) == ("unchanged", "", [])
    assert result.after_sha256 == result.before_sha256


def test_only_accepted_hunks_are_written(tmp_path: Path) -> None:
    text = "def add():\n    pass\n" + "".join(f"x{i} = {i}\n" for i in range(10)) + "add()\n"
    repo = make_repo(tmp_path / "r", {"m.py": text})
    result = _edit(repo / "m.py")
    assert len(result.hunks) == 2
    apply_results([result], accepted={"m.py": {1}})
    assert (repo / "m.py").read_text() == text.replace("add()\n", "plus()\n")


def test_commit_carries_the_trailer_runs_hooks_and_only_takes_written_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": CODE, "other.py": "o = 1\n"})
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\ntouch \"$(git rev-parse --git-dir)/hook-ran\"\n")
    hook.chmod(0o755)
    (repo / "other.py").write_text("o = 2\n")
    git(repo, "add", "other.py")
    record = apply_results([_edit(repo / "m.py")], commit=True, message="Rename add")
    assert (repo / ".git" / "hook-ran").exists()
    log = git(repo, "log", "-1", "--format=%B")
    assert log.startswith("Rename add") and TRAILER in log
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["m.py"]
    assert record.commit == git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "diff", "--cached", "--name-only").split() == ["other.py"]


def test_failing_commit_hook_is_reported_and_not_skipped(tmp_path: Path) -> None:
    from fastapply.errors import RefusedError

    repo = make_repo(tmp_path / "r", {"m.py": CODE})
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'no commits today' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(RefusedError, match="no commits today"):
        apply_results([_edit(repo / "m.py")], commit=True)
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_index_lock_blocks_a_commit_before_anything_is_written(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": CODE})
    (repo / ".git" / "index.lock").write_text("")
    result = _edit(repo / "m.py")
    with pytest.raises(RefusedError, match="index.lock"):
        apply_results([result], commit=True)
    assert (repo / "m.py").read_text() == CODE
    apply_results([result])  # without a commit the index is not needed
    assert "plus" in (repo / "m.py").read_text()


def test_detached_head_commits_and_a_repository_without_commits_refuses_to_commit_the_users_file(
    tmp_path: Path,
) -> None:
    detached = make_repo(tmp_path / "d", {"m.py": CODE})
    git(detached, "checkout", "-q", "--detach")
    assert find_repo(detached).detached
    apply_results([_edit(detached / "m.py")], commit=True)
    assert "plus" in git(detached, "show", "HEAD:m.py")

    empty = make_repo(tmp_path / "e", {"m.py": CODE}, commit=False)
    assert find_repo(empty).head is None
    with pytest.raises(RefusedError, match="m.py: is not committed yet"):
        apply_results([_edit(empty / "m.py")], commit=True)  # the commit would be all the user's file
    assert (empty / "m.py").read_text() == CODE
    apply_results([_edit(empty / "m.py")])
    assert "plus" in (empty / "m.py").read_text()


def test_works_from_a_subdirectory_and_in_a_linked_worktree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "r", {"pkg/m.py": CODE})
    monkeypatch.chdir(repo / "pkg")
    assert find_repo(".").root == repo.resolve()
    result = edit_file(FakeBackend(rewrite=rename_rewrite), EditRequest("m.py", RENAME))
    assert result.path == "pkg/m.py"

    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    wt = tmp_path / "wt"
    info = find_repo(wt / "pkg")
    assert info.root == wt.resolve() and "worktrees" in info.git_dir.parts
    apply_results([_edit(wt / "pkg" / "m.py")])
    assert "plus" in (wt / "pkg" / "m.py").read_text()
    assert (repo / "pkg" / "m.py").read_text() == CODE
    assert len(Journal(info.git_dir).records()) == 1


def test_list_files_reports_git_status(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"clean.py": "c\n", "mod.py": "m\n", "staged.py": "s\n", ".gitignore": "ignored.py\n", "bin.dat": b"\0\1"})
    (repo / "mod.py").write_text("m2\n")
    (repo / "staged.py").write_text("s2\n")
    git(repo, "add", "staged.py")
    (repo / "new.py").write_text("n\n")
    (repo / "ignored.py").write_text("i\n")
    files = {f.path: f for f in list_files(find_repo(repo), max_bytes=2)}
    assert {p: f.status for p, f in files.items() if p.endswith(".py")} == {
        "clean.py": "clean", "mod.py": "modified", "staged.py": "staged", "new.py": "new"
    }
    assert files["bin.dat"].binary and not files["clean.py"].binary
    assert files["mod.py"].too_large and not files["clean.py"].too_large


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("# ... rest of the code unchanged ...", True),
        ("    // ... existing code ...", True),
        ("/* remaining methods stay the same */", True),
        ("    # ...", True),
        ("<!-- rest of the file -->", True),
        ("# Everything else remains unchanged", True),
        ("    ...", False),  # Python's Ellipsis statement is code
        ("x = compute(...)", False),
        ("# compute the rest of the sum", False),
        ("print('rest of the code unchanged')", False),
    ],
)
def test_placeholder_detection(line: str, flagged: bool) -> None:
    from fastapply.guards import find_placeholder

    assert (find_placeholder("a = 1\n", f"a = 1\n{line}\n") is not None) == flagged
