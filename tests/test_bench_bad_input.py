"""`fastapply bench` given hostile or malformed input: a usage error (exit 2) with one line, and
nothing run, written or loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import git, make_repo

from fastapply.cli import main
from fastapply.engine.bench.cases import load_cases

CASE = {"path": "a.py", "instruction": "Rename x.", "before": "x = 1\n", "after": "y = 1\n"}


def _history(root: Path) -> Path:
    body = "".join(f"x{i} = {i}\n" for i in range(20))
    repo = make_repo(root, {"a.py": body})
    for n in (1, 2, 3):
        (repo / "a.py").write_text(body.replace("x5 = 5", f"x5 = {n}"))
        git(repo, "commit", "-qam", f"Set x5 to {n}.")
    return repo


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one-line message of a bench run that must stop with exit 2 (at parse time or after)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses a value with exit 2
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("value", ["--output=OUT", "-oOUT", "--", "-p"])
def test_a_from_git_range_that_looks_like_an_option_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    repo = _history(tmp_path / "repo")
    monkeypatch.chdir(repo)
    err = _usage_error(["bench", f"--from-git={value}", "--min-lines", "1", "--shape", "tiny",
                        "--methods", "greedy"], capsys)
    assert "--from-git" in err and "'-'" in err
    assert sorted(p.name for p in repo.iterdir()) == [".git", "a.py"]
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("option", [["--limit", "-1"], ["--limit", "0"], ["--min-lines", "-5"],
                                    ["--max-lines", "-1"], ["--max-lines", "0"]])
def test_counts_below_their_range_are_refused_while_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    err = _usage_error(["bench", "--from-git", "HEAD", "--repo", str(_history(tmp_path / "r")), *option], capsys)
    assert option[0] in err


def test_min_lines_above_max_lines_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["bench", "--from-git", "HEAD", "--repo", str(_history(tmp_path / "r")),
                        "--min-lines", "50", "--max-lines", "10"], capsys)
    assert "--min-lines 50 is above --max-lines 10" in err


def test_limit_keeps_the_first_n_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps({**CASE, "path": f"{i}.py"}) + "\n" for i in range(3)))
    saved = tmp_path / "saved.jsonl"
    assert main(["bench", "--cases", str(cases), "--limit", "2", "--save-cases", str(saved), "--shape", "tiny",
                 "--methods", "greedy", "--output-format", "json"]) == 0
    assert [json.loads(line)["path"] for line in saved.read_text().splitlines()] == ["0.py", "1.py"]


@pytest.mark.parametrize(("line", "says"), [
    ("[1]", "not an array"), ("3", "not a number"), ('"x"', "not a string"), ("null", "not null"),
    ("true", "not a boolean"), (json.dumps({"path": "a.py"}), "missing or non-string field(s)"),
    (json.dumps({**CASE, "before": 3}), "['before']"), ("{", "not JSON"), ("[" * 100_000, "not JSON"),
])
def test_a_case_line_of_the_wrong_shape_names_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, says: str
) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(CASE) + "\n\n" + line + "\n")
    with pytest.raises(ValueError, match=f"{cases}:3: "):
        load_cases(cases)
    err = _usage_error(["bench", "--cases", str(cases), "--shape", "tiny"], capsys)
    assert f"{cases}:3: " in err and says in err and len(err.strip().splitlines()) == 1


def test_a_cases_file_that_is_not_utf8_or_not_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(json.dumps(CASE).encode() + b"\n\xff\xfe\n")
    assert "not UTF-8" in _usage_error(["bench", "--cases", str(cases), "--shape", "tiny"], capsys)
    assert "Is a directory" in _usage_error(["bench", "--cases", str(tmp_path), "--shape", "tiny"], capsys)


@pytest.mark.parametrize("where", ["missing/saved.jsonl", "."])
def test_a_save_cases_path_that_cannot_be_written_is_a_usage_error_before_any_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(CASE) + "\n")
    # a model that does not exist: reaching the load would be exit 4
    err = _usage_error(["bench", "--cases", str(cases), "--save-cases", str(tmp_path / where),
                        "--model", str(tmp_path / "no-model")], capsys)
    assert "--save-cases" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.jsonl"]
