"""Activation functions, each next to its derivative.

An :class:`Activation` is a small frozen record: the function ``fn(z) -> a``, its
derivative ``derivative(z, a) -> f'(z)`` (given both, so sigmoid can use ``a (1 - a)``),
the points where the derivative jumps (``kinks``) and the output range.  Every function
keeps the dtype of its input and stays finite, without warnings, for ``|z|`` up to 1e4
in float32 and float64.

Softmax is the one activation that is not elementwise: its :meth:`Activation.vjp`
is ``s * (g - sum(g * s))`` and :func:`softmax_jacobian` gives the per-row Jacobian
``diag(s) - s s^T``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, ndtr

from gradcheck.errors import ConfigError, nearest_name

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "leaky_relu",
    "softmax",
    "softmax_jacobian",
]

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """A named activation with its derivative.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"tanh"``.
    fn : callable
        ``fn(z) -> a``, both of shape ``(n_samples, n_units)``; ``fn(z, out=a)`` as well
        when ``takes_out``.
    derivative : callable or None
        ``derivative(z, a) -> f'(z)`` elementwise; None for softmax (use :meth:`vjp`).
    kinks : tuple of float
        Pre-activation values where the derivative is discontinuous.
    output_range : (float, float)
        Infimum and supremum of the outputs.
    closed : (bool, bool)
        Whether each bound is attained (relu reaches 0; sigmoid never reaches 0 or 1).
    elementwise : bool
        False only for softmax, whose outputs in a row depend on each other.
    takes_out : bool
        ``fn(z, out=array)`` writes into ``out`` (a NumPy ufunc's ``out``): the training
        kernel's :meth:`forward_into` then needs no temporary and no copy.

    Notes
    -----
    The function and its derivative exist once each: :meth:`forward_into` calls ``fn``, and
    :meth:`vjp` and the training kernel's in-place
    :meth:`backward_into` both multiply by ``derivative(z, a)``.  Derivatives that the
    kernel uses on every batch (sigmoid, tanh) are written to allocate one array.
    """

    name: str
    fn: Callable[..., Array]
    derivative: Callable[[Array, Array], Array] | None
    kinks: tuple[float, ...] = ()
    output_range: tuple[float, float] = (-math.inf, math.inf)
    closed: tuple[bool, bool] = (False, False)
    elementwise: bool = True
    params: dict = field(default_factory=dict, compare=False)
    takes_out: bool = field(default=False, compare=False, repr=False)

    @property
    def spec(self) -> str:
        """The name :func:`get_activation` accepts to rebuild this one (``"leaky_relu:0.2"``)."""
        return ":".join([self.name, *(repr(float(v)) for v in self.params.values())])

    def __call__(self, z: Array) -> Array:
        return self.fn(z)

    def vjp(self, z: Array, a: Array, g: Array) -> Array:
        """Vector-Jacobian product ``g . J``: the gradient w.r.t. ``z`` given ``g = dL/da``."""
        if self.derivative is None:  # not elementwise: the softmax
            return _softmax_vjp(a, g)
        return g * self.derivative(z, a)

    def forward_into(self, z: Array, out: Array) -> None:
        """Write ``fn(z)`` into ``out`` (same shape and dtype), without temporaries if possible."""
        if self.takes_out:
            self.fn(z, out=out)
        else:
            np.copyto(out, self.fn(z))

    def backward_into(self, z: Array, a: Array, g: Array) -> None:
        """Overwrite ``g = dL/da`` with ``dL/dz``, the :meth:`vjp`, in place."""
        if self.elementwise and self.derivative is not None:
            np.multiply(g, self.derivative(z, a), out=g)
        else:
            np.copyto(g, _softmax_vjp(a, g))

    def attains(self, value: float) -> bool:
        """True if ``value`` is a possible output (inside the range or an attained bound)."""
        lo, hi = self.output_range
        if lo < value < hi:
            return True
        return (value == lo and self.closed[0]) or (value == hi and self.closed[1])


# --- elementwise activations, each function beside its derivative ---------------------

def _identity(z, out=None):
    return np.positive(z, out=out)  # a copy (into out when given)


def _d_identity(z, a):
    return np.ones_like(z)


def _sigmoid(z, out=None):
    return expit(z, out=out)  # stable for any z: never evaluates exp of a large positive number


def _d_sigmoid(z, a):
    # sigma(z) sigma(-z) = sigma (1 - sigma), without 1 - a losing digits as a -> 1
    d = expit(-z)
    return np.multiply(a, d, out=d)


def _tanh(z, out=None):
    return np.tanh(z, out=out)


def _d_tanh(z, a):
    d = np.multiply(a, a)
    return np.subtract(1, d, out=d)  # tanh' = 1 - tanh^2, in one array


def _relu(z, out=None):
    return np.maximum(z, 0, out=out)


def _d_relu(z, a):
    return (z > 0).astype(z.dtype)  # relu'(0) = 0, the convention of PyTorch and sklearn


def leaky_relu(slope: float = 0.01) -> Activation:
    """Return leaky ReLU ``max(z, slope z)`` with the given negative-side slope.

    Derivative: 1 for z > 0, ``slope`` otherwise.
    """
    if not (0 <= slope < 1):
        raise ConfigError(
            f"leaky_relu slope must be in [0, 1), got {slope}; use a small value such as 0.01."
        )

    def fn(z):
        return np.where(z > 0, z, z * z.dtype.type(slope))

    def derivative(z, a):
        return np.where(z > 0, 1, slope).astype(z.dtype)

    return Activation("leaky_relu", fn, derivative, kinks=(0.0,), params={"slope": slope})


def _elu(z):
    # expm1 of min(z, 0): exp of a large positive z would overflow even where unused
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))


def _d_elu(z, a):
    return np.where(z > 0, 1, a + 1).astype(z.dtype)  # exp(z) = elu(z) + 1 for z <= 0


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _selu(z):
    neg = _SELU_ALPHA * np.expm1(np.minimum(z, 0))
    return _SELU_SCALE * np.where(z > 0, z, neg)


def _d_selu(z, a):
    neg = _SELU_SCALE * _SELU_ALPHA * np.exp(np.minimum(z, 0))
    return np.where(z > 0, _SELU_SCALE, neg).astype(z.dtype)


def _softplus(z):
    return np.logaddexp(0, z)  # log(1 + e^z) without overflow


def _d_softplus(z, a):
    return expit(z)


def _softsign(z):
    return z / (1 + np.abs(z))


def _d_softsign(z, a):
    return 1 / (1 + np.abs(z)) ** 2


_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu(z):
    return z * ndtr(z)  # z Phi(z), the exact (erf) form


def _d_gelu(z, a):
    # Phi(z) + z phi(z); exp(-z^2/2) underflows harmlessly to 0 for large |z|
    return ndtr(z) + z * (_INV_SQRT_2PI * np.exp(-0.5 * z * z))


_GELU_C = math.sqrt(2 / math.pi)


def _gelu_tanh_inner(z):
    # clip before cubing: |z|^3 overflows float32 beyond ~7e12, and tanh saturates long before
    zc = np.clip(z, -20, 20)
    return _GELU_C * (zc + 0.044715 * zc**3), zc


def _gelu_tanh(z):
    u, _ = _gelu_tanh_inner(z)
    return 0.5 * z * (1 + np.tanh(u))


def _d_gelu_tanh(z, a):
    u, zc = _gelu_tanh_inner(z)
    t = np.tanh(u)
    du = _GELU_C * (1 + 3 * 0.044715 * zc * zc) * (np.abs(z) < 20)
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * du


def _silu(z):
    return z * expit(z)


def _d_silu(z, a):
    s = expit(z)
    return s * (1 + z * (1 - s))  # (z sigma)' = sigma + z sigma (1 - sigma)


def _mish(z):
    return z * np.tanh(np.logaddexp(0, z))


def _d_mish(z, a):
    t = np.tanh(np.logaddexp(0, z))
    return t + z * (1 - t * t) * expit(z)  # tanh(sp) + z sech^2(sp) sp'


def _hard_sigmoid(z):
    return np.clip(z / 6 + 0.5, 0, 1)  # relu6(z + 3) / 6, PyTorch's definition


def _d_hard_sigmoid(z, a):
    return ((z > -3) & (z < 3)).astype(z.dtype) / 6


def _hard_tanh(z):
    return np.clip(z, -1, 1)


def _d_hard_tanh(z, a):
    return ((z > -1) & (z < 1)).astype(z.dtype)


# --- softmax: not elementwise --------------------------------------------------------

def softmax(z: Array, out: Array | None = None) -> Array:
    """Row-wise softmax of ``z`` with shape ``(n_samples, n_classes)``, into ``out`` if given."""
    # subtract the row max: exp overflows above ~709 (float64) or ~88 (float32)
    e = np.exp(np.subtract(z, z.max(axis=1, keepdims=True), out=out), out=out)
    e /= e.sum(axis=1, keepdims=True)
    return e


def _softmax_vjp(s: Array, g: Array) -> Array:
    # g . (diag(s) - s s^T) = s * (g - <g, s>), one row at a time
    return s * (g - np.sum(g * s, axis=1, keepdims=True))


def softmax_jacobian(z: Array) -> Array:
    """Per-row Jacobian ``ds_i/dz_j = s_i (delta_ij - s_j)``.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes) or (n_classes,)

    Returns
    -------
    ndarray of shape (n_samples, n_classes, n_classes) or (n_classes, n_classes)
    """
    z = np.asarray(z)
    s = softmax(np.atleast_2d(z))
    jac = np.einsum("ni,ij->nij", s, np.eye(s.shape[1], dtype=s.dtype))
    jac -= s[:, :, None] * s[:, None, :]
    return jac[0] if z.ndim == 1 else jac


# --- the registry ----------------------------------------------------------------------

_INF = math.inf
_GELU_MIN = -0.16997120747990  # min of z Phi(z), at z ~ -0.7518
_SILU_MIN = -0.27846454276107  # min of z sigma(z), at z ~ -1.2785
_MISH_MIN = -0.30884031331701  # min of z tanh(softplus(z)), at z ~ -1.1924

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("identity", _identity, _d_identity, takes_out=True),
        Activation("sigmoid", _sigmoid, _d_sigmoid, output_range=(0.0, 1.0),
                   takes_out=True),
        Activation("tanh", _tanh, _d_tanh, output_range=(-1.0, 1.0), takes_out=True),
        Activation("relu", _relu, _d_relu, (0.0,), (0.0, _INF), (True, False),
                   takes_out=True),
        leaky_relu(0.01),
        Activation("elu", _elu, _d_elu, (), (-1.0, _INF)),
        Activation("selu", _selu, _d_selu, (0.0,), (-_SELU_SCALE * _SELU_ALPHA, _INF)),
        Activation("softplus", _softplus, _d_softplus, (), (0.0, _INF)),
        Activation("softsign", _softsign, _d_softsign, (), (-1.0, 1.0)),
        Activation("gelu", _gelu, _d_gelu, (), (_GELU_MIN, _INF), (True, False)),
        Activation("gelu_tanh", _gelu_tanh, _d_gelu_tanh, (), (_GELU_MIN, _INF), (True, False)),
        Activation("silu", _silu, _d_silu, (), (_SILU_MIN, _INF), (True, False)),
        Activation("mish", _mish, _d_mish, (), (_MISH_MIN, _INF), (True, False)),
        Activation("hard_sigmoid", _hard_sigmoid, _d_hard_sigmoid, (-3.0, 3.0), (0.0, 1.0),
                   (True, True)),
        Activation("hard_tanh", _hard_tanh, _d_hard_tanh, (-1.0, 1.0), (-1.0, 1.0), (True, True)),
        Activation("softmax", softmax, None, (), (0.0, 1.0), elementwise=False,
                   takes_out=True),
    ]
}

_ALIASES = {"linear": "identity", "swish": "silu", "logistic": "sigmoid", "leakyrelu": "leaky_relu"}


def get_activation(name: str | Activation, **params) -> Activation:
    """Look up an activation by name (or pass an :class:`Activation` through).

    ``get_activation("leaky_relu", slope=0.2)`` builds a leaky ReLU with another slope;
    the string form ``"leaky_relu:0.2"`` does the same.
    """
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str):
        raise ConfigError(f"activation must be a name such as 'tanh', got {name!r}.")
    key, _, arg = name.strip().lower().partition(":")
    key = _ALIASES.get(key, key)
    if key == "leaky_relu" and (arg or params):
        unknown = set(params) - {"slope"}
        if unknown:
            raise ConfigError(f"leaky_relu takes only slope=..., not {', '.join(sorted(unknown))}.")
        try:
            slope = float(arg) if arg else float(params["slope"])
        except ValueError:
            raise ConfigError(f"leaky_relu slope {arg!r} is not a number; write e.g. 'leaky_relu:0.1'.") from None
        return leaky_relu(slope)
    if key in ACTIVATIONS and (arg or params):
        given = arg or ", ".join(f"{k}={v}" for k, v in params.items())
        raise ConfigError(f"activation '{key}' takes no parameters (got {given}); only "
                          f"leaky_relu takes one, its slope.")
    if key not in ACTIVATIONS:
        raise ConfigError(
            f"unknown activation {name!r}{nearest_name(key, ACTIVATIONS)} "
            f"(known: {', '.join(ACTIVATIONS)})."
        )
    return ACTIVATIONS[key]
