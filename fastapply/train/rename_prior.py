"""A wired rename path on top of the copy prior: where the copy is about to emit the name the
instruction renames, emit the new name instead.

With ``PriorLayout(rename=True)`` (hidden 420) the copy prior carries three more wired dims beside
``S0``, which flags the chat template's turn start: ``CONN`` the connectors `` to`` and `` ->``
(carried one position on as ``CB1`` by the offset-1 head), and ``RI``, which layer 2's third head
(the repeat head in the plain layout) writes = 1 where the latest marker is a turn start (the
system prompt's head and the user turn, where the instruction is). The far copy head writes into N the input code ``c`` of the token it is about to copy. The
rename layer set by hand above it reads them:

- its head 0 at t scores every key i by ``2 N_t . B2_i`` (the token two before i is the one about
  to be copied) ``+ 2 CB1_i`` (the token before i is a connector) ``+ 2 RI_i`` against a threshold,
  so it attends to the token after "OLD to" / "OLD -> " in the instruction when the copy predicts
  OLD, and writes that token's output code into P, strong enough to beat the copy's vote;
- anywhere else it attends to a sink, the turn starts, whose output code the rename layout sets to
  zero, so it writes exactly nothing (a cancellation would leave bf16 rounding noise, enough to
  tip the copy's near ties);
- its head 1 does the same for the bare spelling (``self.add``, ``(add``: another token than
  `` add``): ``rename_codes`` makes a bare word's codes fixed rotations of the spaced word's,
  ``c(bare) = T c(spaced)`` and ``o(bare) = U o(spaced)``, so the head queries with ``T^T N`` and
  answers with ``U o(new)``;
- the copy resumes by itself after a one-token name: 7 of its 8 context tokens still match.

It knows one-token names only: a new name of several tokens gets its first token and nothing more
(``plus`` is ``pl`` + ``us``, so ``add`` becomes ``pl``: a wrong edit), and an old name of several
tokens is not found. It renames every occurrence the copy emits, in comments and strings too, and
in every scope. Knows the copy prior's layout and transformers' Llama; nothing about training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastapply.train.copy_prior import (
    TURN_START,
    PriorLayout,
    build_copy_prior,
    token_codes,
)
from fastapply.train.rename_codes import twin_maps
from fastapply.train.wiring import norm_scale, set_attention, zeros

RENAME_HIDDEN = 420  # the copy prior's 416 wired dims (S0 among them) and the rename path's RI, CONN, CB1 (one spare)


@dataclass(frozen=True, slots=True)
class RenameLayout:
    match_nats: float = 80.0  # G: score per unit of each condition
    emit_gain: float = 40.0  # size of the new name's output code in P (the copy writes up to 8)
    threshold: float = 5.3  # of a full match's 6: 2 each for predicted == OLD (N . c >= 0.65 after
    # the sink's projection), a connector before the key (CB1, exact), the key in the instruction (RI)
    sink_margin: float = 0.0  # the sink's score (in G); a key's score scales with its residual norm, so the sink sits at 0
    layer3_norm2: float = 80.0  # squared residual norm entering the rename layer (measured)


def wire_region(layout: PriorLayout, model: Any) -> None:
    """Layer 2's free head: RI = 1 where the latest marker is the turn start, else 0."""
    import torch

    layer = model.model.layers[2].self_attn
    hd, half = layout.head_dim, layout.head_dim // 2
    head, row = 2, layout.out_dim + layout.code_dim  # value rows past the copy heads' reads
    kappa = norm_scale(layout, layout.residual_norms2()[2])
    const_in = 1.0 / (layout.const * kappa)
    flag_dim = layout.content_dims()[(layout.context + 1) * layout.code_dim + 2]
    with torch.no_grad():
        q, k = layer.q_proj.weight, layer.k_proj.weight
        v, o = layer.v_proj.weight, layer.o_proj.weight
        assert not k[flag_dim].any() and not v[row].any(), "the region head's dims are taken"
        k[flag_dim, layout.spans["R0"]] = 1.0 / kappa
        k[layout.recency_pair, 0] = const_in
        q[head * hd + flag_dim, 0] = layout.marker_nats * math.sqrt(hd) * const_in / layout.marker
        q[head * hd + half + layout.recency_pair, 0] = layout.recency_nats * math.sqrt(hd) * const_in
        v[row, layout.spans["S0"]] = 1.0 / (layout.turn_flag * kappa)
        o[layout.spans["RI"], head * hd + row] = 1.0


