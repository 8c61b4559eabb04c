"""Check the Jacobian of a vector function (a softmax layer, a whole layer's forward pass).

``J[i, j] = d f_i / d x_j`` has shape ``(n_outputs, n_inputs)``.  The comparison reuses
:class:`~gradcheck.check.GradientReport` with one block ``"J"`` (row-major), so every
column diagnosis applies; ``transposed`` then means a row/column swap, ``J^T`` given for
``J`` (the classic mix-up between the Jacobian and the vector-Jacobian product's layout).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .blocks import Block
from .check import TOLERANCE, GradientReport, _flat_theta
from .errors import ConfigError, UserCodeError

__all__ = ["check_jacobian", "numerical_jacobian"]

Array = np.ndarray


def _call_vector(f: Callable, x: Array) -> Array:
    """``f(x)`` as a flat float64 vector; the user's exceptions become one sentence."""
    try:
        value = f(x.copy())
    except Exception as exc:  # the user's code: any failure becomes one clear sentence
        raise UserCodeError(f"the function raised {type(exc).__name__}: {exc}; fix it or run with "
                            f"--debug for the traceback.") from exc
    return np.asarray(value, dtype=np.float64).ravel()


def numerical_jacobian(f: Callable, x, eps: float = 1e-6) -> Array:
    """Central differences: column ``j`` is ``(f(x + eps e_j) - f(x - eps e_j)) / (2 eps)``.

    Returns
    -------
    ndarray of shape (n_outputs, n_inputs)
    """
    x = _flat_theta(x)
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = eps
        columns.append((_call_vector(f, x + step) - _call_vector(f, x - step)) / (2 * eps))
    return np.stack(columns, axis=1)


def check_jacobian(f: Callable, jac: Callable, x, *, eps: float = 1e-6, tol: float = TOLERANCE,
                   diagnose: bool = True) -> GradientReport:
    """Compare ``jac(x)`` with the central-difference Jacobian of ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        ``f(x) -> array`` of shape ``(n_outputs,)``.
    jac : callable
        ``jac(x) -> array`` of shape ``(n_outputs, n_inputs)``; ``(n_inputs, n_outputs)`` is
        accepted and diagnosed as ``transposed``.
    x : array_like of shape (n_inputs,)

    Returns
    -------
    GradientReport
        One block ``"J"`` of shape ``(n_outputs, n_inputs)``; ``report.diagnoses`` as for
        :func:`gradcheck.diagnose.check_arrays`.
    """
    if not (0 < eps < 1):
        raise ConfigError(f"eps must be in (0, 1), got {eps}; 1e-6 suits float64.")
    x = _flat_theta(x)
    numerical = numerical_jacobian(f, x, eps)
    try:
        analytic = np.asarray(jac(x.copy()), dtype=np.float64)
    except Exception as exc:
        raise UserCodeError(f"the Jacobian function raised {type(exc).__name__}: {exc}.") from exc
    if analytic.size != numerical.size:
        raise UserCodeError(f"the Jacobian has shape {analytic.shape} but f has {numerical.shape[0]} "
                            f"outputs and {x.size} inputs; return the full {numerical.shape} matrix "
                            f"of d f_i / d x_j, not a vector.")
    block = Block("J", 0, numerical.shape)
    # a (n_inputs, n_outputs) answer read row by row is J^T: the transposed classifier names it
    report = GradientReport(numerical.ravel(), analytic.ravel(), [block], eps=eps,
                            evaluator="central differences (Jacobian)", tolerance=tol)
    if diagnose:
        from .diagnose import diagnose as run_doctor

        report.diagnoses = run_doctor(report, n_outputs=numerical.shape[0])
    return report
