"""What a synthetic edit is, and the helpers every edit generator shares.

An ``Edit`` is an instruction plus the code before and after, with the ground truth computed by
code. Generators take a ``random.Random`` and a source text and return an ``Edit`` or ``None``
when the text offers nothing for that kind. Knows nothing about tokens or models.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import random
import re
from dataclasses import dataclass, field

WORDS = (
    "data value item result count index total name key path node entry record buffer state "
    "config options params handler callback target source output input size limit offset "
    "line token block chunk frame event message request response payload context cache "
    "parser reader writer stream queue stack table field column row header body text label "
    "flag mode level score weight factor ratio delta step period window span range batch "
    "user account session client server worker task job order price amount total report"
).split()
VERBS = (
    "get set load save read write parse build make create find fetch compute update check "
    "process handle render format convert apply collect merge split resolve validate emit"
).split()

_BUILTINS = set(dir(builtins)) | set(keyword.kwlist) | {"self", "cls", "match", "case", "type"}


@dataclass(slots=True)
class Edit:
    """One training or evaluation example."""

    kind: str
    instruction: str
    before: str
    after: str
    path: str = ""
    meta: dict[str, str] = field(default_factory=dict)  # e.g. a rename's old and new names


def parse_or_none(text: str) -> ast.Module | None:
    """The module's syntax tree, or None when the text is not valid Python."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def has_docstring(body: list[ast.stmt]) -> bool:
    """Whether a function, class or module body opens with a string literal."""
    first = body[0] if body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def parses(text: str) -> bool:
    return parse_or_none(text) is not None


def is_plain_name(name: str) -> bool:
    return name.isidentifier() and name not in _BUILTINS and not name.startswith("__")


def split_words(name: str) -> list[str]:
    """``fooBarBaz`` and ``foo_bar_baz`` both -> ['foo', 'bar', 'baz']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w.lower() for w in spaced.split("_") if w]


def styled(words: list[str], like: str) -> str:
    """Join ``words`` in the naming style of ``like`` (CamelCase, UPPER_CASE or snake_case)."""
    lead = "_" * (len(like) - len(like.lstrip("_")))
    core = like.lstrip("_")
    if core[:1].isupper() and not core.isupper():
        return lead + "".join(w.capitalize() for w in words)
    if core.isupper() and len(core) > 1:
        return lead + "_".join(w.upper() for w in words)
    return lead + "_".join(words)


def new_name(rng: random.Random, old: str, taken: set[str]) -> str | None:
    """A fresh identifier in the style of ``old``, not in ``taken``; several strategies mixed."""
    words = split_words(old) or ["x"]
    for _ in range(20):
        how = rng.random()
        if how < 0.3 and len(words) > 1:
            cand = list(words)
            cand[rng.randrange(len(cand))] = rng.choice(WORDS + VERBS)
        elif how < 0.5:
            cand = [rng.choice(VERBS), *words[-2:]]
        elif how < 0.65:
            cand = [*words, rng.choice(["new", "impl", "v2", "inner", "main", "all", "old"])]
        elif how < 0.8:
            cand = [rng.choice(VERBS), rng.choice(WORDS)]
        else:
            cand = [rng.choice(WORDS)] if rng.random() < 0.5 else [rng.choice(WORDS), rng.choice(WORDS)]
        name = styled(cand, old)
        if name != old and name.isidentifier() and name not in taken and name not in _BUILTINS:
            return name
    return None


def identifiers(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def node_start_line(node: ast.AST) -> int:
    """0-based first line of a statement, decorators included."""
    decos = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decos)]) - 1  # type: ignore[attr-defined]


def owns_lines(lines: list[str], node: ast.stmt) -> bool:
    """True when the statement alone fills its lines (nothing else before or after it on them)."""
    end = node.end_lineno or node.lineno
    before = lines[node.lineno - 1][: node.col_offset]
    after = lines[end - 1][node.end_col_offset or 0 :].strip()
    return before.strip() == "" and (after == "" or after.startswith("#"))


def functions(tree: ast.AST) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.ClassDef | None]]:
    """Every function with the class that directly holds it (None for plain functions)."""
    out: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.ClassDef | None]] = []

    def visit(body: list[ast.stmt], owner: ast.ClassDef | None) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((node, owner))
                visit(node.body, None)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, node)

    visit(getattr(tree, "body", []), None)
    return out


def describe_function(fn: ast.AST, owner: ast.ClassDef | None, rng: random.Random) -> str:
    name = getattr(fn, "name", "?")
    if owner is None:
        return rng.choice([f"function `{name}`", f"`{name}`", f"the function {name}", f"{name}()"])
    return rng.choice(
        [f"method `{name}` of class `{owner.name}`", f"`{owner.name}.{name}`", f"the {name} method in {owner.name}"]
    )
