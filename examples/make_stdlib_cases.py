"""Write bench cases from this interpreter's standard library: rename a function, add an import.

Each case takes a stdlib module of 150-350 lines, renames one top-level function at every use, and
inserts ``import logging`` before the first import. The source is read here and written only to
the output file (not committed). Usage: python examples/make_stdlib_cases.py OUT.jsonl [N]
"""

from __future__ import annotations

import json
import random
import re
import sys
import sysconfig
from pathlib import Path


def main(out: str, count: int = 6) -> None:
    rng = random.Random(1)
    written = 0
    with open(out, "w", encoding="utf-8") as handle:
        for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
            text = path.read_text(encoding="utf-8", errors="ignore")
            names = re.findall(r"^def (\w+)\(", text, re.M)
            if not 150 <= text.count("\n") <= 350 or not names:
                continue
            name = rng.choice(names)
            after = re.sub(rf"\b{name}\b", f"{name}_renamed", text)
            after = after.replace("\nimport ", "\nimport logging\nimport ", 1)
            instruction = f"Rename {name} to {name}_renamed and import logging."
            record = {"path": path.name, "instruction": instruction, "before": text, "after": after}
            handle.write(json.dumps(record) + "\n")
            written += 1
            if written == count:
                break


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 6)
