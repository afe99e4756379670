"""The bench harness, apart from the engine's library: cases, random-weight shapes, replay, runs.

``harness.run_bench`` runs every decoding method on the same cases side by side; ``replay`` pins
a model's logits to a case's text; ``shapes`` builds random-weight models of real shapes. Nothing
in the engine's library imports this package.
"""
