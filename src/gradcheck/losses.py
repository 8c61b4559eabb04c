"""Losses, their gradients, the reduction convention, and output-activation pairings.

One reduction convention, defined once in :func:`reduction_scale` and used by every
loss value and gradient alike: a loss is summed over the outputs of a sample, then
averaged over samples (``"mean"``, the default) or summed (``"sum"``).  Squared error is
``1/2 ||a - y||^2`` per sample, so its gradient is ``(a - y) / m`` with ``"mean"`` —
never divided by the number of outputs as well.

The output delta ``dJ/dz`` of the last layer is ``J_act^T . dJ/da`` for any output
activation and loss (:func:`output_delta`).  Three pairings have a fused form computed
from the pre-activations, exact and stable for any ``z`` — and only for them is the
delta ``a - y``:

======================  ======================  ==============================
output                  loss                    delta (per sample, before 1/m)
======================  ======================  ==============================
softmax                 cross_entropy           a - y
sigmoid                 binary_cross_entropy    a - y
identity                squared_error           a - y
======================  ======================  ==============================

Pairings whose outputs can leave the loss's domain (a log of 0 or of a negative number)
are refused by :func:`pair`, unless the caller overrides, in which case the log-losses
use the clipped cost documented in :data:`CLIP_DOC` and its exact gradient.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import logsumexp, xlogy

from .activations import Activation, get_activation
from .errors import ConfigError, nearest_name

__all__ = [
    "Loss",
    "LOSSES",
    "Pairing",
    "get_loss",
    "pair",
    "reduction_scale",
    "clip_bounds",
    "output_delta",
    "CLIP_DOC",
]

Array = np.ndarray

REDUCTIONS = ("mean", "sum")

CLIP_DOC = (
    "log-losses evaluate log(clip(a, eps, 1 - eps)) with eps = machine epsilon of the dtype "
    "(2.2e-16 in float64, 1.2e-7 in float32); the gradient is that of the clipped cost, "
    "so it is 0 where a was clipped"
)


def reduction_scale(m: int, reduction: str = "mean") -> float:
    """The factor applied to summed per-sample losses (and to their gradients): 1/m or 1."""
    if reduction == "mean":
        return 1.0 / m
    if reduction == "sum":
        return 1.0
    raise ConfigError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")


def clip_bounds(dtype) -> tuple[float, float]:
    """The interval ``[eps, 1 - eps]`` that log-losses clip activations into."""
    eps = float(np.finfo(dtype).eps)
    return eps, 1.0 - eps


# --- losses: value per sample next to its gradient w.r.t. the activation -----------------

def _clip(a):
    lo, hi = clip_bounds(a.dtype)
    return np.clip(a, lo, hi), (a >= lo) & (a <= hi)


def _ce_value(a, y):
    a_c, _ = _clip(a)
    return -np.sum(xlogy(y, a_c), axis=1)


def _ce_grad(a, y):
    a_c, inside = _clip(a)
    return -y / a_c * inside  # d/da -y log a = -y / a


def _bce_value(a, y):
    a_c, _ = _clip(a)
    return -np.sum(xlogy(y, a_c) + xlogy(1 - y, 1 - a_c), axis=1)


def _bce_grad(a, y):
    a_c, inside = _clip(a)
    return (a_c - y) / (a_c * (1 - a_c)) * inside  # -y/a + (1-y)/(1-a)


def _se_value(a, y):
    r = a - y
    return 0.5 * np.sum(r * r, axis=1)


def _se_grad(a, y):
    return a - y  # d/da 1/2 ||a - y||^2


@dataclass(frozen=True)
class Loss:
    """A loss summed over outputs: ``per_sample(a, y) -> (n,)`` and ``grad(a, y) -> (n, k)``.

    ``domain`` is the open interval the activations must lie in for the value to be
    finite without clipping; ``canonical_output`` is the activation whose fused delta
    is ``a - y``.
    """

    name: str
    per_sample: Callable[[Array, Array], Array]
    grad: Callable[[Array, Array], Array]
    canonical_output: str
    domain: tuple[float, float] | None = None
    formula: str = ""
    aliases: tuple[str, ...] = ()

    def value(self, a: Array, y: Array, reduction: str = "mean") -> float:
        """Reduced loss of activations ``a`` against targets ``y``, both ``(n_samples, k)``."""
        return float(np.sum(self.per_sample(a, y)) * reduction_scale(len(a), reduction))

    def gradient(self, a: Array, y: Array, reduction: str = "mean") -> Array:
        """``dJ/da`` of :meth:`value` with the same reduction, shape ``(n_samples, k)``."""
        return self.grad(a, y) * a.dtype.type(reduction_scale(len(a), reduction))


LOSSES: dict[str, Loss] = {
    "cross_entropy": Loss("cross_entropy", _ce_value, _ce_grad, "softmax", (0.0, 1.0),
                          "-sum_k y_k log a_k", ("ce", "categorical_cross_entropy", "nll")),
    "binary_cross_entropy": Loss("binary_cross_entropy", _bce_value, _bce_grad, "sigmoid",
                                 (0.0, 1.0), "-sum_k [y_k log a_k + (1 - y_k) log(1 - a_k)]",
                                 ("bce", "logistic", "log_loss")),
    "squared_error": Loss("squared_error", _se_value, _se_grad, "identity", None,
                          "1/2 sum_k (a_k - y_k)^2", ("mse", "se", "l2", "quadratic")),
}

_LOSS_NAMES = {alias: loss.name for loss in LOSSES.values() for alias in (loss.name, *loss.aliases)}


def get_loss(name: str | Loss) -> Loss:
    """Look up a loss by name or alias (``"ce"``, ``"bce"``, ``"mse"``)."""
    if isinstance(name, Loss):
        return name
    key = str(name).strip().lower()
    if key not in _LOSS_NAMES:
        raise ConfigError(
            f"unknown loss {name!r}{nearest_name(key, _LOSS_NAMES)} (known: {', '.join(LOSSES)})."
        )
    return LOSSES[_LOSS_NAMES[key]]


# --- pairings of output activation and loss ---------------------------------------------

@dataclass(frozen=True)
class Pairing:
    """How an output activation and a loss go together.

    ``status`` is ``"fused"`` (delta = a - y from the pre-activations), ``"general"``
    (delta = f'(z) * dL/da, or the softmax VJP) or ``"refused"``.  ``reason`` says why a
    pairing is refused or what a general one means; ``suggestion`` what to use instead.
    """

    output: Activation
    loss: Loss
    status: str
    reason: str = ""
    suggestion: str = ""

    @property
    def fused(self) -> bool:
        return self.status == "fused"

    @property
    def delta_formula(self) -> str:
        if self.fused:
            return "a - y"
        if self.status == "refused":
            return "refused"
        grad = {"cross_entropy": "-y / a", "binary_cross_entropy": "(a - y) / (a (1 - a))",
                "squared_error": "a - y"}[self.loss.name]
        if not self.output.elementwise:
            return f"s * (g - sum(g * s)), g = {grad}"
        return f"f'(z) * ({grad})"


_CANONICAL = {("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
              ("identity", "squared_error")}


def _domain_problem(output: Activation, loss: Loss) -> str:
    """Why ``output``'s values can leave ``loss``'s domain, or '' if they cannot."""
    lo, hi = loss.domain
    o_lo, o_hi = output.output_range
    if o_lo < lo:
        return (f"{output.name} outputs can be negative (range {o_lo:g} to {o_hi:g}) and the log "
                f"of a negative number is undefined")
    if o_hi > hi:
        return f"{output.name} outputs can exceed 1 (up to {o_hi:g}), so they are not probabilities"
    for bound in (lo, hi):
        if output.attains(bound):
            return (f"{output.name} outputs reach exactly {bound:g}, where the log in "
                    f"{loss.name} is -inf")
    return ""


def pair(output: str | Activation, loss: str | Loss) -> Pairing:
    """Classify an output activation and a loss as fused, general or refused."""
    output, loss = get_activation(output), get_loss(loss)
    if (output.name, loss.name) in _CANONICAL:
        return Pairing(output, loss, "fused")
    suggestion = ("use output='softmax' with loss='cross_entropy' for classes, or "
                  "output='sigmoid' with loss='binary_cross_entropy' for independent labels")
    if loss.domain is not None:
        problem = _domain_problem(output, loss)
        if problem:
            return Pairing(output, loss, "refused", problem, suggestion)
    reason = ""
    if output.name == "softmax" and loss.name == "binary_cross_entropy":
        reason = ("the logistic (binary) cost on softmax outputs: valid, but its delta is not "
                  "a - y; softmax pairs with cross_entropy")
    elif output.name == "sigmoid" and loss.name == "cross_entropy":
        reason = ("cross_entropy on sigmoid outputs ignores the (1 - y) log(1 - a) terms; its "
                  "delta is not a - y; sigmoid pairs with binary_cross_entropy")
    return Pairing(output, loss, "general", reason)


def _fused_per_sample(pairing: Pairing, z: Array, y: Array) -> Array:
    name = pairing.output.name
    if name == "softmax":
        # sum(y) logsumexp(z) - y.z: never takes the log of an underflowed probability
        return np.sum(y, axis=1) * logsumexp(z, axis=1) - np.sum(y * z, axis=1)
    if name == "sigmoid":
        return np.sum(np.logaddexp(0, z) - y * z, axis=1)  # -[y log s + (1-y) log(1-s)]
    return _se_value(z, y)


def output_delta(pairing: Pairing, z: Array, a: Array, y: Array,
                 reduction: str = "mean") -> tuple[float, Array]:
    """Reduced loss and its gradient ``dJ/dz`` w.r.t. the output pre-activations.

    Parameters
    ----------
    z, a, y : ndarray of shape (n_samples, n_outputs)
        Pre-activations, activations ``a = f(z)`` and targets.

    Returns
    -------
    J : float
    delta : ndarray of shape (n_samples, n_outputs), ``dJ/dz`` including the 1/m of "mean".
    """
    scale = reduction_scale(len(z), reduction)
    if pairing.fused:
        per_sample = _fused_per_sample(pairing, z, y)
        # softmax with soft targets: d/dz [sum(y) lse(z) - y.z] = sum(y) a - y
        delta = a * np.sum(y, axis=1, keepdims=True) - y if pairing.output.name == "softmax" else a - y
    else:
        per_sample = pairing.loss.per_sample(a, y)
        delta = pairing.output.vjp(z, a, pairing.loss.grad(a, y))
    return float(np.sum(per_sample) * scale), delta * delta.dtype.type(scale)
