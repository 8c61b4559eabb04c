"""Compare an analytic gradient with central differences, in float64.

:func:`check_gradient` returns a :class:`GradientReport`: per-coordinate numerical and
analytic values, per-block relative errors, the overall relative error and a verdict.
Findings that explain a mismatch are attached to ``report.diagnoses`` by
:mod:`gradcheck.diagnose`.

Thresholds (float64, central differences with ``eps = 1e-6``):

* relative error ``||a - n|| / max(||a||, ||n||)`` of the whole vector and of every
  block must be at most ``tol`` (default ``1e-6``); a correct gradient typically gives
  1e-9 to 1e-11, a wrong one 1e-3 or more.  Unlike ``||a - n|| / ||a + n||`` this
  measure does not explode when the signs are flipped.
* every coordinate must satisfy ``|a_i - n_i| <= 1e-4 max(|a_i|, |n_i|) + 1e-7 (1 + |J|)``;
  the second term covers the round-off of a difference quotient (~1e-10 |J|).
* the norms above may exceed ``tol`` by the round-off floor ``noise * sqrt(size)``,
  ``noise = 16 * 2.2e-16 * (1 + |J|) / eps`` — a cost of 1e4 cannot be differenced
  more finely than that, however right its gradient.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .blocks import Block, make_blocks
from .errors import ConfigError, UserCodeError

__all__ = ["check_gradient", "check_network", "numerical_gradient", "relative_error",
           "coord_limit", "GradientReport", "TOLERANCE"]

Array = np.ndarray
TOLERANCE = 1e-6
COORD_RTOL = 1e-4
COORD_ATOL = 1e-7


def coord_limit(a: Array, n: Array, scale: float, rounding: float = 0.0) -> Array:
    """Largest ``|a_i - n_i|`` that agrees: ``1e-4 max(|a_i|, |n_i|) + 1e-7 scale``.

    ``rounding`` is the relative rounding of numbers printed to d significant digits,
    10^(1 - d): each carries up to half of it, so the two may differ by
    ``rounding (|a_i| + |n_i|) / 2`` more.
    """
    a, n = np.abs(a), np.abs(n)
    limit = COORD_RTOL * np.maximum(a, n) + COORD_ATOL * scale
    return limit + rounding * (a + n) / 2 if rounding else limit  # 0 * inf would warn


def relative_error(analytic: Array, numerical: Array) -> float:
    """``||a - n|| / max(||a||, ||n||)``; 0 when both are 0."""
    diff = float(np.linalg.norm(analytic - numerical))
    scale = max(float(np.linalg.norm(analytic)), float(np.linalg.norm(numerical)))
    return diff / scale if scale > 0 else diff


def call_cost(f: Callable, theta: Array) -> float:
    """Call the user's cost and return a float; NaN/Inf pass through for diagnosis."""
    try:
        value = f(theta.copy())  # a cost that edits theta in place must not corrupt the check
    except (Exception, SystemExit) as exc:  # the user's code: any failure becomes one sentence
        raise UserCodeError(f"the cost function raised {type(exc).__name__}: {exc}; "
                            f"fix it or run with --debug for the traceback.") from exc
    if isinstance(value, tuple):
        value = value[0]
    array = np.asarray(value)
    if array.size != 1 or not isinstance(array.reshape(()).item(), numbers.Real):
        raise UserCodeError(f"the cost function returned {type(value).__name__} of shape "
                            f"{array.shape}, not one number; return the scalar cost J.")
    return float(array.reshape(()))


def call_gradient(grad: Callable | None, f: Callable, theta: Array) -> Array:
    """Call the user's gradient (or ``f`` returning ``(J, grad)``) as a flat float64 vector."""
    source = grad if grad is not None else f
    try:
        value = source(theta.copy())
    except (Exception, SystemExit) as exc:
        raise UserCodeError(f"the gradient function raised {type(exc).__name__}: {exc}; "
                            f"fix it or run with --debug for the traceback.") from exc
    if grad is None:
        if not (isinstance(value, tuple) and len(value) == 2):
            raise UserCodeError("with no gradient function, the cost function must return (J, grad).")
        value = value[1]
    if value is None or np.iscomplexobj(value):
        what = "None" if value is None else "complex numbers"
        raise UserCodeError(f"the gradient function returned {what}; return a float array with "
                            f"one real partial derivative per parameter.")
    try:
        g = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise UserCodeError(f"the gradient is not numeric ({exc}); return a float array.") from exc
    if g.size != theta.size:
        raise UserCodeError(f"the gradient has {g.size} values but theta has {theta.size}; "
                            f"return one partial derivative per parameter.")
    return g


def numerical_gradient(f: Callable, theta: Array, eps: float = 1e-6, indices=None) -> Array:
    """Central differences ``(f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps)``.

    Parameters
    ----------
    f : callable, ``f(theta) -> float``
    theta : ndarray of shape (n_params,), float64
    indices : array of int, optional
        Coordinates to evaluate (all by default); the others are left at 0.
    """
    theta = np.array(theta, dtype=np.float64)
    out = np.zeros_like(theta)
    for i in range(theta.size) if indices is None else indices:
        saved = theta[i]
        theta[i] = saved + eps
        f_plus = call_cost(f, theta)
        theta[i] = saved - eps
        f_minus = call_cost(f, theta)
        theta[i] = saved
        out[i] = (f_plus - f_minus) / (2 * eps)
    return out


