"""Per-forward overhead: a decoding step or a rollback does not copy the KV cache.

transformers' own ``DynamicLayer`` re-concatenates the whole cache at every forward (checked
here too, so the test notices if that ever changes); the engine's cache writes the new positions
into the same storage until it has to grow.
"""

from __future__ import annotations

from engine_support import tiny_model

from fastapply.engine.decode import ModelSession


def _storages(session: ModelSession) -> list[int]:
    return [layer.keys.untyped_storage().data_ptr() for layer in session.cache.layers]


def _step_storages(session: ModelSession, steps: int) -> list[tuple[int, ...]]:
    seen = []
    for i in range(steps):
        session.forward([i + 1])
        if i % 3 == 2:
            session.rollback(session.length - 2)  # a partly rejected draft
        seen.append(tuple(_storages(session)))
    return seen


def test_steps_and_rollbacks_reuse_one_storage() -> None:
    lm = tiny_model("llama")
    session = ModelSession(lm.model, lm.device)
    session.prefill(list(range(300)))  # capacity 512 after this
    assert len(set(_step_storages(session, 60))) == 1


def test_transformers_dynamic_layer_copies_every_forward() -> None:
    from transformers import DynamicCache

    lm = tiny_model("llama")
    session = ModelSession(lm.model, lm.device)
    session.cache = DynamicCache(config=lm.model.config)
    session.prefill(list(range(300)))
    seen = _step_storages(session, 10)
    # The old tensor is still alive while the new one is written, so each forward moves it.
    assert all(a != b for a, b in zip(seen, seen[1:]))
