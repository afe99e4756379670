"""The copy prior's layout: the residual's wired subspaces and every constant the hand-wired
circuit is built from (code widths, gains, the window, the marker flags, the repeat head, the
segments), with the derived quantities the wiring needs (residual norms, RoPE pairs).

Knows numbers and names of subspaces; nothing about tokenizers, tensors or models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PriorLayout:
    hidden: int = 417
    code_dim: int = 27  # width of an input code; K of them form the copy head's match
    out_dim: int = 56  # width of an output code (8192 of them must stay apart)
    context: int = 8  # tokens the copy head matches (K); B1..BK are wired by OFFSET_LAYERS
    layers: int = 5  # three wired layers, the rest learned
    heads: int = 3
    head_dim: int = 290
    intermediate: int = 512
    rope_theta: float = 1e30  # most RoPE pairs turn < 0.15 rad over 4096 positions (float32-safe)
    max_positions: int = 4096
    const: float = 1.0
    input_scale: float = 0.5  # weight of A in the embedding: how much logits favour repeating x[t]
    copy_gain: float = 4.0  # size of the copied output code in P
    position_sharpness: float = 40.0  # attention logit per unit of positional gap
    match_nats: float = 10.0  # copy attention logit per matching context token
    match_decay: float = 0.97  # nearer context tokens weigh a little more
    marker_decay: float | None = None  # the marker's weight per slot (None: as match_decay)
    near_context: int = 3  # tokens the second, less noisy copy head matches
    marker_match: float = 3.0  # extra weight of a context slot where both sides hold the <code> code
    window_sigma: float = 40.0  # width (tokens) of W, the soft bag of recent input codes
    window_nats: float = 32.0  # copy logit for a perfect W match: breaks ties of K equal tokens
    close_margin: float = 0.5
    marker: float = 0.3  # R0 of the four markers; R1 +marker for <updated-code>, -marker for the others
    marker_nats: float = 12000.0  # the marker head's logit for a marker (beats any recency term)
    recency_nats: float = 6000.0  # ... minus this times sin(f * distance): the latest marker wins
    rewrite_nats: float = 100.0  # copy logit taken off every key inside the rewrite
    repeat_penalty: float = 1.5  # logit the repeat head takes off what followed the same context earlier in the rewrite
    repeat_threshold: float = 6.5  # context tokens (of K, weighted) a rewrite key must match for the repeat head to fire
    rename: bool = False  # three more dims for rename_prior: RI, CONN, CB1 (see there); needs hidden 420
    segment_nats: float = 3.0  # window logit a key in the query's own segment gains (0: no segments)
    segment_flag: float = 0.1  # G where the latest marker opens code (<code>, <updated-code>), else 0
    turn_flag: float = 0.15  # S0 of the turn start
    connector_flag: float = 0.3  # CONN of a connector token (rename_codes.CONNECTORS)
    seed: int = 0
    spans: dict[str, slice] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        names = [("A", self.code_dim)] + [(f"B{m}", self.code_dim) for m in range(1, self.context + 1)]
        names += [("W", self.code_dim), ("N", self.code_dim), ("Q", self.out_dim), ("P", self.out_dim), ("F", 1)]
        names += [("R0", 1), ("R1", 1), ("R", 1), ("Z", 1), ("S0", 1)]
        if self.rename:
            names += [("RI", 1), ("CONN", 1), ("CB1", 1)]
        if self.segments:
            names += [("G", 1)]
        at = 1
        for name, width in names:
            self.spans[name] = slice(at, at + width)
            at += width
        if at > self.hidden:
            raise ValueError(f"hidden {self.hidden} cannot hold {at} wired dimensions")
        if 2 * (self.head_dim // 2 - self.positional_pairs) < (self.context + 1) * self.code_dim + 2:
            raise ValueError("head_dim too small for the copy head's content match")
        if self.hidden % self.heads:
            raise ValueError("hidden must be a multiple of heads (a transformers check)")
        if self.segments and self.rename:
            raise ValueError("the segment window and the rename layout do not fit together")

    @property
    def segments(self) -> bool:
        """Whether the window is kept to the query's segment: the instruction, the file, the rewrite."""
        return self.segment_nats > 0

    @property
    def base_norm2(self) -> float:
        """Squared norm of every embedding without its unit output code (the constant, A and F)."""
        return self.const**2 + self.input_scale**2 + self.close_margin**2

    def residual_norms2(self) -> list[float]:
        """Squared residual norm entering layers 0, 1 and 2 (R, from layer 0 on, is +-marker)."""
        base, r = self.base_norm2, self.marker**2
        if self.segments:  # the nominal norm is the file's and the rewrite's, where G is set
            r += self.segment_flag**2
        return [base + 1.0, base + 3.0 + r, base + self.context + 1.0 + self.window_norm2() + r]

    def content_dims(self) -> list[int]:
        """A head's dims whose RoPE pairs barely turn, so position does not count there."""
        half = self.head_dim // 2
        return list(range(self.positional_pairs, half)) + [half + i for i in range(self.positional_pairs, half)]

    @property
    def turn_sink(self) -> bool:
        """Whether the turn starts carry S0 and no output code, as the sink of a head that writes nothing there."""
        return self.rename or self.repeat_penalty > 0

    def frequencies(self) -> list[float]:
        return [self.rope_theta ** (-2 * i / self.head_dim) for i in range(self.head_dim // 2)]

    @property
    def positional_pairs(self) -> int:
        return sum(1 for f in self.frequencies() if f * self.max_positions > 0.15)

    @property
    def window_pair(self) -> int:
        """The fastest positional pair that turns by at most pi over max_positions: its cosine falls
        monotonically with distance, which makes the context window a half-Gaussian."""
        return next(i for i, f in enumerate(self.frequencies()) if f * self.max_positions <= math.pi)

    @property
    def recency_pair(self) -> int:
        """The fastest positional pair whose sine rises over all of max_positions."""
        return next(i for i, f in enumerate(self.frequencies()) if f * self.max_positions <= math.pi / 2)

    def window_weights(self) -> list[float]:
        return [math.exp(-d * d / (2 * self.window_sigma**2)) for d in range(int(6 * self.window_sigma) + 1)]

    def window_norm2(self) -> float:
        """Expected squared norm of W: a weighted average of unit codes that are nearly orthogonal."""
        w = self.window_weights()
        return sum(x * x for x in w) / sum(w) ** 2

    def scale_of(self, name: str) -> float:
        return self.input_scale if name == "A" else 1.0
