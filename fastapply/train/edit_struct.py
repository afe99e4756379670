"""Structural edits: delete a function or method, add or replace a docstring, insert a statement.

The new text (docstring, statement) is carried by the instruction; the ground truth is placed by
``ast`` line numbers with the block's own indentation. Knows nothing about tokens or models.
"""

from __future__ import annotations

import ast
import random

from fastapply.train.edit_common import (
    Edit, WORDS, describe_function, functions, has_docstring, node_start_line, parse_or_none, parses,
    split_words,
)


def _blank(line: str) -> bool:
    return line.strip() == ""


def make_delete_function(rng: random.Random, text: str, path: str = "") -> Edit | None:
    """Remove a function with its decorators and the blank lines after it."""
    tree = parse_or_none(text)
    if tree is None:
        return None
    lines = text.splitlines(keepends=True)
    options = []
    for fn, owner in functions(tree):
        parent_body = owner.body if owner else tree.body
        if fn in parent_body and len(parent_body) > 1 and (fn.end_lineno or 0) - fn.lineno < 60:
            options.append((fn, owner))
    if not options:
        return None
    fn, owner = rng.choice(options)
    start, end = node_start_line(fn), fn.end_lineno or fn.lineno
    while end < len(lines) and _blank(lines[end]):
        end += 1
    if end == len(lines):  # the last definition: eat the blank lines before it instead
        while start > 0 and _blank(lines[start - 1]):
            start -= 1
    after = "".join(lines[:start] + lines[end:])
    if not parses(after) or not after.strip():
        return None
    what = describe_function(fn, owner, rng)
    say = rng.choice([f"Delete {what}.", f"Remove {what} entirely.", f"remove {what}, it is no longer used",
                      f"Get rid of {what}."])
    return Edit(kind="delete-function", instruction=say, before=text, after=after, path=path)


def _sentence(rng: random.Random, name: str) -> str:
    words = " ".join(split_words(name)) or name
    return rng.choice([
        f"Return the {words}.", f"Compute {words} for the given input.", f"Handle {words}.",
        f"Helper for {words}.", f"Build and return the {rng.choice(WORDS)} used by {name}.",
        f"{words.capitalize()} the {rng.choice(WORDS)}.",
    ])


def make_docstring(rng: random.Random, text: str, path: str = "") -> Edit | None:
    """Add a one-line docstring to a function that has none, or replace a one-line docstring."""
    tree = parse_or_none(text)
    if tree is None:
        return None
    lines = text.splitlines(keepends=True)
    options = [(fn, owner) for fn, owner in functions(tree) if fn.body[0].lineno > fn.lineno]
    if not options:
        return None
    fn, owner = rng.choice(options)
    doc = _sentence(rng, fn.name)
    first = fn.body[0]
    indent = " " * first.col_offset
    new_line = f'{indent}"""{doc}"""\n'
    what = describe_function(fn, owner, rng)
    has_doc = has_docstring(fn.body)
    if has_doc:
        if first.lineno != first.end_lineno:
            return None
        after = "".join(lines[: first.lineno - 1] + [new_line] + lines[first.lineno :])
        say = rng.choice([f'Replace the docstring of {what} with "{doc}"', f"Change the docstring of {what} to: {doc}",
                          f"Set {what}'s docstring to \"{doc}\""])
        kind = "replace-docstring"
    else:
        after = "".join(lines[: first.lineno - 1] + [new_line] + lines[first.lineno - 1 :])
        say = rng.choice([f'Add the docstring "{doc}" to {what}.', f"Give {what} a docstring: {doc}",
                          f"document {what} with the docstring \"{doc}\""])
        kind = "add-docstring"
    if after == text or not parses(after):
        return None
    return Edit(kind=kind, instruction=say, before=text, after=after, path=path)


def _statement(rng: random.Random, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    params = [a.arg for a in fn.args.args if a.arg not in ("self", "cls")]
    options = [f'logger.debug("{fn.name} called")', f'log.info("entering {fn.name}")',
               f"{rng.choice(WORDS)}_{rng.choice(WORDS)} = None", "self._dirty = True" if fn.args.args and
               fn.args.args[0].arg == "self" else f"_{rng.choice(WORDS)}s = []"]
    if params:
        p = rng.choice(params)
        options += [f"assert {p} is not None", f'if {p} is None:\n    raise ValueError("{p} is required")',
                    f"print({p})"]
    return rng.choice(options)


def make_insert(rng: random.Random, text: str, path: str = "") -> Edit | None:
    """Insert a given statement at the start (after any docstring) or the end of a function."""
    tree = parse_or_none(text)
    if tree is None:
        return None
    lines = text.splitlines(keepends=True)
    options = [(fn, owner) for fn, owner in functions(tree) if fn.body[0].lineno > fn.lineno]
    if not options:
        return None
    fn, owner = rng.choice(options)
    stmt = _statement(rng, fn)
    body = fn.body
    has_doc = has_docstring(body)
    what = describe_function(fn, owner, rng)
    at_end = rng.random() < 0.35 and not isinstance(body[-1], (ast.Return, ast.Raise))
    if at_end:
        last = body[-1]
        row, indent = last.end_lineno or last.lineno, " " * last.col_offset
        if isinstance(last, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            return None  # "the end" would be ambiguous
        say = rng.choice([f"Add `{stmt}` at the end of {what}.", f"Append the statement {stmt!r} to the body of {what}."])
    elif has_doc and len(body) > 1:
        row, indent = body[0].end_lineno or body[0].lineno, " " * body[1].col_offset
        say = rng.choice([f"Insert `{stmt}` at the start of {what}, after its docstring.",
                          f"In {what}, add `{stmt}` right after the docstring."])
    else:
        row, indent = body[0].lineno - 1, " " * body[0].col_offset
        say = rng.choice([f"Insert `{stmt}` as the first statement of {what}.", f"Add `{stmt}` at the top of {what}'s body."])
    if "\n" in stmt:
        say = say.replace(f"`{stmt}`", f"this code:\n{stmt}\n").replace(repr(stmt), f"this code:\n{stmt}\n")
    new = [indent + s + "\n" for s in stmt.split("\n")]
    after = "".join(lines[:row] + new + lines[row:])
    if not parses(after):
        return None
    return Edit(kind="insert-statement", instruction=say, before=text, after=after, path=path)
