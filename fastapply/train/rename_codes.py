"""The rename layout's token codes and flags, which ``copy_prior`` applies when
``PriorLayout(rename=True)``: the connectors, the flags' dims, and "twin" codes that tie a word to
its spelling without the leading space, so ``rename_prior`` can find ``self.add`` from " add".

Knows the project tokenizer's byte-level spelling (a leading space is ``\u0120``); nothing about
models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapply.train.wiring import fill_norm

if TYPE_CHECKING:
    from fastapply.train.copy_prior import PriorLayout

CONNECTORS = (" to", " ->")  # "OLD to NEW", "OLD -> NEW": the instruction forms rename_prior reads


def connector_ids(tokenizer: Any) -> list[int]:
    out = []
    for text in CONNECTORS:
        ids = tokenizer.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise ValueError(f"connector {text!r} is not one token for this tokenizer")
        out.append(ids[0])
    return out


def twin_pairs(tokenizer: Any) -> list[tuple[int, int]]:
    """(id of " word", id of "word") for every word the vocabulary holds both ways."""
    vocab = tokenizer.get_vocab()
    return [(i, vocab[s[1:]]) for s, i in sorted(vocab.items())
            if s.startswith("\u0120") and len(s) > 1 and s[1].isalpha() and s[1:] in vocab]


def twin_maps(layout: PriorLayout) -> tuple[Any, Any]:
    """Random rotations T (input codes) and U (output codes): c("word") = T c(" word"), likewise o."""
    import torch

    gen = torch.Generator().manual_seed(layout.seed + 1)
    t, _ = torch.linalg.qr(torch.randn(layout.code_dim, layout.code_dim, generator=gen, dtype=torch.float64))
    u, _ = torch.linalg.qr(torch.randn(layout.out_dim, layout.out_dim, generator=gen, dtype=torch.float64))
    return t, u


def rename_codes(layout: PriorLayout, tokenizer: Any, c: Any, o: Any) -> None:
    """In place: a word without its leading space reads as a fixed rotation of the word with it."""
    t, u = twin_maps(layout)
    spaced, bare = (list(x) for x in zip(*twin_pairs(tokenizer)))
    c[bare] = c[spaced] @ t.T
    o[bare] = o[spaced] @ u.T


def rename_flags(layout: PriorLayout, tokenizer: Any, emb: Any) -> None:
    """The rename layout's flag (CONN on connectors, beside the turn start's S0); F gives up what
    the flags add on every row (the markers' too), so every norm stays equal."""
    emb[connector_ids(tokenizer), layout.spans["CONN"]] = layout.connector_flag
    fill_norm(layout, emb, slice(None))
