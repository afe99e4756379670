"""A copy prior: a small Llama whose first three layers are set by hand to copy from context.

An apply model's output is mostly the original file verbatim, and a model of a few million
parameters trained on a CPU for an hour does not learn to copy thousands of tokens. So three layers
are written directly as an induction circuit, and training only has to learn the edits:

- every token's embedding holds a constant (dimension 0), a random unit input code ``c(token)`` in
  subspace A, and a random unit output code ``o(token)`` in subspace P, which the tied embeddings
  read as logits;
- layer 0 moves the token's own ``o`` from P to Q (so P starts empty) and copies ``c`` of the
  tokens 1 and 2 back into B1, B2; layer 1 copies A, B1, B2 of the tokens 3 and 6 back into B3..B8.
  A head looks exactly m back by a RoPE phase on the constant, on the high-frequency pairs;
- layer 2's copy head scores every earlier position j by how many of the K tokens before it equal
  the K latest (weighted, nearest first; the ``<code>`` marker weighs more, so the rewrite starts
  where the file does) and the windows W (which lean to their own segment: instruction, file or
  rewrite, by the latest marker's R and G), on RoPE pairs whose frequency is so low that position
  does not count, and writes ``o(x[j])`` into P: the model predicts what followed the same
  context; its repeat head (outside the rename layout) takes a little off what followed the same
  context earlier in the rewrite itself, so a copy that has written a passage once does not go
  round it again;
- the remaining layers start as the identity (zero output projections) and are trained.

It has no sense of position beyond K tokens: where the same K tokens occur twice and are followed
by different tokens, it hesitates between them (the repeat head settles it only once the rewrite
has passed one of them), and training has to do better. Two identities make the wrapper line up:
``<updated-code>`` reads like ``<code>``, and predicting ``</code>`` comes out as
``</updated-code>``. Knows transformers' Llama and the project's markers; knows nothing about data
or training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastapply.engine.load import COMPUTE_DTYPE_KEY
from fastapply.engine.prompt import CLOSE_CODE, CLOSE_OUTPUT, MARKERS, OPEN_CODE, OPEN_OUTPUT
from fastapply.train.prior_layout import PriorLayout
from fastapply.train.wiring import fill_norm, norm_scale, set_attention, wire_move, wire_square, zeros

TURN_START = "<|im_start|>"  # the chat template's turn start, the first token of every prompt


@dataclass(frozen=True, slots=True)
class Route:
    """One wired head: look ``offset`` back and add subspace ``src`` there (times sign) to ``dest``.
    A ``window`` head looks at all recent tokens instead, weighted by a half-Gaussian of distance;
    a ``marker`` head looks for ``<updated-code>``."""

    offset: int
    moves: tuple[tuple[str, str, float], ...]  # (src, dest, sign)
    window: bool = False
    marker: bool = False  # attend to the output marker instead (R0), if one came before


# layer 0: R = marker where the latest marker is <updated-code>: in the rewrite, which the copy
# head must not copy from;
# x[t-1] -> B1, x[t-2] -> B2; its MLP moves the own output code P -> Q
# layer 1: from t-3 read A,B1,B2 (x[t-3..t-5]) -> B3..B5; from t-6 -> B6..B8; a window of B1 -> W
# (W at j sums the codes of x[..j-1], the context a key j stands for)
OFFSET_LAYERS: tuple[tuple[Route, ...], ...] = (
    (Route(0, (("R1", "R", 1.0),), marker=True), Route(1, (("A", "B1", 1.0),)),
     Route(2, (("A", "B2", 1.0),))),
    (Route(3, (("A", "B3", 1.0), ("B1", "B4", 1.0), ("B2", "B5", 1.0))),
     Route(6, (("A", "B6", 1.0), ("B1", "B7", 1.0), ("B2", "B8", 1.0))),
     Route(0, (("B1", "W", 1.0),), window=True)),
)


def prior_config(layout: PriorLayout, tokenizer: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=layout.hidden, num_hidden_layers=layout.layers,
        num_attention_heads=layout.heads, num_key_value_heads=1, head_dim=layout.head_dim,
        intermediate_size=layout.intermediate, max_position_embeddings=layout.max_positions,
        rope_theta=layout.rope_theta, rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, attention_dropout=0.0,
        **{COMPUTE_DTYPE_KEY: "float32"},  # the wired logits are thousands of nats: bf16 breaks them
    )


def _unit_rows(rows: int, width: int, gen: Any) -> Any:
    import torch

    codes = torch.randn(rows, width, generator=gen, dtype=torch.float64)
    return codes / codes.norm(dim=1, keepdim=True)


def token_codes(layout: PriorLayout, tokenizer: Any) -> tuple[Any, Any]:
    """(input codes [vocab, code_dim], output codes [vocab, out_dim]), unit rows."""
    gen = __import__("torch").Generator().manual_seed(layout.seed)
    vocab = len(tokenizer)
    c = _unit_rows(vocab, layout.code_dim, gen)
    o = _unit_rows(vocab, layout.out_dim, gen)
    ids = {m: tokenizer.convert_tokens_to_ids(m) for m in (OPEN_CODE, CLOSE_CODE, OPEN_OUTPUT, CLOSE_OUTPUT)}
    c[ids[OPEN_OUTPUT]] = c[ids[OPEN_CODE]]
    o[ids[CLOSE_OUTPUT]] = o[ids[CLOSE_CODE]]
    if layout.rename:
        from fastapply.train.rename_codes import rename_codes

        rename_codes(layout, tokenizer, c, o)
    if layout.turn_sink:  # the turn start is never written, so a head that attends to it as a sink writes nothing
        o[tokenizer.convert_tokens_to_ids(TURN_START)] = 0.0
    if layout.segments:  # the other markers' codes orthogonal to <code>'s, so G reads 0 where they are latest
        code = c[ids[OPEN_CODE]]
        for marker in _markers(tokenizer):
            if marker not in (ids[OPEN_CODE], ids[OPEN_OUTPUT]):
                c[marker] -= (c[marker] @ code) * code
                c[marker] /= c[marker].norm()
    return c, o[:vocab]


def _wire_offsets(layout: PriorLayout, layer: Any, routes: tuple[Route, ...], kappa: float, code: Any) -> None:
    """Heads that look a fixed distance back; they share one key (the constant) and one value."""
    import torch

    hd, half = layout.head_dim, layout.head_dim // 2
    freqs = layout.frequencies()[: layout.positional_pairs]
    q, k, v, o = zeros(layout)
    const_in = 1.0 / (layout.const * kappa)
    for i in range(len(freqs)):
        k[i, 0] = const_in
    k[layout.positional_pairs, layout.spans["R0"]] = 1.0 / kappa
    sharp = layout.position_sharpness * math.sqrt(hd)  # undoes the attention's 1/sqrt(head_dim)
    reads = list(dict.fromkeys(src for r in routes for src, _, _ in r.moves))
    v_at: dict[str, int] = {}
    row = 0
    for name in reads:
        span, width = layout.spans[name], layout.spans[name].stop - layout.spans[name].start
        v[row : row + width, span] = torch.eye(width, dtype=torch.float64) / (layout.scale_of(name) * kappa)
        v_at[name] = row
        row += width
    assert row + layout.segments <= hd, "a layer's wired reads (and G's row) must fit one value head"
    for head, route in enumerate(routes):
        if route.window:  # a * cos(f * d) ~ a - d^2 / (2 sigma^2) for a = 1 / (sigma f)^2
            f = freqs[layout.window_pair]
            q[head * hd + layout.window_pair, 0] = math.sqrt(hd) * const_in / (layout.window_sigma * f) ** 2
        if route.marker:  # markers score marker_nats on a content pair, less recency_nats * sin(f d)
            q[head * hd + layout.positional_pairs, 0] = layout.marker_nats * math.sqrt(hd) * const_in / layout.marker
            q[head * hd + half + layout.recency_pair, 0] = layout.recency_nats * math.sqrt(hd) * const_in
        for i, f in enumerate(freqs if not (route.window or route.marker) else ()):  # cos(f * (t - j - offset))
            q[head * hd + i, 0] = sharp * math.cos(route.offset * f) * const_in
            q[head * hd + half + i, 0] = -sharp * math.sin(route.offset * f) * const_in
        for name, dest, sign in route.moves:
            span = layout.spans[dest]
            width = span.stop - span.start
            o[span, head * hd + v_at[name] : head * hd + v_at[name] + width] = sign * torch.eye(width, dtype=torch.float64)
    if layout.segments:
        _wire_segments(layout, routes, q, k, v, o, row, kappa, code)
    set_attention(layer.self_attn, q, k, v, o)


def _wire_segments(layout: PriorLayout, routes: tuple[Route, ...], q: Any, k: Any, v: Any, o: Any,
                   row: int, kappa: float, code: Any) -> None:
    """The marker head also writes G, its marker's input code read against ``code`` (``<code>``'s),
    through value ``row``; the window head scores R(t) R(j) (+-segment_nats / 2 on either side of
    ``<updated-code>``) and G(t) G(j) (segment_nats where both hold code, so the file's window keeps
    out of the instruction as well), on the two content pairs after the marker head's."""
    hd, r_pair, g_pair = layout.head_dim, layout.positional_pairs + 1, layout.positional_pairs + 2
    for head, route in enumerate(routes):
        if route.marker:
            v[row, layout.spans["A"]] = code / (layout.input_scale * kappa)
            o[layout.spans["G"], head * hd + row] = layout.segment_flag
        if route.window:
            k[r_pair, layout.spans["R"]] = 1.0 / kappa
            k[g_pair, layout.spans["G"]] = 1.0 / kappa
            gain = layout.segment_nats * math.sqrt(hd) / kappa
            q[head * hd + r_pair, layout.spans["R"]] = gain / (2 * layout.marker**2)
            q[head * hd + g_pair, layout.spans["G"]] = gain / layout.segment_flag**2


