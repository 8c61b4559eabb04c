"""Reference layers in NumPy, each forward pass next to its backward pass.

A :class:`Layer` is a small frozen record in the style of the best-known CNN course's
layer functions: ``forward(*inputs, **params) -> (out, cache)`` and
``backward(dout, cache) -> (d_input, ...)``, one gradient per input that is not a constant
(labels, indices, a dropout mask), in the order of :attr:`Layer.inputs`.  ``backward``
computes the vector-Jacobian product ``dout . d out / d input``: no 1/N of its own — the
mean over the batch belongs to the loss layers, whose output is the scalar loss.

Every backward here is verified against PyTorch's autograd in float64 to 1e-10
(``tests/nn/test_layers.py``).  The elementwise layers and softmax are the activations of
:mod:`gradcheck.nn.activations` (their functions and derivatives, not copies), and
softmax + cross-entropy is the network's own fused loss.  All stay finite without
warnings for inputs of +-1e4.

========================  =======================================  ===========================
layer                     inputs (shapes)                          params
========================  =======================================  ===========================
affine                    x (N, d1, ..., dk), w (D, M), b (M,)     —
relu, sigmoid, tanh       x (any shape)                            —
leaky_relu                x (any shape)                            slope=0.01
softmax                   x (N, C), rows                           —
softmax_loss              x (N, C) scores, y (N,) labels           — (mean over N)
svm_loss                  x (N, C) scores, y (N,) labels           delta=1.0 (mean over N)
linear_softmax            W (D, C), X (N, D), y (N,)               reg=0.0 (+ reg sum W^2)
linear_svm                W (D, C), X (N, D), y (N,)               reg=0.0, delta=1.0
batchnorm                 x (N, D), gamma (D,), beta (D,)          eps=1e-5, mode="train"
layernorm                 x (N, D), gamma (D,), beta (D,)          eps=1e-5
dropout                   x (any), mask (as x, 0/1), inverted      p=0.5 (keep probability)
conv2d                    x (N, C, H, W), w (F, C, HH, WW), b (F,) stride=1, pad=0
max_pool2d                x (N, C, H, W)                           pool_height=2, pool_width=2,
                                                                   stride=2
embedding                 x (N, T) indices, W (V, D)               —
========================  =======================================  ===========================
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.lib.stride_tricks import as_strided

from gradcheck.errors import ConfigError, nearest_name
from gradcheck.nn.activations import get_activation
from gradcheck.nn.losses import output_delta, pair

__all__ = ["LAYERS", "Layer", "get_layer"]

Array = np.ndarray


def _frozen(**params) -> Mapping:
    return MappingProxyType(params)


@dataclass(frozen=True)
class Layer:
    """One reference layer.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"conv2d"``.
    inputs : tuple of str
        Names of the array inputs, in the order ``forward`` takes them.
    forward : callable
        ``forward(*inputs, **params) -> (out, cache)``.
    backward : callable
        ``backward(dout, cache) -> tuple``: one gradient per input not in ``constants``, in
        the order of ``inputs``, each of its input's shape.
    example : callable
        ``example(rng) -> dict`` of small inputs (name -> array), away from any kink.
    params : mapping
        The keyword parameters ``forward`` takes, with their defaults.
    constants : tuple of str
        Inputs that are not differentiated (integer labels and indices, a dropout mask).
    kinks : str
        Where the layer is not differentiable; empty when it is smooth.
    formula : str
        The backward pass in one line.
    scalar : bool
        The output is one number, a loss: the mean over the batch belongs inside this layer.
    """

    name: str
    inputs: tuple[str, ...]
    forward: Callable
    backward: Callable
    example: Callable[[np.random.Generator], dict]
    params: Mapping = field(default_factory=_frozen)
    constants: tuple[str, ...] = ()
    kinks: str = ""
    formula: str = ""
    scalar: bool = False

    @property
    def differentiable(self) -> tuple[str, ...]:
        """The inputs ``backward`` returns a gradient for, in order."""
        return tuple(name for name in self.inputs if name not in self.constants)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


# --- affine ------------------------------------------------------------------------------

def affine_forward(x: Array, w: Array, b: Array):
    """``out = x.reshape(N, D) @ w + b``, shape (N, M); x of any rank (N, d1, ..., dk)."""
    _require(x.ndim >= 1 and w.ndim == 2 and b.shape == w.shape[1:],
             f"affine needs w of shape (D, M) and b of shape (M,), got w {w.shape} and b {b.shape}.")
    rows = x.reshape(len(x), -1)
    _require(rows.shape[1] == w.shape[0], f"affine: x has {rows.shape[1]} features per sample but "
             f"w has {w.shape[0]} rows; w must be (D, M) with D = prod(x.shape[1:]).")
    return rows @ w + b, {"x": x, "w": w, "rows": rows}


def affine_backward(dout: Array, cache: dict):
    """``dx = (dout @ w.T).reshape(x.shape)``, ``dw = x_rows.T @ dout``, ``db = sum_n dout``."""
    dx = (dout @ cache["w"].T).reshape(cache["x"].shape)
    return dx, cache["rows"].T @ dout, dout.sum(axis=0)


def _affine_example(rng):
    return {"x": rng.standard_normal((4, 2, 3)), "w": rng.standard_normal((6, 5)),
            "b": rng.standard_normal(5)}


# --- activations: the network's own functions and derivatives ------------------------------

def _activation(name: str, **params):
    return get_activation(name, **params) if params else get_activation(name)


def _activation_layer(name: str, example, params=None, kinks: str = "", formula: str = "") -> Layer:
    """A layer of the activation ``name``: forward ``f(x)``, backward ``act.vjp(x, f(x), dout)``."""

    def forward(x: Array, **given):
        act = _activation(name, **given)
        out = act.fn(x)
        return out, {"x": x, "out": out, "act": act}

    def backward(dout: Array, cache: dict):
        return (cache["act"].vjp(cache["x"], cache["out"], dout),)

    forward.__name__, backward.__name__ = f"{name}_forward", f"{name}_backward"
    return Layer(name, ("x",), forward, backward, example, _frozen(**(params or {})),
                 kinks=kinks, formula=formula)


def _rows_example(rng):
    return {"x": rng.standard_normal((4, 5))}


def _away_from_zero_example(rng):
    x = rng.standard_normal((4, 5))
    return {"x": np.where(np.abs(x) < 0.05, 0.5, x)}  # kink at 0


# --- losses on scores: the mean over the batch belongs here --------------------------------

_SOFTMAX_CE = pair("softmax", "cross_entropy")


def _one_hot(y: Array, n_classes: int) -> Array:
    return np.eye(n_classes)[y]


def _check_labels(x: Array, y: Array, name: str) -> None:
    _require(x.ndim == 2 and y.shape == (len(x),), f"{name} needs scores of shape (N, C) and "
             f"labels of shape (N,), got {x.shape} and {y.shape}.")
    _require(y.dtype.kind in "iu" and y.size > 0 and 0 <= y.min() and y.max() < x.shape[1],
             f"{name}: labels must be integers in 0..{x.shape[1] - 1}, one per row of scores.")


def softmax_loss_forward(x: Array, y: Array):
    """``L = -1/N sum_i log softmax(x_i)[y_i]``; ``dL/dx = (softmax(x) - onehot(y)) / N``."""
    _check_labels(x, y, "softmax_loss")
    Y = _one_hot(y, x.shape[1])
    probs = _activation("softmax").fn(x)
    loss, delta = output_delta(_SOFTMAX_CE, x, probs, Y)  # the network's fused loss, 1/N included
    return loss, {"x": x, "y": y, "probs": probs, "onehot": Y, "delta": delta}


def softmax_loss_backward(dout, cache: dict):
    """``dx = dout (softmax(x) - onehot(y)) / N``."""
    return (cache["delta"] * dout,)


def svm_loss_forward(x: Array, y: Array, delta: float = 1.0):
    """``L = 1/N sum_i sum_{j != y_i} max(0, x_ij - x_iy_i + delta)``."""
    _check_labels(x, y, "svm_loss")
    rows = np.arange(len(x))
    margins = np.maximum(0.0, x - x[rows, y][:, None] + delta)
    margins[rows, y] = 0.0  # the true class has no margin against itself
    return float(margins.sum()) / len(x), {"x": x, "y": y, "margins": margins}


def svm_loss_backward(dout, cache: dict):
    """``dx_ij = [margin_ij > 0] / N`` for j != y_i; ``dx_iy_i = -count_i / N``; times dout."""
    return (dout * _svm_scores_gradient(cache["margins"], cache["y"]),)


def _svm_scores_gradient(margins: Array, y: Array) -> Array:
    positive = (margins > 0).astype(float)
    positive[np.arange(len(y)), y] = -positive.sum(axis=1)
    return positive / len(y)


def _scores_example(rng):
    return {"x": rng.standard_normal((5, 4)), "y": rng.integers(0, 4, 5)}


# --- linear classifiers: W (D, C) on data X (N, D), with an L2 penalty ----------------------

def _linear(loss_forward: Callable):
    def forward(W: Array, X: Array, y: Array, reg: float = 0.0, **given):
        _require(X.ndim == 2 and W.ndim == 2 and X.shape[1] == W.shape[0],
                 f"the linear classifier needs W (D, C) and X (N, D), got {W.shape} and {X.shape}.")
        loss, cache = loss_forward(X @ W, y, **given)
        return loss + reg * float(np.vdot(W, W)), {"W": W, "X": X, "reg": reg, "scores": cache}

    return forward


def _linear_backward(scores_backward: Callable):
    def backward(dout, cache: dict):
        (dscores,) = scores_backward(dout, cache["scores"])
        return (cache["X"].T @ dscores + 2 * cache["reg"] * dout * cache["W"],)  # d(reg W^2) = 2 reg W

    return backward


def _linear_example(rng):
    return {"W": 0.1 * rng.standard_normal((6, 4)), "X": rng.standard_normal((5, 6)),
            "y": rng.integers(0, 4, 5)}


# --- normalisation: batchnorm (over the batch) and layernorm (over the features) -------------

def _normalize(x: Array, axis: int, eps: float):
    mean = x.mean(axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    return (x - mean) * inv_std, inv_std


def normalized_dx(dxhat: Array, xhat: Array, inv_std: Array, axis: int,
                  terms=("direct", "mean", "variance")) -> Array:
    """``dx`` of ``xhat = (x - mean) / std`` over ``axis``: the three terms of the chain rule.

    ``direct`` ``dxhat / std``; ``mean`` (through the mean) ``-mean(dxhat) / std``;
    ``variance`` (through the variance) ``-xhat mean(dxhat xhat) / std``.
    """
    parts = {"direct": lambda: dxhat,
             "mean": lambda: -dxhat.mean(axis=axis, keepdims=True),
             "variance": lambda: -xhat * (dxhat * xhat).mean(axis=axis, keepdims=True)}
    return inv_std * sum(parts[t]() for t in terms)


def _check_norm(x: Array, gamma: Array, beta: Array, name: str) -> None:
    _require(x.ndim == 2 and gamma.shape == beta.shape == x.shape[1:],
             f"{name} needs x (N, D), gamma (D,) and beta (D,), got {x.shape}, {gamma.shape}, "
             f"{beta.shape}.")


def batchnorm_forward(x: Array, gamma: Array, beta: Array, eps: float = 1e-5, mode: str = "train"):
    """Train mode: ``xhat = (x - mean_N) / sqrt(var_N + eps)``, ``out = gamma xhat + beta``."""
    _check_norm(x, gamma, beta, "batchnorm")
    _require(mode == "train", f"the batchnorm reference is the train-mode layer (batch statistics), "
             f"got mode={mode!r}; check with mode='train'.")
    xhat, inv_std = _normalize(x, 0, eps)
    return gamma * xhat + beta, {"xhat": xhat, "inv_std": inv_std, "gamma": gamma, "axis": 0}


def layernorm_forward(x: Array, gamma: Array, beta: Array, eps: float = 1e-5):
    """Per sample: ``xhat = (x - mean_D) / sqrt(var_D + eps)``, ``out = gamma xhat + beta``."""
    _check_norm(x, gamma, beta, "layernorm")
    xhat, inv_std = _normalize(x, 1, eps)
    return gamma * xhat + beta, {"xhat": xhat, "inv_std": inv_std, "gamma": gamma, "axis": 1}


def norm_backward(dout: Array, cache: dict):
    """``dx`` by :func:`normalized_dx` over the cache's axis; ``dgamma = sum_N dout xhat``, ``dbeta = sum_N dout``."""
    dx = normalized_dx(dout * cache["gamma"], cache["xhat"], cache["inv_std"], cache["axis"])
    return dx, (dout * cache["xhat"]).sum(axis=0), dout.sum(axis=0)


