"""Reference mode on an ex4-sized network: how long recognising the layout and matching takes.

A 784-25-10 network (19,885 parameters) with m samples, its gradient written in the course's
layout (``Theta(:)``) with labels 1..10, told only the network (no layout, no labels).  Four
gradients: the correct one, one missing the 1/m (catalogued), and one whose output layer is
halved (no catalogued mistake fits) with and without the user's cost.  Prints the seconds of
``compare_reference`` and what it found.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/reference_mode.py [--samples 5000]

(One BLAS thread: on a machine busier than its cores, threads make every number slower.)
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from gradcheck.check.reference.compare import compare_reference
from gradcheck.check.reference.layouts import LAYOUTS
from gradcheck.nn.network import Network

SPEC = {"sizes": [784, 25, 10], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0}


def user_functions(m: int, seed: int = 0):
    """theta, X, y (1..10) and a course-layout cost and gradient factory of the network."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((m, 784)), rng.integers(1, 11, m)
    net = Network(**SPEC, seed=seed)
    objective = net.objective(X, y - 1)
    order = LAYOUTS["course"].order(net)

    def ours(t):
        theta = np.empty_like(t)
        theta[order] = t
        return theta

    def cost(t):
        return objective(ours(t))

    def gradient(change):
        return lambda t: change(objective.grad(ours(t))[order])

    return net.theta[order], X, y, cost, gradient


def run(m: int) -> None:
    theta, X, y, cost, gradient = user_functions(m)
    n_output = 10 * 26
    cases = [("correct", gradient(lambda g: g), cost),
             ("missing 1/m", gradient(lambda g: g * m), cost),
             ("output layer halved, cost", gradient(lambda g: np.r_[g[:-n_output], g[-n_output:] / 2]), cost),
             ("output layer halved", gradient(lambda g: np.r_[g[:-n_output], g[-n_output:] / 2]), None)]
    print(f"784-25-10 ({theta.size} parameters), m = {m}, load average {os.getloadavg()[0]:.1f}")
    for name, grad, cost_fn in cases:
        start = time.perf_counter()
        result = compare_reference(grad, theta, SPEC, X, y, cost_fn)
        seconds = time.perf_counter() - start
        layout = result.layout and f"{result.layout['name']}, labels {result.layout['labels']}"
        print(f"  {name:28s} {seconds:6.2f} s  layout {layout}  {[d.code for d in result.findings]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    run(parser.parse_args().samples)
