"""Safe reads and atomic writes: containment, refusals, and byte-exact round trips of every style."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conftest import make_repo
from fastapply.errors import RefusedError
from fastapply.files import read_source, write_atomic

STYLES: dict[str, bytes] = {
    "lf": b"def add(a, b):\n    return a + b\n",
    "crlf": b"def add(a, b):\r\n    return a + b\r\n",
    "cr": b"def add(a, b):\r    return a + b\r",
    "mixed": b"def add(a, b):\r\n    return a + b\n\nx = add(1, 2)\r\n",
    "bom": b"\xef\xbb\xbfdef add(a, b):\n    return a + b\n",
    "no_final_newline": b"def add(a, b):\n    return a + b",
    "crlf_no_final": b"def add(a, b):\r\n    return a + b",
    "utf16": "def add(a, b):\n    return 'é'\n".encode("utf-16"),
    "formfeed": b"a = 1\n\x0c\nb = 2\n",
    "empty": b"",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {f"{name}.py": data for name, data in STYLES.items()}
    return make_repo(tmp_path / "repo", files)


@pytest.mark.parametrize("name", sorted(STYLES))
def test_unchanged_text_encodes_back_to_identical_bytes(repo: Path, name: str) -> None:
    source = read_source(repo / f"{name}.py", repo)
    assert "\r" not in source.text
    assert source.encode(source.text) == STYLES[name]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("crlf", b"def plus(a, b):\r\n    return a + b\r\n"),
        ("cr", b"def plus(a, b):\r    return a + b\r"),
        ("bom", b"\xef\xbb\xbfdef plus(a, b):\n    return a + b\n"),
        ("no_final_newline", b"def plus(a, b):\n    return a + b"),
        ("mixed", b"def plus(a, b):\r\n    return a + b\n\nx = plus(1, 2)\r\n"),
    ],
)
def test_edited_text_keeps_the_original_style(repo: Path, name: str, expected: bytes) -> None:
    source = read_source(repo / f"{name}.py", repo)
    assert source.encode(source.text.replace("add", "plus")) == expected


def test_new_lines_in_a_mixed_file_take_the_ending_of_the_line_before(repo: Path) -> None:
    source = read_source(repo / "mixed.py", repo)
    assert source.newline == "mixed"
    out = source.encode(source.text + "y = 3\n")
    assert out.endswith(b"x = add(1, 2)\r\ny = 3\r\n")


def test_final_newline_follows_the_original(repo: Path) -> None:
    lf = read_source(repo / "lf.py", repo)
    bare = read_source(repo / "no_final_newline.py", repo)
    assert lf.normalized("x = 1") == "x = 1\n"
    assert bare.normalized("x = 1\n") == "x = 1"


def test_fingerprint_and_mode_are_recorded(repo: Path) -> None:
    path = repo / "lf.py"
    path.chmod(0o755)
    source = read_source(path, repo)
    assert source.mode == 0o755
    import hashlib

    assert source.sha256 == hashlib.sha256(STYLES["lf"]).hexdigest()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: r / ".." / "outside.py", "outside the repository"),
        (lambda r: r / "sub" / ".." / ".." / "outside.py", "outside the repository"),
        (lambda r: r / ".git" / "config", ".git"),
        (lambda r: r / "link_out.py", "outside the repository"),
        (lambda r: r / "bin.dat", "binary"),
        (lambda r: r / "big.py", "too large"),
        (lambda r: r / "lfs.bin", "LFS"),
        (lambda r: r / "latin1.py", "not UTF-8"),
        (lambda r: r / "missing.py", "no such file"),
        (lambda r: r / "sub", "not a regular file"),
    ],
)
def test_unsafe_inputs_are_refused_with_the_reason(tmp_path: Path, make, message: str) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "bin.dat": b"\x89PNG\r\n\x1a\n\0\0\0",
            "big.py": b"x = 1\n" * 300,
            "lfs.bin": b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n",
            "latin1.py": "x = 'caf\u00e9'\n".encode("latin-1"),
            "sub/keep.py": b"",
        },
    )
    (tmp_path / "outside.py").write_text("secret = 1\n")
    (repo / "link_out.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(RefusedError, match=message):
        read_source(make(repo), repo, max_bytes=1000)
    assert (tmp_path / "outside.py").read_text() == "secret = 1\n"


def test_symlink_inside_the_tree_is_followed_and_keeps_its_name(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"real.py": "x = 1\n"})
    (repo / "alias.py").symlink_to("real.py")
    source = read_source(repo / "alias.py", repo)
    assert source.path == "alias.py"
    assert source.real_rel == "real.py"
    assert source.text == "x = 1\n"


def test_symlinked_directory_pointing_out_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "a\n"})
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "f.py").write_text("f\n")
    (repo / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RefusedError, match="outside"):
        read_source(repo / "linked" / "f.py", repo)


def test_relative_paths_resolve_from_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo", {"pkg/mod.py": "m = 1\n"})
    monkeypatch.chdir(repo / "pkg")
    assert read_source("mod.py", repo).path == "pkg/mod.py"
    with pytest.raises(RefusedError, match="outside"):
        read_source("../../outside.py", repo)


def test_atomic_write_replaces_content_keeps_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "script.sh"
    path.write_bytes(b"old")
    path.chmod(0o755)
    write_atomic(path, b"new", 0o755)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert os.listdir(tmp_path) == ["script.sh"]