def _wire_copy(layout: PriorLayout, layer: Any, kappa: float, marker_code: Any) -> None:
    """Head 0 attends where the K tokens before j equal the K latest, head 1 where the nearest
    ``near_context`` do; both write o(x[j]) into P (and c(x[j]) into N), so their votes add: the
    near head is less noisy, the far one breaks the near one's ties.

    A slot where both sides hold ``marker_code`` (``<code>``, which ``<updated-code>`` reads like)
    counts ``1 + marker_match`` times: the rewrite's first K tokens line up with the file's first
    K. Without it the first tokens match only the few that follow the marker, and the window,
    which at the rewrite's start still covers the end of the file, pulls the copy there."""
    import torch

    hd, dc = layout.head_dim, layout.code_dim
    content = layout.content_dims()
    q, k, v, o = zeros(layout)
    eye = torch.eye(dc, dtype=torch.float64)
    marker = layout.marker_match * torch.outer(marker_code, marker_code)  # [dc, dc]
    marker_decay = layout.match_decay if layout.marker_decay is None else layout.marker_decay
    repeat = bool(layout.repeat_penalty) and not layout.rename  # the rename layout's region head takes head 2
    for s in range(layout.context):
        dims = torch.tensor(content[s * dc : (s + 1) * dc])
        src = "A" if s == 0 else f"B{s}"
        unit = layout.match_nats * math.sqrt(hd) / (layout.scale_of(src) * kappa)
        gain = unit * layout.match_decay**s
        q[dims, layout.spans[src]] = eye * gain + marker * unit * marker_decay**s
        if repeat:  # the repeat head matches the same K tokens, without the marker's weight
            q[2 * hd + dims, layout.spans[src]] = eye * gain
        if s < layout.near_context:
            q[hd + dims, layout.spans[src]] = (eye + marker) * unit
        k[dims, layout.spans[f"B{s + 1}"]] = eye / kappa
    # W at j (x[..j-1]) against W at t plus x[t] itself: a soft match of the context beyond K tokens
    dims = torch.tensor(content[layout.context * dc : (layout.context + 1) * dc])
    gain = layout.window_nats * math.sqrt(hd) / (layout.window_norm2() * kappa)
    q[dims, layout.spans["W"]] = eye * gain
    q[dims, layout.spans["A"]] += eye * gain / (sum(layout.window_weights()) * layout.input_scale)
    k[dims, layout.spans["W"]] = eye / kappa
    # minus |W[j]|^2 / 2 (Z, squared by layer 1's MLP): the window score is -|W[t] - W[j]|^2 / 2 plus a
    # constant, so a key whose window is merely longer (more repeated tokens) does not win
    zdim = content[(layout.context + 1) * dc + 1]
    q[zdim, 0] = -gain / (2 * layout.const)
    k[zdim, layout.spans["Z"]] = 1.0 / kappa
    # keys inside the rewrite lose rewrite_nats: copy the file, not what was already written
    last = content[(layout.context + 1) * dc]
    for head in (0, 1):
        q[head * hd + last, 0] = -layout.rewrite_nats * math.sqrt(hd) / (layout.marker * layout.const * kappa)
    k[last, layout.spans["R"]] = 1.0 / kappa
    width = layout.out_dim
    v[:width, layout.spans["Q"]] = torch.eye(width, dtype=torch.float64) / kappa
    v[width : width + dc, layout.spans["A"]] = eye / (layout.input_scale * kappa)
    if repeat:
        _wire_repeat(layout, q, k, o, content, kappa)
    for head in (0, 1):
        o[layout.spans["P"], head * hd : head * hd + width] = layout.copy_gain * torch.eye(width, dtype=torch.float64)
        # the predicted token's input code, for the learned layers; for the rename layer, the far
        # head's alone (the near head splits where 3 tokens recur, and a split code reads as no name)
        share = (1.0 if head == 0 else 0.0) if layout.rename else 0.5
        o[layout.spans["N"], head * hd + width : head * hd + width + dc] = eye * share
    set_attention(layer.self_attn, q, k, v, o)


