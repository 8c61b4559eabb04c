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
use the clipped cost documented in :data:`CLIP_DOC` and its exact gradient.  The other
accepted log-loss pairs (sigmoid + cross_entropy, softmax + binary_cross_entropy) are
computed from ``z`` too (:data:`STABLE_FORMS`), so no accepted pairing is ever clipped.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logsumexp, xlogy

from gradcheck.errors import ConfigError, nearest_name
from gradcheck.nn.activations import Activation, get_activation

__all__ = [
    "Loss",
    "LOSSES",
    "Pairing",
    "get_loss",
    "pair",
    "reduction_scale",
    "clip_bounds",
    "output_delta",
    "per_sample_loss",
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
    grad_formula: str = ""
    aliases: tuple[str, ...] = ()

    def value(self, a: Array, y: Array, reduction: str = "mean") -> float:
        """Reduced loss of activations ``a`` against targets ``y``, both ``(n_samples, k)``."""
        a = np.asarray(a, dtype=np.result_type(a, np.float32))
        return float(np.sum(self.per_sample(a, y)) * reduction_scale(len(a), reduction))

    def gradient(self, a: Array, y: Array, reduction: str = "mean") -> Array:
        """``dJ/da`` of :meth:`value` with the same reduction, shape ``(n_samples, k)``."""
        a = np.asarray(a, dtype=np.result_type(a, np.float32))
        return self.grad(a, y) * a.dtype.type(reduction_scale(len(a), reduction))


LOSSES: dict[str, Loss] = {
    "cross_entropy": Loss("cross_entropy", _ce_value, _ce_grad, "softmax", (0.0, 1.0),
                          "-sum_k y_k log a_k", "-y / a", ("ce", "categorical_cross_entropy", "nll")),
    "binary_cross_entropy": Loss("binary_cross_entropy", _bce_value, _bce_grad, "sigmoid",
                                 (0.0, 1.0), "-sum_k [y_k log a_k + (1 - y_k) log(1 - a_k)]", "(a - y) / (a (1 - a))",
                                 ("bce", "logistic", "log_loss")),
    "squared_error": Loss("squared_error", _se_value, _se_grad, "identity", None,
                          "1/2 sum_k (a_k - y_k)^2", "a - y", ("mse", "se", "l2", "quadratic")),
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


# --- losses computed from the pre-activations: stable for any z ---------------------------

def _softmax_ce_value(z, a, y):
    # sum(y) logsumexp(z) - y.z: never takes the log of an underflowed probability
    return np.sum(y, axis=1) * logsumexp(z, axis=1) - np.sum(y * z, axis=1)


def _softmax_ce_delta(z, a, y):
    return a * np.sum(y, axis=1, keepdims=True) - y  # sum(y) s - y; a - y for one-hot rows


def _sigmoid_bce_value(z, a, y):
    return np.sum(np.logaddexp(0, z) - y * z, axis=1)  # -[y log s + (1-y) log(1-s)]


def _sigmoid_bce_delta(z, a, y):
    return a - y


def _identity_se_value(z, a, y):
    return _se_value(z, y)


def _sigmoid_ce_value(z, a, y):
    return np.sum(y * np.logaddexp(0, -z), axis=1)  # -y log s = y log(1 + e^-z)


def _sigmoid_ce_delta(z, a, y):
    return -y * expit(-z)  # d/dz [-y log s] = -y (1 - s)


def _log_softmax_pair(z):
    """``log s`` and ``log(1 - s)`` of a row-wise softmax, accurate for any z."""
    lse = logsumexp(z, axis=1, keepdims=True)
    log_s = z - lse
    s = np.exp(log_s)
    log_1ms = np.log1p(-np.minimum(s, 0.5))  # exact while s <= 1/2
    rows, cols = np.nonzero(s > 0.5)  # at most one per row: 1 - s = sum of the others
    if rows.size:
        others = z[rows].copy()
        others[np.arange(rows.size), cols] = -np.inf
        log_1ms[rows, cols] = logsumexp(others, axis=1) - lse[rows, 0]
    return log_s, log_1ms


def _softmax_bce_value(z, a, y):
    log_s, log_1ms = _log_softmax_pair(z)
    return -np.sum(y * log_s + (1 - y) * log_1ms, axis=1)


def _softmax_bce_delta(z, a, y):
    # dL/dz_j = -y_j + s_j sum(y) + (1 - y_j) s_j - sum_{k != j} (1 - y_k) s_j s_k / (1 - s_k);
    # the last products are formed as exp(log s_j + log s_k - log(1 - s_k)) <= 1, off the
    # diagonal only, so nothing overflows even when some s_k rounds to 1
    log_s, log_1ms = _log_softmax_pair(z)
    k = z.shape[1]
    exponent = log_s[:, :, None] + (log_s - log_1ms)[:, None, :]
    exponent[:, np.arange(k), np.arange(k)] = -np.inf
    cross = np.einsum("njk,nk->nj", np.exp(exponent), 1 - y)
    return -y + a * np.sum(y, axis=1, keepdims=True) + (1 - y) * a - cross


@dataclass(frozen=True)
class StableForm:
    """Loss per sample and delta ``dJ/dz`` computed from the pre-activations ``z``.

    ``per_sample(z, a, y)`` never reads ``a`` (it may be None); ``delta(z, a, y)`` may.
    """

    per_sample: Callable[[Array, Array | None, Array], Array]
    delta: Callable[[Array, Array, Array], Array]
    formula: str
    note: str = ""


STABLE_FORMS: dict[tuple[str, str], StableForm] = {
    ("softmax", "cross_entropy"): StableForm(_softmax_ce_value, _softmax_ce_delta, "a - y"),
    ("sigmoid", "binary_cross_entropy"): StableForm(_sigmoid_bce_value, _sigmoid_bce_delta, "a - y"),
    ("identity", "squared_error"): StableForm(_identity_se_value, _sigmoid_bce_delta, "a - y"),
    ("sigmoid", "cross_entropy"): StableForm(
        _sigmoid_ce_value, _sigmoid_ce_delta, "-y (1 - a)",
        "cross_entropy on sigmoid outputs ignores the (1 - y) log(1 - a) terms; its delta is not "
        "a - y; sigmoid pairs with binary_cross_entropy"),
    ("softmax", "binary_cross_entropy"): StableForm(
        _softmax_bce_value, _softmax_bce_delta,
        "a sum(y) - y + (1 - y) a - sum_k (1 - y_k) a a_k / (1 - a_k)",
        "the logistic (binary) cost on softmax outputs: valid, but its delta is not a - y; "
        "softmax pairs with cross_entropy"),
}


# --- pairings of output activation and loss ---------------------------------------------

@dataclass(frozen=True)
class Pairing:
    """How an output activation and a loss go together.

    ``status`` is ``"fused"`` (the canonical pairs: delta = a - y), ``"general"``
    (any other accepted pair) or ``"refused"``.  ``reason`` says why a pairing is refused
    or what a general one means; ``suggestion`` what to use instead.  ``stable`` is the
    form computed from the pre-activations, when the pair has one.
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
    def stable(self) -> StableForm | None:
        if self.status == "refused":
            return None
        return STABLE_FORMS.get((self.output.name, self.loss.name))

    @property
    def delta_formula(self) -> str:
        if self.status == "refused":
            return "refused"
        if self.stable is not None:
            return self.stable.formula
        if not self.output.elementwise:
            return f"s * (g - sum(g * s)), g = {self.loss.grad_formula}"
        return f"f'(z) * ({self.loss.grad_formula})"


def _domain_problem(output: Activation, loss: Loss) -> str:
    """Why ``output``'s values can leave ``loss``'s domain, or '' if they cannot."""
    if loss.domain is None:
        return ""
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
    if output.name == loss.canonical_output:  # the pairing's delta is a - y
        return Pairing(output, loss, "fused")
    suggestion = ("use output='softmax' with loss='cross_entropy' for classes, or "
                  "output='sigmoid' with loss='binary_cross_entropy' for independent labels")
    if loss.domain is not None:
        problem = _domain_problem(output, loss)
        if problem:
            return Pairing(output, loss, "refused", problem, suggestion)
    form = STABLE_FORMS.get((output.name, loss.name))
    return Pairing(output, loss, "general", form.note if form else "")


def per_sample_loss(pairing: Pairing, z: Array, y: Array, a: Array | None = None,
                    chain_rule: bool = False) -> Array:
    """Each sample's loss, summed over outputs and before the reduction, as the network computes it.

    From the pre-activations ``z`` by the pairing's stable form where it has one, else
    ``loss.per_sample(a, y)`` with ``a = f(z)`` (computed when not given).  Shapes: ``z``,
    ``a``, ``y`` ``(n_samples, n_outputs)``; returns ``(n_samples,)``.  ``chain_rule`` as in
    :func:`output_delta`.
    """
    form = None if chain_rule else pairing.stable
    if form is not None:
        return form.per_sample(z, a, y)
    return pairing.loss.per_sample(pairing.output.fn(z) if a is None else a, y)


def output_delta(pairing: Pairing, z: Array, a: Array, y: Array, reduction: str = "mean",
                 chain_rule: bool = False) -> tuple[float, Array]:
    """Reduced loss and its gradient ``dJ/dz`` w.r.t. the output pre-activations.

    Parameters
    ----------
    z, a, y : ndarray of shape (n_samples, n_outputs)
        Pre-activations, activations ``a = f(z)`` and targets.
    chain_rule : bool
        Use ``J_f^T . dL/da`` even where a stable form from ``z`` exists (for tests).

    Returns
    -------
    J : float
    delta : ndarray of shape (n_samples, n_outputs), ``dJ/dz`` including the 1/m of "mean".
    """
    scale = reduction_scale(len(z), reduction)
    per_sample = per_sample_loss(pairing, z, y, a, chain_rule)
    form = None if chain_rule else pairing.stable
    if form is not None:
        delta = form.delta(z, a, y)
    else:
        delta = pairing.output.vjp(z, a, pairing.loss.grad(a, y))
    return float(np.sum(per_sample) * scale), delta * delta.dtype.type(scale)
