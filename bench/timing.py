"""Timing helpers and the problems the bench cases share.

Times are best-of-``repeats`` wall clock (``time.perf_counter``): on a shared machine the
minimum is the figure least disturbed by other processes, and every side (gradcheck,
PyTorch, scikit-learn) is timed the same way, interleaved, in one run.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from gradcheck.nn.network import Network


def cores() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def best_of(fn, repeats: int) -> tuple[float, object]:
    """Smallest wall time of ``repeats`` calls of ``fn()``, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


@dataclass
class CheckProblem:
    """784-25-10 sigmoid/softmax network on 5,000 samples, float64: cases (a)-(c)."""

    net: Network
    X: np.ndarray
    y: np.ndarray
    source: str

    @property
    def objective(self):
        return self.net.objective(self.X, self.y)


def check_problem(n_samples: int = 5000, seed: int = 0) -> CheckProblem:
    """The course's shape on the embedded 5,000-digit MNIST sample (train and test parts)."""
    X, y, source = _digits(n_samples, seed)
    net = Network([X.shape[1], 25, 10], hidden="sigmoid", output="softmax",
                  loss="cross_entropy", dtype=np.float64, seed=seed)
    return CheckProblem(net, X, y, source)


def _digits(n_samples: int, seed: int):
    try:
        from gradcheck.data.datasets import load_dataset
    except ImportError:  # the data module is optional for the bench
        return _random_digits(n_samples, seed) + ("random sparse data (gradcheck.data missing)",)
    ds = load_dataset("mnist-sample")
    X = np.concatenate([ds.X_train, ds.X_test]).astype(np.float64)[:n_samples]
    y = np.concatenate([ds.y_train, ds.y_test])[:n_samples]
    return X, y, f"mnist-sample ({len(X)} digits, float64)"


def _random_digits(n_samples: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, 784))
    X[X < 0.8] = 0.0  # about MNIST's share of blank pixels
    return X, rng.integers(0, 10, n_samples)


def training_data(n_rows: int = 60_000):
    """Fashion-MNIST's 60,000 training rows as float32, else the digit sample tiled.

    Returns ``(X, y, description)``.
    """
    try:
        from gradcheck.data.datasets import load_dataset
    except ImportError:
        X, y = _random_digits(n_rows, 0)
        return X.astype(np.float32), y, "random sparse data (gradcheck.data missing)"
    try:
        ds = load_dataset("fashion-mnist")
        return ds.X_train[:n_rows], ds.y_train[:n_rows], f"Fashion-MNIST train ({n_rows} rows)"
    except Exception as exc:  # not installed: fall back, and say so in the table
        ds = load_dataset("mnist-sample")
        reps = -(-n_rows // ds.n_train)
        X = np.tile(ds.X_train, (reps, 1))[:n_rows]
        y = np.tile(ds.y_train, reps)[:n_rows]
        return X, y, f"mnist-sample tiled to {n_rows} rows (fashion-mnist: {exc})"