def _wire_repeat(layout: PriorLayout, q: Any, k: Any, o: Any, content: list[int], kappa: float) -> None:
    """Head 2 attends to the key inside the rewrite whose K context tokens match the latest K and
    takes ``repeat_penalty`` off the logit of what followed it there. A copy that jumps back to a
    passage it already wrote is split between the two places where the same context occurs, or
    leans to the wrong one. The penalty tips it to the one not written yet; a copy sure of its
    place (a vote of 2 x ``copy_gain``) keeps its token. Where no rewrite key matches
    ``repeat_threshold`` tokens, the head attends to the turn starts (S0), whose output code is
    zero, and writes nothing."""
    import torch

    hd, dc, at = layout.head_dim, layout.code_dim, 2 * layout.head_dim
    # its context match is set with the copy heads'. Keys inside the rewrite gain rewrite_nats, the
    # others lose it; the turn starts get both back and the threshold's share of a full match
    last, sink = content[(layout.context + 1) * dc], content[(layout.context + 1) * dc + 2]
    q[at + last, 0] = layout.rewrite_nats * math.sqrt(hd) / (layout.marker * layout.const * kappa)
    k[sink, layout.spans["S0"]] = 1.0 / (layout.turn_flag * kappa)
    mean_decay = sum(layout.match_decay**s for s in range(layout.context)) / layout.context
    sink_nats = 2 * layout.rewrite_nats + layout.repeat_threshold * layout.match_nats * mean_decay
    q[at + sink, 0] = sink_nats * math.sqrt(hd) / (layout.const * kappa)
    o[layout.spans["P"], at : at + layout.out_dim] = -layout.repeat_penalty * torch.eye(layout.out_dim, dtype=torch.float64)


