"""Bench cases: edits as ``{"path", "instruction", "before", "after"}``, read from JSONL.

Cases mined from git history come from ``fastapply.history`` (the CLI converts them); this module
knows the case format only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

REQUIRED = ("path", "instruction", "before", "after")
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


@dataclass(slots=True)
class BenchCase:
    path: str
    instruction: str
    before: str
    after: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _record(line: str, where: str) -> BenchCase:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise ValueError(f"{where}: not JSON: nested too deeply") from None
    if not isinstance(record, dict):
        kind = "null" if record is None else _JSON_KINDS.get(type(record), type(record).__name__)
        raise ValueError(f"{where}: a case is a JSON object with {list(REQUIRED)}, not {kind}")
    missing = [key for key in REQUIRED if not isinstance(record.get(key), str)]
    if missing:
        raise ValueError(f"{where}: missing or non-string field(s) {missing}")
    return BenchCase(*(record[key] for key in REQUIRED))


def load_cases(path: str | Path) -> list[BenchCase]:
    """Read a CASES.jsonl file; a malformed line is a ``ValueError`` naming the file and line.

    An unreadable file is an ``OSError`` (or a ``ValueError`` naming it when it is not UTF-8).
    """
    cases: list[BenchCase] = []
    with open(path, encoding="utf-8") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    cases.append(_record(line, f"{path}:{number}"))
        except UnicodeDecodeError:
            # decoding runs ahead of the lines read, so the line number would be a guess
            raise ValueError(f"{path}: not UTF-8 text") from None
    return cases