@dataclass
class GradientReport:
    """The outcome of a gradient check.

    Attributes
    ----------
    numerical, analytic : ndarray of shape (n_params,), float64
    blocks : list of Block
    cost : float
        ``J(theta)`` at the checked point.
    eps : float
        Step of the central differences.
    evaluator : str
        How the numerical gradient was computed.
    tolerance : float
    rounding : float
        Relative rounding of given numbers (pasted to d significant digits: 10^(1 - d));
        each coordinate may then differ by ``rounding (|a_i| + |n_i|) / 2`` more.
    excluded : ndarray of bool, shape (n_params,)
        Coordinates left out of the verdict (kinks found by the doctor).
    diagnoses : list
        Findings attached by :mod:`gradcheck.diagnose` (empty for a correct gradient).
    """

    numerical: Array
    analytic: Array
    blocks: list[Block]
    cost: float = float("nan")
    eps: float = 1e-6
    evaluator: str = "central differences"
    tolerance: float = TOLERANCE
    excluded: Array | None = None
    rounding: float = 0.0
    diagnoses: list = field(default_factory=list)

    def __post_init__(self):
        if self.excluded is None:
            self.excluded = np.zeros(self.numerical.shape, dtype=bool)

    @property
    def included(self) -> Array:
        return ~self.excluded

    @property
    def relative_error(self) -> float:
        keep = self.included
        return relative_error(self.analytic[keep], self.numerical[keep])

    @property
    def block_errors(self) -> dict[str, float]:
        """Relative error of each block (excluded coordinates left out)."""
        errors = {}
        for b in self.blocks:
            keep = self.included[b.slice]
            errors[b.name] = relative_error(self.analytic[b.slice][keep], self.numerical[b.slice][keep])
        return errors

    @property
    def mismatched(self) -> Array:
        """Indices of coordinates outside the per-coordinate tolerance (NaN and Inf count)."""
        a, n = self.analytic, self.numerical
        scale = 1 + abs(self.cost) if np.isfinite(self.cost) else 1.0
        limit = coord_limit(a, n, scale, self.rounding)
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, which fails below anyway
            close = np.abs(a - n) <= limit
        # an Inf on both sides is "within" an infinite limit; never call it agreement
        bad = ~(close & np.isfinite(a) & np.isfinite(n)) & self.included
        return np.flatnonzero(bad)

    @property
    def noise(self) -> float:
        """Round-off floor of one difference quotient: ``16 eps_mach (1 + |J|) / eps``."""
        scale = 1 + abs(self.cost) if np.isfinite(self.cost) else 1.0
        return 16 * float(np.finfo(np.float64).eps) * scale / self.eps

    def _agrees(self, part: slice) -> bool:
        keep = self.included[part]
        a, n = self.analytic[part][keep], self.numerical[part][keep]
        diff = float(np.linalg.norm(a - n))
        allowed = self.tolerance * max(float(np.linalg.norm(a)), float(np.linalg.norm(n)))
        return diff <= allowed + self.noise * np.sqrt(a.size)

    @property
    def passed(self) -> bool:
        parts = [slice(None), *(b.slice for b in self.blocks)]
        return all(self._agrees(p) for p in parts) and self.mismatched.size == 0

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    def summary(self) -> str:
        """One line: the relative error, each block's, and the verdict."""
        blocks = ", ".join(f"{name} {err:.2e}" for name, err in self.block_errors.items())
        return (f"relative error {self.relative_error:.2e} (tolerance {self.tolerance:g}); "
                f"per block: {blocks}; {self.verdict}")

    def block_of(self, index: int) -> Block:
        """The block holding flat ``index``."""
        for b in self.blocks:
            if b.start <= index < b.stop:
                return b
        raise IndexError(index)

    def worst(self, k: int = 10) -> list[dict]:
        """The ``k`` coordinates with the largest absolute difference, worst first."""
        diff = np.abs(self.analytic - self.numerical)
        order = np.argsort(-np.nan_to_num(diff, nan=np.inf), kind="stable")[:k]
        return [self.coordinate(int(i)) for i in order]

    def coordinate(self, i: int) -> dict:
        b = self.block_of(i)
        return {"index": i, "block": b.name, "position": list(b.position(i)), "label": b.label(i),
                "numerical": float(self.numerical[i]), "analytic": float(self.analytic[i]),
                "abs_diff": float(abs(self.analytic[i] - self.numerical[i]))}

    def plot(self, path=None):
        """Analytic vs numerical per block (symlog) and per-block errors; see :mod:`gradcheck.plots`."""
        from .plots import plot_report

        return plot_report(self, path)

    def to_dict(self, n_worst: int = 10) -> dict:
        """A JSON-ready summary (schema in the README)."""
        return {
            "passed": self.passed,
            "relative_error": _finite_or_none(self.relative_error),
            "tolerance": self.tolerance,
            "cost": _finite_or_none(self.cost),
            "eps": self.eps,
            "noise": self.noise,
            "evaluator": self.evaluator,
            "n_params": int(self.numerical.size),
            "n_mismatched": int(self.mismatched.size),
            "n_excluded": int(self.excluded.sum()),
            "blocks": [{"name": b.name, "shape": list(b.shape), "order": b.order,
                        "start": b.start, "relative_error": _finite_or_none(self.block_errors[b.name])}
                       for b in self.blocks],
            "worst": [{**c, **{k: _finite_or_none(c[k]) for k in ("numerical", "analytic", "abs_diff")}}
                      for c in self.worst(n_worst)],
            "diagnoses": [d.to_dict() if hasattr(d, "to_dict") else d for d in self.diagnoses],
        }