def _markers(tokenizer: Any) -> list[int]:
    """The prompt's markers, and the chat template's turn start, which is the first token: so every
    position has a latest marker, and R is never 0."""
    names = [*MARKERS, TURN_START]
    unk = tokenizer.unk_token_id
    return [i for i in (tokenizer.convert_tokens_to_ids(n) for n in names) if i is not None and i != unk]


def wired_parameter_names() -> tuple[str, ...]:
    """Prefixes of the parameters set by hand (the tied embeddings among them)."""
    layers = range(len(OFFSET_LAYERS) + 1)
    return ("model.embed_tokens.", "lm_head.", *(f"model.layers.{i}." for i in layers))


def build_copy_prior(tokenizer: Any, layout: PriorLayout | None = None) -> Any:
    """A LlamaForCausalLM that copies from context before any training."""
    import torch
    from transformers import LlamaForCausalLM

    layout = layout or PriorLayout()
    torch.manual_seed(layout.seed)
    model = LlamaForCausalLM(prior_config(layout, tokenizer))
    c, o = token_codes(layout, tokenizer)
    emb = torch.zeros(len(tokenizer), layout.hidden, dtype=torch.float64)
    emb[:, 0] = layout.const
    # </code> and </updated-code> share an output code; a sign flip in F makes the latter win
    ids = {name: tokenizer.convert_tokens_to_ids(name) for name in MARKERS}
    emb[:, layout.spans["F"]] = layout.close_margin
    emb[ids[CLOSE_CODE], layout.spans["F"]] = -layout.close_margin
    emb[:, layout.spans["A"]] = layout.input_scale * c
    emb[:, layout.spans["P"]] = o
    # every token's embedding has the same norm, so RMSNorm scales all positions alike: the wired
    # heads' logits are large, and a key 1% longer than the rest would win by tens of nats
    for marker in _markers(tokenizer):
        emb[marker, layout.spans["R0"]] = layout.marker
        emb[marker, layout.spans["R1"]] = layout.marker * (1 if marker == ids[OPEN_OUTPUT] else -1)
        if not layout.rename:
            emb[marker, layout.spans["F"]] *= math.sqrt(1 - 2 * layout.marker**2 / layout.close_margin**2)
    if layout.turn_sink:  # S0 marks the turn starts, a sink for heads that write nothing; their F takes up
        # the missing output code and the flag, with a sign that lowers their logit
        turn = tokenizer.convert_tokens_to_ids(TURN_START)
        emb[turn, layout.spans["S0"]] = layout.turn_flag
        emb[turn, layout.spans["F"]] = -1.0
    if layout.rename:
        from fastapply.train.rename_codes import rename_flags

        rename_flags(layout, tokenizer, emb)
    elif layout.turn_sink:
        fill_norm(layout, emb, [turn])
    norms = layout.residual_norms2()
    code = c[ids[OPEN_CODE]]
    with torch.no_grad():
        model.model.embed_tokens.weight.copy_(emb.float())
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        for index, routes in enumerate(OFFSET_LAYERS):
            if layout.rename and index == 0:  # the offset-1 head also carries the connector flag
                routes = tuple(Route(r.offset, (*r.moves, ("CONN", "CB1", 1.0)), r.window, r.marker)
                               if r.offset == 1 and not (r.window or r.marker) else r for r in routes)
            _wire_offsets(layout, model.model.layers[index], routes, norm_scale(layout, norms[index]), code)
        wire_move(layout, model.model.layers[0].mlp, "P", "Q", norm_scale(layout, norms[1]))
        wire_square(layout, model.model.layers[1].mlp, "W", "Z", norm_scale(layout, norms[2]))
        _wire_copy(layout, model.model.layers[len(OFFSET_LAYERS)], norm_scale(layout, norms[-1]), code)
    model.tie_weights()
    return model
