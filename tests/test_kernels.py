"""The verify kernel matches its PyTorch reference; CUDA-only kernels skip on CPU machines."""

from __future__ import annotations

import pytest
import torch

from fastapply.kernels.verify import use_kernel, verify
from fastapply.kernels.verify_reference import row_argmax, verify_reference


def _naive(logits: torch.Tensor, draft: torch.Tensor) -> list[int]:
    preds = logits.float().argmax(-1).tolist()
    n = 0
    while n < len(draft) and preds[n] == int(draft[n]):
        n += 1
    return [n, preds[n]]


def _case(w: int, vocab: int, dtype: torch.dtype, agree: int, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(w * 1000 + vocab + agree)
    logits = torch.randn(w, vocab, generator=g).to(dtype)
    preds = logits.float().argmax(-1)
    draft = preds[:-1].clone()
    if agree < w - 1:
        draft[agree] = (draft[agree] + 1) % vocab
    return logits.to(device), draft.to(device)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("w,vocab", [(1, 7), (2, 33), (5, 1000), (17, 8191), (129, 151936)])
def test_reference_accepts_the_longest_matching_prefix(w: int, vocab: int, dtype: torch.dtype) -> None:
    for agree in {0, (w - 1) // 2, w - 1}:
        logits, draft = _case(w, vocab, dtype, agree)
        assert verify_reference(logits, draft).tolist() == _naive(logits, draft)
        assert verify(logits, draft).tolist() == _naive(logits, draft)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_the_greedy_pick_is_argmax_on_ties_nans_and_strided_rows(dtype: torch.dtype) -> None:
    """Greedy and verification pick through ``row_argmax``; it must be ``argmax`` exactly."""
    g = torch.Generator().manual_seed(7)
    ties = torch.randint(0, 3, (200, 8192), generator=g).to(dtype)  # every row has many maxima
    nans = torch.randn(50, 1000, generator=g).to(dtype)
    nans[::2, 500] = float("nan")
    strided = torch.randn(9, 2 * 4099, generator=g).to(dtype)[:, ::2]
    for rows in (ties, nans, strided, ties[:1]):
        assert torch.equal(row_argmax(rows), rows.argmax(dim=-1))


def test_bad_shapes_and_dtypes_are_refused() -> None:
    logits = torch.zeros(4, 10)
    with pytest.raises(ValueError, match=r"\[w - 1\]"):
        verify(logits, torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="int64"):
        verify(logits, torch.zeros(3, dtype=torch.int32))
    with pytest.raises(ValueError, match="vocab"):
        verify(torch.zeros(4), torch.zeros(3, dtype=torch.int64))


def test_unknown_kernel_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kernel"):
        use_kernel("cublas")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("w,vocab", [(1, 7), (5, 1000), (17, 8191), (129, 151936), (257, 152064)])
def test_triton_matches_reference(w: int, vocab: int, dtype: torch.dtype) -> None:
    pytest.importorskip("triton")
    from fastapply.kernels.verify_triton import verify_triton

    for agree in {0, (w - 1) // 2, w - 1}:
        logits, draft = _case(w, vocab, dtype, agree, "cuda")
        assert verify_triton(logits, draft).tolist() == verify_reference(logits, draft).tolist()
