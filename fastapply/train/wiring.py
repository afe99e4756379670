"""Hand-wiring helpers shared by the copy and rename priors: empty projection blocks, setting an
attention layer's or an MLP's projections, the factor RMSNorm applies to a residual of known norm,
an embedding's F dimension filled so every norm is equal, and two gated-MLP pieces (a linear move
between subspaces, a squared norm). Knows transformers' Llama
parameter names and a layout's spans; nothing about what the circuits compute.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapply.train.prior_layout import PriorLayout


def zeros(layout: PriorLayout) -> tuple[Any, Any, Any, Any]:
    """Empty q, k, v, o projections for one attention layer ([heads * head_dim, hidden], ...), float64."""
    import torch

    hd, n = layout.head_dim, layout.heads
    return (torch.zeros(n * hd, layout.hidden, dtype=torch.float64), torch.zeros(hd, layout.hidden, dtype=torch.float64),
            torch.zeros(hd, layout.hidden, dtype=torch.float64), torch.zeros(layout.hidden, n * hd, dtype=torch.float64))


def wire_move(layout: PriorLayout, mlp: Any, src: str, dest: str, kappa: float) -> None:
    """A linear map in a gated MLP: the gate reads the constant so large that silu(g) = g, and
    each unit carries one dimension of ``src`` over to ``dest`` (and takes it out of ``src``)."""
    import torch

    gate = 30.0  # silu(30) = 30 * (1 - 1e-13)
    width = layout.spans[src].stop - layout.spans[src].start
    g = torch.zeros(layout.intermediate, layout.hidden, dtype=torch.float64)
    u = torch.zeros(layout.intermediate, layout.hidden, dtype=torch.float64)
    d = torch.zeros(layout.hidden, layout.intermediate, dtype=torch.float64)
    g[:width, 0] = gate / (layout.const * kappa)
    u[:width, layout.spans[src]] = torch.eye(width, dtype=torch.float64)
    d[layout.spans[dest], :width] = torch.eye(width, dtype=torch.float64) / (gate * kappa)
    d[layout.spans[src], :width] = -torch.eye(width, dtype=torch.float64) / (gate * kappa)
    set_mlp(mlp, g, u, d)


def wire_square(layout: PriorLayout, mlp: Any, src: str, dest: str, kappa: float) -> None:
    """|src|^2 into ``dest`` by a gated MLP: x * (silu(x) - silu(-x)) = x^2, two units a dimension."""
    import torch

    width = layout.spans[src].stop - layout.spans[src].start
    g = torch.zeros(layout.intermediate, layout.hidden, dtype=torch.float64)
    u = torch.zeros(layout.intermediate, layout.hidden, dtype=torch.float64)
    d = torch.zeros(layout.hidden, layout.intermediate, dtype=torch.float64)
    for i in range(width):
        for unit, sign in ((2 * i, 1.0), (2 * i + 1, -1.0)):
            g[unit, layout.spans[src].start + i] = sign
            u[unit, layout.spans[src].start + i] = sign
            d[layout.spans[dest], unit] = 1.0 / kappa**2
    set_mlp(mlp, g, u, d)


def set_attention(attn: Any, q: Any, k: Any, v: Any, o: Any) -> None:
    """Copy the four projections into ``attn`` in its own dtype."""
    for proj, weight in ((attn.q_proj, q), (attn.k_proj, k), (attn.v_proj, v), (attn.o_proj, o)):
        proj.weight.data.copy_(weight.to(proj.weight.dtype))


def set_mlp(mlp: Any, gate: Any, up: Any, down: Any) -> None:
    """Copy the three projections into a gated MLP in its own dtype."""
    for proj, weight in ((mlp.gate_proj, gate), (mlp.up_proj, up), (mlp.down_proj, down)):
        proj.weight.data.copy_(weight.to(proj.weight.dtype))


def fill_norm(layout: PriorLayout, emb: Any, rows: Any) -> None:
    """In place: each row's F takes up what its flags add (keeping F's sign), so that every
    embedding's squared norm is ``base_norm2 + 1`` (its output code is unit)."""
    f = layout.spans["F"].start
    target = layout.base_norm2 + 1.0
    rest = (emb[rows] ** 2).sum(dim=1) - emb[rows, f] ** 2
    assert bool((rest < target).all()), "a token's flags outweigh its norm"
    emb[rows, f] = emb[rows, f].sign() * (target - rest).sqrt()


def norm_scale(layout: PriorLayout, squared_norm: float) -> float:
    """What RMSNorm (weight 1) multiplies a residual of this squared norm by."""
    return math.sqrt(layout.hidden / squared_norm)
