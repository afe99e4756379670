"""The inference engine: model loading, prompts, drafting, speculative edits, streaming, bench.

Importing this package loads no torch; the modules that need it import it themselves.
"""