def wire_rename(layout: PriorLayout, rename: RenameLayout, model: Any, tokenizer: Any, index: int) -> None:
    """Set layer ``index`` (above the copy head) as the rename layer: heads 0 and 1 as described
    above, head 2 and the MLP silent."""
    import torch

    hd, dc, G = layout.head_dim, layout.code_dim, rename.match_nats
    c, _ = token_codes(layout, tokenizer)
    turn = tokenizer.convert_tokens_to_ids(TURN_START)
    kappa = norm_scale(layout, rename.layer3_norm2)
    s = math.sqrt(hd) / kappa**2  # q . k / sqrt(hd) of two normed unit features is 1 nat per unit
    # the turn starts are the sink: their B2 (the first one's is itself, the later ones' is
    # <|im_end|>) is projected out of the query, so their score does not depend on the copied token;
    # the name keeps 1 - (its overlap with those two codes)^2 of its match, 0.93 on average
    basis, _ = torch.linalg.qr(c[[turn, tokenizer.convert_tokens_to_ids("<|im_end|>")]].T)
    not_b2 = torch.eye(dc, dtype=torch.float64) - basis @ basis.T
    content = layout.content_dims()
    block_n = torch.tensor(content[:dc])
    conn_dim, ri_dim, thr_dim, sink_dim = content[dc : dc + 4]
    q, k, v, o = zeros(layout)
    k[block_n, layout.spans["B2"]] = torch.eye(dc, dtype=torch.float64)
    k[conn_dim, layout.spans["CB1"]] = 1.0 / layout.connector_flag
    k[ri_dim, layout.spans["RI"]] = 1.0
    k[thr_dim, 0] = 1.0 / layout.const
    k[sink_dim, layout.spans["S0"]] = 1.0 / layout.turn_flag
    width = layout.out_dim
    v[:width, layout.spans["Q"]] = torch.eye(width, dtype=torch.float64) / kappa
    sink = rename.threshold - 2.0 + rename.sink_margin  # a turn start has RI = 1 and nothing else
    t, u = twin_maps(layout)
    # head 0: the name as the instruction spells it (" add"); head 1: its bare twin ("add", as in
    # self.add), whose code is T c(" add"), answered with the bare twin of the new name, U o(" sum")
    for head, (t_h, u_h) in enumerate(((torch.eye(dc, dtype=torch.float64), torch.eye(width, dtype=torch.float64)), (t, u))):
        at = head * hd
        q[at + block_n, layout.spans["N"]] = 2 * G * s * not_b2 @ t_h.T
        q[at + conn_dim, 0] = 2 * G * s / layout.const
        q[at + ri_dim, 0] = 2 * G * s / layout.const
        q[at + thr_dim, 0] = -rename.threshold * G * s / layout.const
        q[at + sink_dim, 0] = sink * G * s / layout.const
        o[layout.spans["P"], at : at + width] = rename.emit_gain * u_h
    layer = model.model.layers[index]
    with torch.no_grad():
        set_attention(layer.self_attn, q, k, v, o)
        layer.mlp.down_proj.weight.zero_()


def rename_layout(layers: int) -> PriorLayout:
    """The layout of a copy prior with the rename path: its window as the rename path was measured
    with (16 nats, no segments: their flag does not fit beside the rename dims)."""
    return PriorLayout(hidden=RENAME_HIDDEN, rename=True, layers=layers, window_nats=16.0, segment_nats=0.0)


def build_rename_prior(tokenizer: Any, layout: PriorLayout | None = None,
                       rename: RenameLayout | None = None) -> Any:
    """The copy prior with the region head and a rename layer right above the copy head (layer 3);
    any layers above that stay the identity."""
    layout = layout or rename_layout(4)
    if not layout.rename or layout.layers < 4:
        raise ValueError("a rename prior needs PriorLayout(rename=True) and at least 4 layers")
    model = build_copy_prior(tokenizer, layout)
    wire_region(layout, model)
    wire_rename(layout, rename or RenameLayout(), model, tokenizer, 3)
    return model