def _finite_or_none(x: float):
    return float(x) if np.isfinite(x) else None


def _flat_theta(theta) -> Array:
    if np.iscomplexobj(theta):
        raise ConfigError("theta holds complex numbers; pass a 1-D array of real parameters.")
    try:
        theta = np.array(theta, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"theta must be numeric ({exc}); pass a 1-D float array.") from exc
    if theta.ndim != 1 or theta.size == 0:
        raise ConfigError(f"theta must be a non-empty 1-D vector, got shape {theta.shape}; unroll "
                          f"your matrices into one vector.")
    return theta


def _numerical(f: Callable, theta: Array, eps: float, workers, cost: float) -> tuple[Array, str]:
    """The numerical gradient and how it was computed (see :mod:`gradcheck.fastcheck`)."""
    from concurrent.futures.process import BrokenProcessPool

    from .fastcheck import numerical_evaluator  # imported here: fastcheck builds on this module

    try:
        return numerical_evaluator(f, theta, eps, workers, cost=cost)
    except BrokenProcessPool as exc:  # a worker killed (out of memory, a signal, os._exit in f)
        raise UserCodeError("a worker process died while evaluating the cost function (killed, "
                            "out of memory, or os._exit in the cost); run without --workers "
                            "(workers=None) to see the error in this process.") from exc


def check_gradient(f: Callable, grad: Callable | None, theta, *, eps: float = 1e-6, blocks=None,
                   order: str = "C", tol: float = TOLERANCE, workers: int | None = None,
                   diagnose: bool = True, n_samples: int | None = None) -> GradientReport:
    """Check ``grad`` against central differences of ``f`` at ``theta``, in float64.

    Parameters
    ----------
    f : callable
        ``f(theta) -> J``, or ``f(theta) -> (J, grad)`` when ``grad`` is None.
    grad : callable or None
        ``grad(theta) -> array`` of theta's size.
    theta : array_like of shape (n_params,)
    eps : float
        Step of the central differences.
    blocks : dict of name -> shape, dict of name -> Block (``net.param_blocks()``), or None
    order : {"C", "F"}
        How blocks given by shape are unrolled ("F" for Octave's ``Theta(:)``).
    tol : float
        Largest relative error that passes.
    workers : int, optional
        A Network objective (``net.objective(X, Y)``) is differenced layer by layer by the
        structure-aware evaluator, on ``workers`` threads; any other ``f`` by the plain loop,
        over ``workers`` processes when > 1 (``f`` must then be picklable).
        ``report.evaluator`` says which ran.
    diagnose : bool
        Attach the doctor's findings to ``report.diagnoses`` when the check fails
        (:func:`gradcheck.diagnose.diagnose`); a passing check gets none.
    n_samples : int, optional
        The number of samples behind the cost, so a scale factor k ≈ m can be named.
    """
    given = theta  # its dtype is evidence for the doctor (float32 theta)
    theta = _flat_theta(theta)
    if not (0 < eps < 1):
        raise ConfigError(f"eps must be in (0, 1), got {eps}; 1e-6 suits float64.")
    block_list = make_blocks(blocks, theta.size, order)
    cost = call_cost(f, theta)
    analytic = call_gradient(grad, f, theta)
    numerical, evaluator = _numerical(f, theta, eps, workers, cost)
    report = GradientReport(numerical, analytic, block_list, cost=cost, eps=eps, evaluator=evaluator,
                            tolerance=tol)
    if diagnose:
        from .diagnose import diagnose as run_doctor  # imported here: diagnose builds on this module

        report.diagnoses = run_doctor(report, f=f, grad=grad, theta=given, n_samples=n_samples)
    return report


def check_network(net, X, Y, *, theta=None, **kwargs) -> GradientReport:
    """Check a :class:`~gradcheck.network.Network`'s own backprop on data ``X, Y``."""
    objective = net.objective(X, Y)
    theta = net.theta if theta is None else theta
    kwargs.setdefault("blocks", net.param_blocks())
    kwargs.setdefault("n_samples", len(objective.X))
    return check_gradient(objective, objective.grad, theta, **kwargs)
