"""The pairing matrix: check backprop for every hidden activation x output x loss.

Each accepted pairing is checked on a small seeded random network.  Inputs are drawn
away from kinks (every pre-activation at least ``margin`` from a point where the
derivative jumps), so a kink never masquerades as a bug and no threshold is loosened.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gradcheck.check.gradient import check_network
from gradcheck.errors import ConfigError
from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.losses import LOSSES, pair
from gradcheck.nn.network import Network

__all__ = ["MatrixRow", "pairing_matrix", "draw_problem"]


@dataclass(frozen=True)
class MatrixRow:
    """One pairing's outcome; ``relative_error`` and ``passed`` are None when refused."""

    hidden: str
    output: str
    loss: str
    status: str
    relative_error: float | None
    passed: bool | None
    reason: str = ""
    seed: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _targets(loss: str, rng, m: int, k: int) -> np.ndarray:
    if loss == "squared_error":
        return rng.uniform(-1, 1, (m, k))
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, (m, k)).astype(float)
    return np.eye(k)[rng.integers(0, k, m)]


def _kink_distance(net: Network, X: np.ndarray) -> float:
    """Smallest distance of any pre-activation to its layer's kinks (inf without kinks)."""
    zs, _ = net.forward_pass(X)
    dist = np.inf
    for z, act in zip(zs, net.activations):
        for kink in act.kinks:
            dist = min(dist, float(np.min(np.abs(z - kink))))
    return dist


def draw_problem(sizes, hidden, output, loss, n_samples=7, seed=0, margin=1e-3, attempts=1000,
                 **kwargs):
    """A seeded network and data whose pre-activations all keep ``margin`` from kinks.

    Returns ``(net, X, Y, seed_used)``; tries ``seed, seed + 1, ...``.
    """
    for s in range(seed, seed + attempts):
        rng = np.random.default_rng(s)
        net = Network(sizes, hidden=hidden, output=output, loss=loss, seed=s, **kwargs)
        net.theta += rng.uniform(-0.1, 0.1, net.n_params)  # nonzero biases exercise every path
        X = rng.standard_normal((n_samples, sizes[0]))
        if _kink_distance(net, X) >= margin:
            return net, X, _targets(net.loss_function.name, rng, n_samples, sizes[-1]), s
    raise ConfigError(f"no draw in {attempts} seeds from {seed} keeps all pre-activations of "
                      f"sizes {list(sizes)} with {n_samples} samples {margin} away from the kinks of "
                      f"{hidden}; use fewer samples or narrower layers, or a smooth activation.")


def pairing_matrix(sizes=(4, 5, 3), n_samples=7, seed=0, hidden=None, outputs=None, losses=None,
                   l2=0.0, tol=1e-7) -> list[MatrixRow]:
    """Check every hidden x output x loss combination; refused pairings carry their reason.

    ``tol`` is the relative error a pairing must stay below (1e-7, tighter than a user
    check's default, since these are the library's own derivatives on well-scaled data).
    """
    rows = []
    for h in hidden or ACTIVATIONS:
        for o in outputs or ACTIVATIONS:
            for loss in losses or LOSSES:
                p = pair(o, loss)
                if p.status == "refused":
                    rows.append(MatrixRow(h, p.output.name, p.loss.name, "refused", None, None, p.reason))
                    continue
                net, X, Y, used = draw_problem(sizes, h, o, loss, n_samples, seed, l2=l2)
                report = check_network(net, X, Y, tol=tol)
                rows.append(MatrixRow(h, p.output.name, p.loss.name, p.status,
                                      report.relative_error, report.passed, p.reason, used))
    return rows
