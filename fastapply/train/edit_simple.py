"""Line- and literal-level edits: no-op, change a literal or default, add or remove an import,
remove print calls.

Each generator computes its ground truth from ``ast`` positions and returns ``None`` when the
source offers nothing for its kind. Knows nothing about tokens or models.
"""

from __future__ import annotations

import ast
import random

from fastapply.train.edit_common import (
    Edit, WORDS, describe_function, functions, owns_lines, parse_or_none, parses,
)

_MODULES = (
    "os sys re json math time typing logging functools itertools collections pathlib "
    "dataclasses subprocess shutil tempfile random string textwrap contextlib enum abc io"
).split()
_FROM = [("typing", "Any"), ("typing", "Optional"), ("pathlib", "Path"), ("collections", "defaultdict"),
         ("dataclasses", "dataclass"), ("functools", "lru_cache"), ("itertools", "chain"),
         ("contextlib", "suppress"), ("collections.abc", "Iterable"), ("os", "path")]


def make_noop(rng: random.Random, text: str, path: str = "") -> Edit:
    """Instructions that need no change: explicit ones, and ones the file already satisfies."""
    choices = [
        "Make no changes.", "Leave this file exactly as it is.", "No changes needed; return the file unchanged.",
        "Keep the code as is.", "This file is fine. Do not modify it.", "Return the file unchanged.",
    ]
    tree = parse_or_none(text)
    if tree is not None and not _print_calls(tree):
        choices += ["Remove all print calls.", "Delete the debugging print statements."]
    if tree is not None:
        for node in tree.body:
            if isinstance(node, ast.Import) and len(node.names) == 1 and not node.names[0].asname:
                choices.append(f"Add `import {node.names[0].name}` if it is missing.")
    return Edit(kind="noop", instruction=rng.choice(choices), before=text, after=text, path=path)


def _replace_span(lines: list[str], node: ast.expr, new: str) -> str:
    row = node.lineno - 1
    line = lines[row]
    out = list(lines)
    out[row] = line[: node.col_offset] + new + line[node.end_col_offset or 0 :]
    return "".join(out)


def _new_literal(rng: random.Random, value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(rng.choice([value + 1, value * 2, value + 10, max(0, value - 1), rng.randrange(0, 1000)]))
    if isinstance(value, float):
        return repr(round(rng.choice([value * 2, value / 2, value + 0.5]), 4))
    if isinstance(value, str) and value.isidentifier() and 2 < len(value) < 24:
        return repr(rng.choice(WORDS + [value + "_" + rng.choice(WORDS)]))
    return None


def make_literal(rng: random.Random, text: str, path: str = "") -> Edit | None:
    """Change a default argument, or a literal that occurs once in the file."""
    tree = parse_or_none(text)
    if tree is None:
        return None
    lines = text.splitlines(keepends=True)
    options: list[tuple[ast.Constant, str]] = []  # (node, how to describe it)
    for fn, owner in functions(tree):
        args = fn.args.args[len(fn.args.args) - len(fn.args.defaults):] + fn.args.kwonlyargs
        defaults = list(fn.args.defaults) + [d for d in fn.args.kw_defaults]
        for arg, default in zip(args, defaults):
            if isinstance(default, ast.Constant) and default.lineno == default.end_lineno:
                options.append((default, f"the default of `{arg.arg}` in {describe_function(fn, owner, rng)}"))
    segments: dict[str, list[ast.Constant]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.lineno == node.end_lineno:
            seg = lines[node.lineno - 1][node.col_offset : node.end_col_offset]
            segments.setdefault(seg, []).append(node)
    for seg, nodes in segments.items():
        if len(nodes) == 1 and text.count(seg) == 1:
            options.append((nodes[0], f"`{seg}`"))
    rng.shuffle(options)
    for node, what in options:
        new = _new_literal(rng, node.value)
        old = lines[node.lineno - 1][node.col_offset : node.end_col_offset]
        if new is not None and old.startswith('"') and new.startswith("'"):
            new = '"' + new[1:-1] + '"'  # keep the file's quote style
        if new is None or new == old:
            continue
        after = _replace_span(lines, node, new)
        if not parses(after):
            continue
        if what.startswith("the default"):
            instruction = rng.choice([f"Change {what} to {new}.", f"Set {what} to `{new}`", f"make {what} {new}"])
        else:
            instruction = rng.choice([f"Change {what} to `{new}`.", f"Replace {old} with {new}.", f"use {new} instead of {old}"])
        return Edit(kind="literal", instruction=instruction, before=text, after=after, path=path)
    return None


def _import_insert_line(tree: ast.Module) -> tuple[int, bool]:
    """Where a new import line goes (0-based line index) and whether a blank line must follow."""
    last_import = None
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last_import = node
        elif last_import is not None or not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    if last_import is not None:
        return last_import.end_lineno or last_import.lineno, False
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[0].end_lineno or 1, True  # after the module docstring
    return 0, True


def make_add_import(rng: random.Random, text: str, path: str = "") -> Edit | None:
    tree = parse_or_none(text)
    if tree is None:
        return None
    if rng.random() < 0.6:
        mod = rng.choice(_MODULES)
        stmt, say = f"import {mod}", rng.choice([f"Add `import {mod}`.", f"import the {mod} module", f"Add an import of {mod} at the top."])
    else:
        mod, name = rng.choice(_FROM)
        stmt = f"from {mod} import {name}"
        say = rng.choice([f"Add `{stmt}`.", f"Import {name} from {mod}.", f"add the import: {stmt}"])
    if stmt in text:
        return None
    at, blank = _import_insert_line(tree)
    lines = text.splitlines(keepends=True)
    new = [stmt + "\n"] + (["\n"] if blank and at < len(lines) and lines[at].strip() else [])
    if at > 0 and blank and lines[at - 1].strip():
        new = ["\n", *new]
    after = "".join(lines[:at] + new + lines[at:])
    return Edit(kind="add-import", instruction=say, before=text, after=after, path=path)


def make_remove_import(rng: random.Random, text: str, path: str = "") -> Edit | None:
    tree = parse_or_none(text)
    if tree is None:
        return None
    lines = text.splitlines(keepends=True)
    options = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and n.lineno == n.end_lineno
               and len(n.names) == 1 and owns_lines(lines, n)]
    if not options:
        return None
    node = rng.choice(options)
    stmt = lines[node.lineno - 1].strip()
    name = node.names[0].asname or node.names[0].name
    say = rng.choice([f"Remove `{stmt}`.", f"Remove the import of {name}.", f"drop the unused import {name}",
                      f"Delete the line `{stmt}`"])
    after = "".join(lines[: node.lineno - 1] + lines[node.lineno :])
    if not parses(after):
        return None
    return Edit(kind="remove-import", instruction=say, before=text, after=after, path=path)


def _print_calls(tree: ast.AST) -> list[ast.Expr]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
            and isinstance(n.value.func, ast.Name) and n.value.func.id == "print"]


