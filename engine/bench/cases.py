"""Bench cases: edits as ``{"path", "instruction", "before", "after"}``, read from JSONL.

Cases mined from git history come from ``fastapply.history`` (the CLI converts them); this module
knows the case format only.
"""

from __future__ import annotations

import json
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
