"""Bench cases: edits as ``{"path", "instruction", "before", "after"}``, from JSONL or git history.

Mining git history keeps commits that modify exactly one text file (added or removed files
disqualify a commit), with the commit subject as the instruction and the file before and after
as the edit. It reads the repository through the ``git`` command and writes nothing.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

REQUIRED = ("path", "instruction", "before", "after")


@dataclass(slots=True)
class BenchCase:
    path: str
    instruction: str
    before: str
    after: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def load_cases(path: str | Path) -> list[BenchCase]:
    """Read a CASES.jsonl file; a malformed line is a ``ValueError`` naming the line."""
    cases: list[BenchCase] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from exc
            missing = [key for key in REQUIRED if not isinstance(record.get(key), str)]
            if missing:
                raise ValueError(f"{path}:{number}: missing or non-string field(s) {missing}")
            cases.append(BenchCase(*(record[key] for key in REQUIRED)))
    return cases


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ValueError(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip()}")
    return result.stdout


def _show(repo: Path, rev: str, path: str) -> str | None:
    result = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], capture_output=True, check=False)
    if result.returncode != 0 or b"\0" in result.stdout:
        return None
    try:
        return result.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None


def mine_git(
    repo: str | Path,
    rev_range: str = "HEAD",
    *,
    min_lines: int = 100,
    max_lines: int = 400,
    max_changed: float = 0.15,
    suffixes: tuple[str, ...] = (".py",),
) -> list[BenchCase]:
    """Edits from a repository's history: one modified text file per commit, sizes filtered.

    ``max_changed`` bounds the share of the file's lines that the commit added or removed.
    """
    repo = Path(repo)
    log = _git(repo, "log", "--no-merges", "--format=%H%x00%s", rev_range)
    cases: list[BenchCase] = []
    for line in log.splitlines():
        sha, _, subject = line.partition("\0")
        changes = _git(repo, "diff-tree", "--no-commit-id", "-r", "--numstat", "--diff-filter=AMDRC", f"{sha}^!" if _has_parent(repo, sha) else sha)
        rows = [row.split("\t") for row in changes.splitlines() if row.strip()]
        if len(rows) != 1 or rows[0][0] == "-":
            continue
        added, removed, path = int(rows[0][0]), int(rows[0][1]), rows[0][2]
        if not path.endswith(suffixes):
            continue
        before, after = _show(repo, f"{sha}^", path), _show(repo, sha, path)
        if before is None or after is None or before == after:
            continue
        lines = before.count("\n")
        if not (min_lines <= lines <= max_lines) or (added + removed) > max_changed * lines:
            continue
        cases.append(BenchCase(path=path, instruction=subject, before=before, after=after))
    return cases


def _has_parent(repo: Path, sha: str) -> bool:
    result = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", f"{sha}^"], capture_output=True, check=False)
    return result.returncode == 0