def _norm_example(rng):
    return {"x": 2 * rng.standard_normal((5, 4)) + 1, "gamma": rng.standard_normal(4),
            "beta": rng.standard_normal(4)}


# --- inverted dropout with a fixed mask -------------------------------------------------------

def dropout_forward(x: Array, mask: Array, p: float = 0.5, mode: str = "train"):
    """``out = x * mask / p``: ``mask`` keeps (1) or drops (0) each unit, ``p`` the keep probability."""
    _require(0 < p <= 1, f"dropout's p is the probability of keeping a unit, in (0, 1]; got {p}.")
    _require(mask.shape == x.shape, f"dropout's mask must have x's shape {x.shape}, got {mask.shape}.")
    _require(mode == "train", f"the dropout reference is the train-mode layer; got mode={mode!r}.")
    keep = mask.astype(x.dtype) / x.dtype.type(p)
    return x * keep, {"keep": keep, "mask": mask, "p": p}


def dropout_backward(dout: Array, cache: dict):
    """``dx = dout * mask / p``."""
    return (dout * cache["keep"],)


def _dropout_example(rng):
    return {"x": rng.standard_normal((4, 5)), "mask": rng.random((4, 5)) < 0.6}


# --- conv2d and max-pool 2d over windows (im2col as a strided view) --------------------------

