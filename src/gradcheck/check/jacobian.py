"""Check the Jacobian of a vector function (a softmax layer, a whole layer's forward pass).

``J[i, j] = d f_i / d x_j`` has shape ``(n_outputs, n_inputs)``.  The comparison reuses
:class:`~gradcheck.check.report.GradientReport` with one block ``"J"`` (row-major), so every
column diagnosis applies; ``transposed`` then means a row/column swap, ``J^T`` given for
``J`` (the classic mix-up between the Jacobian and the vector-Jacobian product's layout).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck.check.doctor.detectors import diagnose as run_doctor
from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.numerical import TOLERANCE, check_eps, flat_theta
from gradcheck.check.report import GradientReport
from gradcheck.errors import UserCodeError
from gradcheck.nn.blocks import Block

__all__ = ["check_jacobian", "numerical_jacobian"]

Array = np.ndarray


def _call_vector(f: Callable, x: Array) -> Array:
    """``f(x)`` as a flat float64 vector; the user's exceptions become one sentence."""
    try:
        value = f(x.copy())
    except (Exception, SystemExit) as exc:  # the user's code: any failure becomes one sentence
        raise UserCodeError(f"the function raised {type(exc).__name__}: {exc}; fix it.") from exc
    return np.asarray(value, dtype=np.float64).ravel()


def numerical_jacobian(f: Callable, x, eps: float = 1e-6) -> Array:
    """Central differences: column ``j`` is ``(f(x + eps e_j) - f(x - eps e_j)) / (2 eps)``.

    Returns
    -------
    ndarray of shape (n_outputs, n_inputs)
    """
    x = flat_theta(x)
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
        :func:`gradcheck.check.doctor.detectors.check_arrays`.
    """
    check_eps(eps)
    x = flat_theta(x)
    numerical = numerical_jacobian(f, x, eps)
    try:
        analytic = np.asarray(jac(x.copy()), dtype=np.float64)
    except (Exception, SystemExit) as exc:
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

        report.diagnoses = run_doctor(report, n_outputs=numerical.shape[0])
        if not report.passed and analytic.shape == numerical.shape:
            specific = _jacobian_findings(numerical, analytic, x, _call_vector(f, x), tol)
            if specific:  # they say more than a generic "different function"
                report.diagnoses = specific + [d for d in report.diagnoses
                                               if d.code not in _EXPLAINED_BY_SPECIFIC]
    return report


# --- Jacobian-specific findings -------------------------------------------------------------

_EXPLAINED_BY_SPECIFIC = {"different-function", "uncorrelated", "sign-flip", "scale-factor",
                          "block-mismatch"}
_SOFTMAX_FIX = "build the derivative from the outputs s: dx = s * (g - sum(g * s)), i.e. J = diag(s) - s s^T"


def _rel(a: Array, b: Array) -> float:
    return float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), 1e-300)


def _jacobian_findings(numerical: Array, analytic: Array, x: Array, fx: Array, tol: float) -> list:
    """``softmax-from-inputs`` and ``diagonal-only``: the two classic softmax-backward slips."""

    findings = []
    square = numerical.shape[0] == numerical.shape[1] == x.size
    is_softmax = square and _rel(numerical, np.diag(fx) - np.outer(fx, fx)) < 1e-6
    if is_softmax and _rel(analytic, np.diag(fx) - np.outer(fx, x)) < 1e-6:
        findings.append(Diagnosis(
            "softmax-from-inputs",
            "f is a softmax and the analytic Jacobian is diag(s) - s x^T: it uses the inputs x "
            "where the outputs s belong (s_i (1 - x_i) on the diagonal, -s_i x_j off it).",
            "J", evidence={"relative_error": _rel(numerical, analytic)}, fix=_SOFTMAX_FIX))
        return findings
    off = np.eye(*numerical.shape) == 0
    numerical_off = np.linalg.norm(numerical[off])
    if (square and not np.any(analytic[off])
            and numerical_off > 10 * tol * np.linalg.norm(numerical)):
        diag_error = _rel(np.diag(numerical), np.diag(analytic))
        diag_words = (f"its diagonal agrees (relative error {diag_error:.1e})" if diag_error <= tol
                      else f"its diagonal disagrees too (relative error {diag_error:.2g})")
        share = numerical_off / np.linalg.norm(numerical)
        findings.append(Diagnosis(
            "diagonal-only",
            f"the analytic Jacobian is diagonal but every output of f depends on other inputs "
            f"too (off-diagonal entries hold {share:.0%} of the numerical Jacobian's norm): a "
            f"backward pass that multiplies the upstream gradient elementwise by one vector "
            f"treats the Jacobian as diag(v); {diag_words}"
            + ("; and f is a softmax, whose outputs all depend on every input" if is_softmax else "")
            + ".", "J", evidence={"off_diagonal_share": share, "diagonal_relative_error": diag_error,
                                  "softmax": bool(is_softmax)},
            fix=_SOFTMAX_FIX if is_softmax else
            "multiply by the full Jacobian: dx = g . J, with J[i, j] = d f_i / d x_j"))
    return findings
