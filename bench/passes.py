"""Per-batch cost of the network's one forward/backward pass, as the training kernel uses it.

The training kernel (:class:`gradcheck.nn.kernel.BatchKernel`) runs the network's own
forward and backward passes with preallocated buffers; the hidden layers' in-place
backward (``Activation.backward_into``) is built from each activation's one derivative.
This script times what that design could cost, so a change to it can be judged by numbers:

* ``kernel``: one ``BatchKernel.loss_and_grad`` call on a 784-100-10 float32 network,
  softmax + cross-entropy, batch 128 (bench/run.py's epoch shape), per hidden activation;
* ``backward_into``: the in-place vjp of one hidden layer (128 x 100, float32) alone;
* ``loss_and_grad``: ``Network.loss_and_grad`` on the same batch (allocating), relu;
* ``fit``: one epoch of ``fit`` (Adam, batch 128, relu) over 12,800 rows, milliseconds.

Usage::

    python bench/passes.py                # best of 7 x 200 calls, microseconds per call
    python bench/passes.py --clock cpu    # CPU time of this process instead of wall time
    python bench/passes.py --json out.json

Times are the best of several repeats; on a shared machine that is the figure least
disturbed by other processes, and ``--clock cpu`` with ``OPENBLAS_NUM_THREADS=1`` is less
disturbed still (another process's load does not count against this one).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import load_average

from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.kernel import BatchKernel
from gradcheck.nn.network import Network
from gradcheck.train.loop import fit

SIZES, BATCH = [784, 100, 10], 128
HIDDEN = ("relu", "tanh", "sigmoid", "identity")


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCKS["wall"]


def _per_call(fn, calls: int, repeats: int) -> float:
    """Microseconds per call: the best of ``repeats`` loops of ``calls`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = _clock()
        for _ in range(calls):
            fn()
        best = min(best, _clock() - start)
    return best / calls * 1e6


def _batch(net: Network, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((BATCH, SIZES[0]), dtype=np.float32)
    Y = net.targets(rng.integers(0, SIZES[-1], BATCH), BATCH)
    return X, Y


def time_kernel(hidden: str, calls: int, repeats: int) -> float:
    net = Network(SIZES, hidden=hidden, dtype=np.float32, init="he", seed=0)
    X, Y = _batch(net)
    kernel = BatchKernel(net, BATCH)
    return _per_call(lambda: kernel.loss_and_grad(X, Y), calls, repeats)


def time_backward_into(hidden: str, calls: int, repeats: int) -> float:
    act = ACTIVATIONS[hidden]
    rng = np.random.default_rng(1)
    z = rng.standard_normal((BATCH, SIZES[1]), dtype=np.float32)
    a, g = act.fn(z), rng.standard_normal(z.shape, dtype=np.float32)
    return _per_call(lambda: act.backward_into(z, a, g), calls, repeats)


def time_loss_and_grad(calls: int, repeats: int) -> float:
    net = Network(SIZES, hidden="relu", dtype=np.float32, init="he", seed=0)
    X, Y = _batch(net)
    return _per_call(lambda: net.loss_and_grad(X, Y), calls, repeats)


def time_fit_epoch(repeats: int, n_rows: int = 12_800) -> float:
    rng = np.random.default_rng(2)
    X = rng.random((n_rows, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], n_rows)

    def epoch():
        net = Network(SIZES, hidden="relu", dtype=np.float32, init="he", seed=0)
        fit(net, X, y, optimizer="adam", lr=1e-3, schedule="constant", epochs=1,
            batch_size=BATCH, seed=0)
    return _per_call(epoch, 1, repeats) / 1e3


def main(argv=None) -> int:
    global _clock
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    _clock = CLOCKS[args.clock]
    rows = []
    for hidden in HIDDEN:
        rows.append({"case": "kernel", "hidden": hidden,
                     "us": time_kernel(hidden, args.calls, args.repeats)})
    for hidden in HIDDEN:
        rows.append({"case": "backward_into", "hidden": hidden,
                     "us": time_backward_into(hidden, args.calls * 5, args.repeats)})
    rows.append({"case": "loss_and_grad", "hidden": "relu",
                 "us": time_loss_and_grad(args.calls, args.repeats)})
    rows.append({"case": "fit", "hidden": "relu", "ms": time_fit_epoch(args.repeats)})
    for row in rows:
        value, unit = (row["us"], "us") if "us" in row else (row["ms"], "ms")
        print(f"{row['case']:<14} {row['hidden']:<9} {value:9.1f} {unit}")
    print(f"{args.clock} clock; load average {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
