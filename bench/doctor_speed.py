"""How long the doctor's diagnosis takes beyond the numerical gradient, on 19,885 parameters.

A 784-25-10 sigmoid/softmax network with L2 on the 5,000 digits of the embedded MNIST sample
(float64), its blocks inferred from module-like arrays (``W1, b1, W2, b2`` whose values are
theta's), and a gradient with one or two planted slips of the kinds the corpus holds.  The
numerical gradient is computed once per case by the structure-aware evaluator
(``check_gradient(..., diagnose=False)``), and the check's own first calls of the cost and the
gradient (``first_calls``) are made untimed, as ``check_gradient`` makes them; what is timed is
:func:`gradcheck.check.diagnose` on that report with the cost function, the gradient and the
data to watch, as the doctor runs it — every detector, including the ones that re-evaluate the
cost.  Best of 3.

Target: under 2 s per case.

Usage::

    PYTHONPATH=src python bench/doctor_speed.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import check_problem

from gradcheck.check import check_gradient, diagnose
from gradcheck.check.doctor.blocks_infer import infer_blocks
from gradcheck.check.doctor.mutation import Watch
from gradcheck.check.gradient import first_calls

TARGET_S = 2.0


def _slips(blocks, theta, m, l2):
    """Gradient edits named by the slip they plant: g -> g with the slip."""
    w1, b1, w2, b2 = (blocks[k] for k in ("W1", "b1", "W2", "b2"))

    def sign_w2(g):
        g[w2.slice] = -g[w2.slice] + 2 * l2 / m * theta[w2.slice]  # data term flipped, L2 not

    def bias_reg_and_scale(g):
        g[b1.slice] += l2 / m * theta[b1.slice]
        g[b2.slice] *= m

    def rows_zero(g):
        g[w1.start:w1.start + 3 * w1.shape[1]] = 0.0  # rows 0-2 of W1 never written

    def missing_derivative(g):
        g[w1.slice] *= 1 + 0.3 * np.cos(np.arange(w1.size))  # no relation: generic

    def flat_sign(g):
        g[w2.start:] *= -1

    return {"sign flip in W2 (data term)": (sign_w2, True),
            "b1 regularised + b2 times m": (bias_reg_and_scale, True),
            "rows 0-2 of W1 zero": (rows_zero, True),
            "W1 of another function": (missing_derivative, True),
            "sign flip of W2, b2 without blocks": (flat_sign, False)}


def main() -> int:
    problem = check_problem()
    net, X, y = problem.net, problem.X, problem.y
    net.l2 = 1.0
    objective = net.objective(X, y)
    blocks = net.param_blocks()
    theta = net.theta.copy()
    rng = np.random.default_rng(0)
    for name in ("b1", "b2"):  # a point after some training: biases are not 0 (else a bias slip is invisible)
        theta[blocks[name].slice] = rng.uniform(-0.5, 0.5, blocks[name].size)
    arrays = {name: b.matrix(theta).copy() for name, b in blocks.items()}
    layout = infer_blocks(theta, arrays)
    print(f"{theta.size} parameters, {len(X)} samples ({problem.source}); blocks from {layout.source}")
    worst = 0.0
    for name, (slip, with_blocks) in _slips(blocks, theta, len(X), net.l2).items():
        def grad(t, slip=slip):
            g = objective.grad(t)
            slip(g)
            return g
        report = check_gradient(objective, grad, theta, blocks=layout if with_blocks else None,
                                diagnose=False, n_samples=len(X))
        best, found = float("inf"), []
        for _ in range(3):
            report.excluded[:] = False
            watch = Watch({"X": X, "y": y})
            _, _, first = first_calls(objective, grad, theta, watch)  # the check's own calls
            start = time.perf_counter()
            found = diagnose(report, f=objective, grad=grad, theta=theta, n_samples=len(X),
                             watch=watch, n_features=X.shape[1], first=first)
            best = min(best, time.perf_counter() - start)
        worst = max(worst, best)
        print(f"{name:40s} {best:6.2f} s   {', '.join(d.code for d in found)}")
    print(f"slowest {worst:.2f} s (target < {TARGET_S} s): {'ok' if worst < TARGET_S else 'OVER'}")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
