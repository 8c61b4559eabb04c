"""Compare an analytic gradient with central differences, in float64.

:func:`check_gradient` returns a :class:`GradientReport`: per-coordinate numerical and
analytic values, per-block relative errors, the overall relative error and a verdict.
Findings that explain a mismatch are attached to ``report.diagnoses`` by
:mod:`gradcheck.check.doctor.detectors`.

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
from collections.abc import Callable

import numpy as np

from gradcheck.errors import ConfigError, UserCodeError

__all__ = ["numerical_gradient", "relative_error", "coord_limit", "check_eps", "TOLERANCE"]

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


def check_eps(eps, suggested: float = 1e-6) -> float:
    """The step of central differences, refused unless ``0 < eps < 1`` (NaN too)."""
    if not (isinstance(eps, (int, float, np.integer, np.floating)) and 0 < eps < 1):
        raise ConfigError(f"eps must be in (0, 1), got {eps}; {suggested:g} suits float64.")
    return float(eps)


def relative_error(analytic: Array, numerical: Array) -> float:
    """``||a - n|| / max(||a||, ||n||)``; 0 when both are 0; NaN when both hold the same
    infinity (pasted ``1e999``), without numpy's warning: the doctor names it ``non-finite``."""
    with np.errstate(invalid="ignore"):  # inf - inf
        diff = float(np.linalg.norm(analytic - numerical))
    scale = max(float(np.linalg.norm(analytic)), float(np.linalg.norm(numerical)))
    return diff / scale if scale > 0 else diff


def call_cost(f: Callable, theta: Array) -> float:
    """Call the user's cost and return a float; NaN/Inf pass through for diagnosis."""
    try:
        value = f(theta.copy())  # a cost that edits theta in place must not corrupt the check
    except (Exception, SystemExit) as exc:  # the user's code: any failure becomes one sentence
        raise UserCodeError(f"the cost function raised {type(exc).__name__}: {exc}; "
                            f"fix it.") from exc
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
                            f"fix it.") from exc
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


def numerical_gradient(f: Callable, theta: Array, eps=1e-6, indices=None) -> Array:
    """Central differences ``(f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps)``.

    Parameters
    ----------
    f : callable, ``f(theta) -> float``
    theta : ndarray of shape (n_params,), float64
    eps : float, or ndarray of shape (n_params,)
        The step, or one step per coordinate (``eps[i]`` for coordinate ``i``).
    indices : array of int, optional
        Coordinates to evaluate (all by default); the others are left at 0.
    """
    theta = np.array(theta, dtype=np.float64)
    steps = np.broadcast_to(np.asarray(eps, dtype=np.float64), theta.shape)
    out = np.zeros_like(theta)
    for i in range(theta.size) if indices is None else indices:
        saved, h = theta[i], float(steps[i])
        theta[i] = saved + h
        f_plus = call_cost(f, theta)
        theta[i] = saved - h
        f_minus = call_cost(f, theta)
        theta[i] = saved
        out[i] = (f_plus - f_minus) / (2 * h)
    return out


def flat_theta(theta) -> Array:
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