def windows(x: Array, height: int, width: int, stride: int) -> Array:
    """Every ``height x width`` window of ``x`` (N, C, H, W) at ``stride``: a read-only view of shape
    (N, C, Ho, Wo, height, width).  The strides of ``sliding_window_view(...)[:, :, ::s, ::s]``,
    set directly: its checks cost ten times the view itself, once per forward call."""
    n, c, h, w = x.shape
    sn, sc, sh, sw = x.strides
    shape = (n, c, (h - height) // stride + 1, (w - width) // stride + 1, height, width)
    return as_strided(x, shape, (sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)


def _pad(x: Array, pad: int) -> Array:
    if pad == 0:
        return x
    padded = np.zeros((*x.shape[:2], x.shape[2] + 2 * pad, x.shape[3] + 2 * pad), dtype=x.dtype)
    padded[:, :, pad:-pad, pad:-pad] = x
    return padded


def scatter_windows(dwin: Array, shape: tuple, stride: int) -> Array:
    """The adjoint of :func:`windows`: add each window's gradient back where it was read from."""
    dx = np.zeros(shape, dtype=dwin.dtype)
    ho, wo, height, width = dwin.shape[2:]
    for i in range(height):
        for j in range(width):
            dx[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride] += dwin[..., i, j]
    return dx


def _check_conv(x: Array, w: Array, b: Array, stride: int, pad: int) -> None:
    _require(x.ndim == 4 and w.ndim == 4 and x.shape[1] == w.shape[1] and b.shape == w.shape[:1],
             f"conv2d needs x (N, C, H, W), w (F, C, HH, WW) and b (F,), got {x.shape}, {w.shape}, "
             f"{b.shape}.")
    _require(int(stride) == stride >= 1 and int(pad) == pad >= 0,
             f"conv2d needs a whole stride >= 1 and pad >= 0, got stride={stride}, pad={pad}.")
    _require(min(x.shape[2:]) + 2 * pad >= max(w.shape[2:]),
             f"conv2d: the {w.shape[2]}x{w.shape[3]} kernel is larger than the padded input.")


def conv2d_forward(x: Array, w: Array, b: Array, stride: int = 1, pad: int = 0):
    """``out[n, f] = sum_c correlate(pad(x)[n, c], w[f, c]) + b[f]`` at ``stride``: (N, F, Ho, Wo)."""
    _check_conv(x, w, b, stride, pad)
    stride, pad = int(stride), int(pad)
    padded = _pad(x, pad)
    cols = windows(padded, w.shape[2], w.shape[3], stride)
    n, _, ho, wo = cols.shape[:4]
    rows = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, -1)  # im2col: one window per row
    out = (rows @ w.reshape(len(w), -1).T).reshape(n, ho, wo, -1).transpose(0, 3, 1, 2) + b[:, None, None]
    return out, {"x": x, "w": w, "cols": cols, "rows": rows, "padded": padded.shape, "stride": stride,
                 "pad": pad}


def conv_dx(dout: Array, w: Array, padded: tuple, stride: int) -> Array:
    """The padded input's gradient: every output's ``dout * w`` added back under its window."""
    dcols = np.tensordot(dout, w, axes=([1], [0])).transpose(0, 3, 1, 2, 4, 5)  # (N, C, Ho, Wo, HH, WW)
    return scatter_windows(dcols, padded, stride)


def crop(dpadded: Array, pad: int) -> Array:
    """Drop the ``pad`` border the forward pass added."""
    return dpadded[:, :, pad:dpadded.shape[2] - pad, pad:dpadded.shape[3] - pad]


def conv2d_backward(dout: Array, cache: dict):
    """``dx`` = crop(scatter of dout * w); ``dw[f] = sum_n,h,w dout * window``; ``db = sum_n,h,w dout``."""
    dx = crop(conv_dx(dout, cache["w"], cache["padded"], cache["stride"]), cache["pad"])
    dw = (dout.transpose(1, 0, 2, 3).reshape(len(cache["w"]), -1) @ cache["rows"]).reshape(cache["w"].shape)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _conv_example(rng):
    return {"x": rng.standard_normal((2, 3, 5, 5)), "w": rng.standard_normal((4, 3, 3, 3)),
            "b": rng.standard_normal(4)}


def max_pool2d_forward(x: Array, pool_height: int = 2, pool_width: int = 2, stride: int = 2):
    """``out[n, c, i, j]`` = max of each window; the first maximum of a window is the one taken."""
    _require(x.ndim == 4 and 1 <= pool_height <= x.shape[2] and 1 <= pool_width <= x.shape[3]
             and stride >= 1, f"max_pool2d needs x (N, C, H, W) and a pool no larger than H x W, "
             f"got x {x.shape}, pool {pool_height}x{pool_width}, stride {stride}.")
    cols = windows(x, int(pool_height), int(pool_width), int(stride))
    flat = cols.reshape(*cols.shape[:4], -1)
    argmax = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    return out, {"shape": x.shape, "argmax": argmax, "window": cols.shape[4:], "stride": int(stride)}


def max_pool2d_backward(dout: Array, cache: dict):
    """Each window's ``dout`` goes to its (first) maximum; ties are kinks."""
    dwin = np.zeros((*dout.shape, int(np.prod(cache["window"]))), dtype=dout.dtype)
    np.put_along_axis(dwin, cache["argmax"][..., None], dout[..., None], axis=-1)
    return (scatter_windows(dwin.reshape(*dout.shape, *cache["window"]), cache["shape"], cache["stride"]),)


def _pool_example(rng):
    x = rng.permutation(2 * 3 * 4 * 4).reshape(2, 3, 4, 4) / 7.0  # distinct values: no ties
    return {"x": x}


# --- embedding ------------------------------------------------------------------------------

def embedding_forward(x: Array, W: Array):
    """``out[n, t] = W[x[n, t]]``, shape (N, T, D)."""
    _require(x.dtype.kind in "iu" and W.ndim == 2 and (x.size == 0 or (0 <= x.min() and x.max() < len(W))),
             f"embedding needs integer indices x in 0..{len(W) - 1} and W of shape (V, D).")
    return W[x], {"x": x, "W_shape": W.shape}


def embedding_backward(dout: Array, cache: dict):
    """``dW[v] = sum of dout[n, t] over every (n, t) with x[n, t] = v`` (repeated indices add up)."""
    dW = np.zeros(cache["W_shape"], dtype=dout.dtype)
    np.add.at(dW, cache["x"], dout)
    return (dW,)


def _embedding_example(rng):
    return {"x": np.array([[0, 3, 1], [3, 3, 2]]), "W": rng.standard_normal((5, 4))}  # 3 repeats


# --- the registry -----------------------------------------------------------------------------

LAYERS: dict[str, Layer] = {layer.name: layer for layer in [
    Layer("affine", ("x", "w", "b"), affine_forward, affine_backward, _affine_example,
          formula="dx = (dout w^T).reshape(x.shape); dw = x_rows^T dout; db = sum_N dout"),
    _activation_layer("relu", _away_from_zero_example, kinks="x = 0 (relu'(0) taken as 0)",
                      formula="dx = dout * (x > 0)"),
    _activation_layer("leaky_relu", _away_from_zero_example, {"slope": 0.01}, kinks="x = 0",
                      formula="dx = dout * where(x > 0, 1, slope)"),
    _activation_layer("sigmoid", _rows_example, formula="dx = dout * s (1 - s), s = sigmoid(x)"),
    _activation_layer("tanh", _rows_example, formula="dx = dout * (1 - tanh(x)^2)"),
    _activation_layer("softmax", _rows_example, formula="dx = s * (dout - sum(dout * s, axis=1))"),
    Layer("softmax_loss", ("x", "y"), softmax_loss_forward, softmax_loss_backward, _scores_example,
          constants=("y",), formula="dx = dout (softmax(x) - onehot(y)) / N", scalar=True),
    Layer("svm_loss", ("x", "y"), svm_loss_forward, svm_loss_backward, _scores_example,
          _frozen(delta=1.0), ("y",), kinks="a margin x_ij - x_iy + delta exactly 0",
          formula="dx_ij = [margin_ij > 0] / N (j != y_i); dx_iy = -count_i / N", scalar=True),
    Layer("linear_softmax", ("W", "X", "y"), _linear(softmax_loss_forward),
          _linear_backward(softmax_loss_backward), _linear_example, _frozen(reg=0.0), ("X", "y"),
          formula="dW = X^T (softmax(XW) - onehot(y)) / N + 2 reg W", scalar=True),
    Layer("linear_svm", ("W", "X", "y"), _linear(svm_loss_forward), _linear_backward(svm_loss_backward),
          _linear_example, _frozen(reg=0.0, delta=1.0), ("X", "y"),
          kinks="a margin exactly 0", formula="dW = X^T dscores + 2 reg W", scalar=True),
    Layer("batchnorm", ("x", "gamma", "beta"), batchnorm_forward, norm_backward, _norm_example,
          _frozen(eps=1e-5, mode="train"),
          formula="dx = (dxhat - mean_N(dxhat) - xhat mean_N(dxhat xhat)) / std; dgamma = sum_N dout xhat"),
    Layer("layernorm", ("x", "gamma", "beta"), layernorm_forward, norm_backward, _norm_example,
          _frozen(eps=1e-5),
          formula="dx = (dxhat - mean_D(dxhat) - xhat mean_D(dxhat xhat)) / std; dgamma = sum_N dout xhat"),
    Layer("dropout", ("x", "mask"), dropout_forward, dropout_backward, _dropout_example,
          _frozen(p=0.5, mode="train"), ("mask",), formula="dx = dout * mask / p"),
    Layer("conv2d", ("x", "w", "b"), conv2d_forward, conv2d_backward, _conv_example,
          _frozen(stride=1, pad=0),
          formula="dx = crop(full correlation of dout with the flipped w); dw = sum dout * windows; db = sum dout"),
    Layer("max_pool2d", ("x",), max_pool2d_forward, max_pool2d_backward, _pool_example,
          _frozen(pool_height=2, pool_width=2, stride=2),
          kinks="ties: two equal maxima in one window", formula="dx = dout routed to each window's maximum"),
    Layer("embedding", ("x", "W"), embedding_forward, embedding_backward, _embedding_example,
          constants=("x",), formula="dW = zeros; np.add.at(dW, x, dout)"),
]}


def get_layer(name: str | Layer) -> Layer:
    """Look up a reference layer by name (a :class:`Layer` passes through)."""
    if isinstance(name, Layer):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in LAYERS:
        raise ConfigError(f"unknown reference layer {name!r}{nearest_name(key, LAYERS)} "
                          f"(known: {', '.join(LAYERS)}).")
    return LAYERS[key]
