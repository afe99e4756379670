"""Greedy verification as a Triton kernel: row argmax over the vocabulary, then the reference's accept rule.

Only importable where Triton is installed; the dispatcher in ``verify.py`` decides whether to use it.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from fastapply.kernels.verify_reference import accept_prefix


@triton.jit
def _row_argmax(logits_ptr, out_ptr, vocab, stride_row, BLOCK: tl.constexpr):
    # One program per row; ties resolve to the lowest index, as torch.argmax does.
    row = tl.program_id(0)
    base = logits_ptr + row * stride_row
    best_val = tl.full([BLOCK], float("-inf"), tl.float32)
    best_idx = tl.full([BLOCK], 0, tl.int64)
    for start in range(0, vocab, BLOCK):
        offs = start + tl.arange(0, BLOCK)
        vals = tl.load(base + offs, mask=offs < vocab, other=float("-inf")).to(tl.float32)
        better = vals > best_val
        best_val = tl.where(better, vals, best_val)
        best_idx = tl.where(better, offs.to(tl.int64), best_idx)
    top = tl.max(best_val, axis=0)
    cand = tl.where(best_val == top, best_idx, vocab)
    tl.store(out_ptr + row, tl.min(cand, axis=0))


def verify_triton(logits: torch.Tensor, draft: torch.Tensor) -> torch.Tensor:
    """Same contract as ``verify_reference``; ``logits`` must be a CUDA tensor with unit stride."""
    preds = torch.empty(logits.shape[0], dtype=torch.int64, device=logits.device)
    _row_argmax[(logits.shape[0],)](logits, preds, logits.shape[1], logits.stride(0), BLOCK=1024)
    return accept_prefix(preds, draft)
