"""The options of `fastapply train STEP`: every subcommand's arguments, with numeric ranges checked
while they are parsed (``fastapply.cli.numbers``), so a value out of range is exit 2 before any
data or model is loaded.

Knows the options and their ranges; nothing about what the steps do with them (``cli.train``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fastapply.cli.numbers import integer, real
from fastapply.train.model import COPY_PRIOR, PRESETS

SIZES = [*PRESETS, COPY_PRIOR]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    steps = parser.add_subparsers(dest="step", metavar="STEP")
    tok = steps.add_parser("tokenizer", help="train the byte-level BPE tokenizer on local Python source")
    tok.add_argument("--out", type=Path, default=Path("runs/tokenizer"))

    data = steps.add_parser("data", help="generate synthetic (and real, --from-git) edits")
    data.add_argument("--out", type=Path, default=Path("runs/data"))
    data.add_argument("--max-files", type=integer(1), default=8000)
    data.add_argument("--per-source", type=integer(1), default=1, help="edits drawn per source chunk")
    data.add_argument("--max-tokens", type=integer(1), default=1536, help="cap on prompt + target tokens")
    data.add_argument("--eval-per-kind", type=integer(0), default=12)
    data.add_argument("--from-git", type=Path, action="append", default=[], metavar="REPO",
                      help="also use real edits: commits that change exactly one .py file")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--heldout-only", action="store_true", help="only (re)draw the held-out edits")

    win = steps.add_parser("windows", help="one curriculum phase's edit-dense windows (issue 18)")
    win.add_argument("--phase", default="rename-single", help="curriculum phase (see fastapply.train.curriculum)")
    win.add_argument("--out", type=Path, required=True)
    win.add_argument("--max-files", type=integer(1), default=20000)
    win.add_argument("--max-windows", type=integer(1), default=4000)
    win.add_argument("--heldout-windows", type=integer(1), default=96)
    win.add_argument("--max-minutes", type=real(above=0), default=10.0, help="stop drawing after, keeping what was drawn")
    win.add_argument("--seed", type=int, default=0)
    win.add_argument("--workers", type=integer(1), default=1, help="processes drawing training windows")

    model = steps.add_parser("model", help="train (or resume training) the apply model")
    model.add_argument("--data", type=Path, default=Path("runs/data"))
    model.add_argument("--run", type=Path, default=Path("runs/model"))
    model.add_argument("--size", default="small", choices=SIZES,
                       help="toy, tiny, small, base, or copy (hand-wired copy layers, the rest trained)")
    model.add_argument("--lr", type=real(above=0), default=2e-3)
    model.add_argument("--total-steps", type=integer(1), default=2000, help="length of the lr schedule")
    model.add_argument("--tokens-per-batch", type=integer(1), default=6144)
    model.add_argument("--max-minutes", type=real(above=0), default=9.0, help="stop this invocation after")
    model.add_argument("--threads", type=integer(1), default=2)
    model.add_argument("--edit-weight", type=real(above=0), default=1.0,
                       help="loss weight of the tokens a verbatim copy of the file would get wrong")
    model.add_argument("--resume", action="store_true", help="continue from RUN/ckpt.pt (an error when there is none)")
    model.add_argument("--init-from", type=Path, metavar="CKPT",
                       help="start from the weights of an earlier run's ckpt.pt (the next curriculum phase)")
    model.add_argument("--probe-every", type=integer(0), default=0, metavar="N",
                       help="score DATA/heldout_windows.pt every N steps and stop on the stop rule (0: never)")
    model.add_argument("--warmup-steps", type=integer(0), default=60)
    model.add_argument("--train-embeddings", action="store_true",
                       help="copy preset: train the tied embeddings too (the wired layers stay frozen)")

    ev = steps.add_parser("eval", help="exact match per edit kind on held-out files, and speed")
    ev.add_argument("--model", dest="model", default=argparse.SUPPRESS, help="model folder to evaluate")
    ev.add_argument("--data", type=Path, default=Path("runs/data"))
    ev.add_argument("--limit", type=integer(0), default=0, help="at most this many edits per kind (0: all)")
    ev.add_argument("--kind", dest="kinds", action="append", default=[], metavar="KIND",
                    help="only edits of this kind (repeat for several; default: every kind)")
    ev.add_argument("--method", default="speculative", choices=["greedy", "prompt-lookup", "speculative"])
    ev.add_argument("--bench", type=integer(0), default=3, help="rename edits to time greedy vs speculative")
    ev.add_argument("--out", type=Path, help="also write the report as JSON here")

    er = steps.add_parser("errors", help="teacher-forced errors on held-out edits, by where they fall "
                          "(edited tokens, after an edit, ties of the copy's context, ...)")
    er.add_argument("--model", dest="model", default=argparse.SUPPRESS, help="model folder to evaluate")
    er.add_argument("--data", type=Path, default=Path("runs/data"))
    er.add_argument("--kind", dest="kinds", action="append", default=[], metavar="KIND",
                    help="only edits of this kind (repeat for several; default: every kind)")
    er.add_argument("--context", type=integer(1), default=8, help="tokens of context that make a tie (the copy head's K)")
    er.add_argument("--out", type=Path, help="also write the report as JSON here")

    cmp = steps.add_parser("compare", help="the card's shipping rule: is CANDIDATE at least as good as BASE on "
                           "every figure, and better on one? (exit 0 yes, 1 no)")
    cmp.add_argument("base", type=Path, help="'train eval --out' report of the shipped model")
    cmp.add_argument("candidate", type=Path, help="'train eval --out' report of the candidate, on the same edits")

    ex = steps.add_parser("export", help="copy a trained model into a shippable folder")
    ex.add_argument("--run", type=Path, default=Path("runs/model"))
    ex.add_argument("--to", type=Path, required=True)
    ex.add_argument("--bf16", action="store_true", help="store the weights in bfloat16")
    ex.add_argument("--data", type=Path, default=Path("runs/data"), help="for the card: summary.json")
    ex.add_argument("--learned-scale", type=real(at_least=0, at_most=1), default=1.0, metavar="ALPHA",
                    help="copy preset only: scale the trained layers' residual writes by ALPHA in [0, 1] "
                         "(0: the untrained circuit, 1: the trained model)")
    ex.add_argument("--eval", type=Path, help="for the card: the JSON written by 'train eval --out'")
    ex.add_argument("--hardware", default="2 shared CPU cores (no GPU)", help="for the card")
    ex.add_argument("--notes", type=Path, help="for the card: what the model can and cannot do (markdown)")

    gr = steps.add_parser("graft-rename", help="put the wired rename path (one-token names) under a trained "
                          "copy-preset model's layers, into a new model folder")
    gr.add_argument("--model", dest="source", type=Path, default=None,
                    help="the model folder to graft (default: the embedded default model)")
    gr.add_argument("--to", type=Path, required=True, help="a new folder for the grafted model")
    gr.add_argument("--keep", default=None, metavar="I,J",
                    help="the trained layers to keep, in order (default: all of them)")
    gr.add_argument("--rename-last", action="store_true", help="put the rename layer above the trained ones")
    gr.add_argument("--fp32", action="store_true", help="store float32 weights (default: bfloat16)")

    rw = steps.add_parser("rewire", help="set a trained copy-preset model's wired layers from the current "
                          "circuit, keeping its trained layers, into a new model folder")
    rw.add_argument("--model", dest="source", type=Path, default=None,
                    help="the model folder to rewire (default: the embedded default model)")
    rw.add_argument("--to", type=Path, required=True, help="a new folder for the rewired model")
    rw.add_argument("--fp32", action="store_true", help="store float32 weights (default: bfloat16)")
    rw.add_argument("--repeat-penalty", type=real(at_least=0), default=None, metavar="P",
                    help="the repeat head's penalty (0: no repeat head, as the shipped default model; "
                         "default: the circuit's own)")
    rw.add_argument("--window-nats", type=real(at_least=0), default=None, metavar="N",
                    help="the copy window's logit for a perfect match (default: the circuit's own)")
    rw.add_argument("--segment-nats", type=real(at_least=0), default=None, metavar="N",
                    help="what a key in the window's own segment (instruction, file, rewrite) gains "
                         "over one outside (0: no segments; default: the circuit's own)")
    rw.add_argument("--match-decay", type=real(above=0, at_most=1), default=None, metavar="D",
                    help="the weight of each context token a step further back in the copy's match, "
                         "in (0, 1] (default: the circuit's own)")
    rw.add_argument("--marker-decay", type=real(above=0, at_most=1), default=None, metavar="D",
                    help="the same for the <code> marker's extra weight, in (0, 1] (default: as --match-decay)")
