"""The verify step behind one function: ``verify(logits, draft) -> [accepted, next_token]``.

The implementation is chosen once, at import: the PyTorch reference everywhere, the Triton kernel
only when ``FASTAPPLY_KERNELS=triton`` is set on a CUDA machine with Triton installed. It is not
the CUDA default because it has not been shown to beat the reference there (the bench decides;
see README). ``use_kernel`` overrides the choice in tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from fastapply.kernels.verify_reference import verify_reference

VerifyFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _triton_available() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _load(name: str) -> VerifyFn:
    if name == "reference":
        return verify_reference
    if name == "triton":
        if not _triton_available():
            raise RuntimeError("the triton verify kernel needs CUDA and the triton package")
        from fastapply.kernels.verify_triton import verify_triton

        return verify_triton
    raise ValueError(f"unknown kernel choice {name!r}; use 'reference' or 'triton'")


_impl: VerifyFn = _load(os.environ.get("FASTAPPLY_KERNELS", "reference"))


def use_kernel(name: str) -> None:
    """Switch the verify implementation (``"reference"`` or ``"triton"``)."""
    global _impl
    _impl = _load(name)


def verify(logits: torch.Tensor, draft: torch.Tensor) -> torch.Tensor:
    """Check shapes, then run the chosen implementation (see ``verify_reference``)."""
    if logits.dim() != 2:
        raise ValueError(f"logits must be [w, vocab], got shape {tuple(logits.shape)}")
    if draft.dim() != 1 or draft.shape[0] != logits.shape[0] - 1:
        raise ValueError(
            f"draft must be [w - 1] = [{logits.shape[0] - 1}], got shape {tuple(draft.shape)}"
        )
    if draft.dtype != torch.int64:
        raise ValueError(f"draft must be int64, got {draft.dtype}")
    if logits.device.type == "cuda" and logits.stride(-1) != 1:
        logits = logits.contiguous()
    return _impl(logits, draft)