def make_remove_prints(rng: random.Random, text: str, path: str = "") -> Edit | None:
    tree = parse_or_none(text)
    if tree is None:
        return None
    lines = text.splitlines(keepends=True)
    prints = _print_calls(tree)
    if not prints:
        return _injected_prints(rng, text, tree, path)
    if not all(owns_lines(lines, p) for p in prints):
        return None
    drop = {row for p in prints for row in range(p.lineno - 1, p.end_lineno or p.lineno)}
    after = "".join(line for i, line in enumerate(lines) if i not in drop)
    if not parses(after):  # a block held only prints
        return None
    say = rng.choice(["Remove all print calls.", "Delete every print() statement.", "remove the debug prints",
                      "Strip out the print statements.", "Get rid of all calls to print."])
    return Edit(kind="remove-prints", instruction=say, before=text, after=after, path=path)


_PRINT_SAYINGS = ["Remove all print calls.", "Delete every print() statement.", "remove the debug prints",
                  "Strip out the print statements.", "Get rid of all calls to print."]


def _injected_prints(rng: random.Random, text: str, tree: ast.Module, path: str) -> Edit | None:
    """Real files rarely print, so add debug prints after assignments: that text is the
    "before" and the untouched file is the ground truth."""
    lines = text.splitlines(keepends=True)
    spots = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and len(n.targets) == 1
             and isinstance(n.targets[0], ast.Name) and n.col_offset > 0 and owns_lines(lines, n)]
    if not spots:
        return None
    chosen = sorted(rng.sample(spots, min(len(spots), rng.randint(1, 3))), key=lambda n: n.end_lineno or 0)
    out = list(lines)
    for node in reversed(chosen):
        name = node.targets[0].id  # type: ignore[attr-defined]
        call = rng.choice([f"print({name})", f'print("{name}:", {name})', f'print(f"{name}={{{name}!r}}")'])
        out.insert(node.end_lineno or node.lineno, " " * node.col_offset + call + "\n")
    before = "".join(out)
    if not parses(before):
        return None
    return Edit(kind="remove-prints", instruction=rng.choice(_PRINT_SAYINGS), before=before, after=text, path=path)
