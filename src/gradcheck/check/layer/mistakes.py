"""The catalogue of textbook mistakes in layers' backward passes.

A :class:`LayerMistake` is one wrong backward pass of a reference layer
(:mod:`gradcheck.nn.layers`): ``backward(dout, cache) -> {input name: wrong gradient}``
for the inputs it gets wrong (the others keep the right gradient), computed from the
reference layer's own cache and, where it can, from the same helpers as the right backward
(:func:`~gradcheck.nn.layers.normalized_dx` with a term left out, :func:`~gradcheck.nn.layers.conv_dx`
with the kernel unflipped, :func:`~gradcheck.nn.layers.scatter_windows` with another stride).
``applies(cache)`` says whether the mistake changes anything at this point (a transposed
``dx = dout w`` needs a square w, a forgotten padding crop needs padding).

:func:`gradcheck.check.layer.reference.match_layer_reference` compares a user's gradients with
the right ones and with every applicable mistake of the layer.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from gradcheck.errors import ConfigError, nearest_name
from gradcheck.nn.layers import LAYERS, conv_dx, crop, normalized_dx, scatter_windows

__all__ = ["LayerMistake", "LAYER_MISTAKES", "mistakes_of", "get_layer_mistake"]

Array = np.ndarray


def _always(cache) -> bool:
    return True


@dataclass(frozen=True)
class LayerMistake:
    """One textbook mistake in a layer's backward pass.

    Attributes
    ----------
    code : str
        Stable identifier, ``"mistake:<layer>-<what>"``.
    layer : str
        The reference layer it belongs to (a key of :data:`~gradcheck.nn.layers.LAYERS`).
    title : str
        What was done, in a few words.
    explanation : str
        Why it is wrong.
    fix : str
        The sentence (and line of code) that fixes it.
    backward : callable
        ``backward(dout, cache) -> dict`` of the wrong gradients, by input name.
    applies : callable
        ``applies(cache) -> bool``: whether the mistake changes anything at this point.
    """

    code: str
    layer: str
    title: str
    explanation: str
    fix: str
    backward: Callable[[Array, dict], dict]
    applies: Callable[[dict], bool] = _always


# --- affine ---------------------------------------------------------------------------------------

def _affine_dx(dout, c, product) -> Array:
    return product(dout, c["w"]).reshape(c["x"].shape)


_AFFINE = [
    ("affine-dw-transposed", "dw = dout^T x",
     "dout^T x is the transpose of the gradient: (M, D) for w of shape (D, M).",
     "dw = x.reshape(N, -1).T @ dout",
     lambda d, c: {"w": d.T @ c["rows"]}, _always),
    ("affine-db-not-summed", "db = dout, not summed over the batch",
     "b is added to every sample's output, so every sample's dout adds to db: db has b's shape (M,).",
     "db = dout.sum(axis=0)", lambda d, c: {"b": d.copy()}, _always),
    ("affine-db-wrong-axis", "db summed over the features (axis 1) instead of the batch",
     "db must sum over the samples (axis 0) that share b; summing each sample's row gives one "
     "number per sample.", "db = dout.sum(axis=0)", lambda d, c: {"b": d.sum(axis=1)}, _always),
    ("affine-dx-not-transposed", "dx = dout w instead of dout w^T",
     "out = x w, so dx = dout w^T; dout w only has the right shape when w is square.",
     "dx = (dout @ w.T).reshape(x.shape)",
     lambda d, c: {"x": _affine_dx(d, c, lambda g, w: g @ w)},
     lambda c: c["w"].shape[0] == c["w"].shape[1]),
    ("affine-dx-not-reshaped", "dx left in the flattened (N, D) shape",
     "forward reshaped x (N, d1, ..., dk) to (N, D); backward must undo it for the layer below.",
     "dx = (dout @ w.T).reshape(x.shape)", lambda d, c: {"x": d @ c["w"].T},
     lambda c: c["x"].ndim > 2),
    ("affine-batch-mean", "dw and db divided by the batch size N",
     "a layer's backward is a plain vector-Jacobian product; the 1/N of a mean belongs to the loss, "
     "whose dout already carries it, so dividing again makes dw and db N times too small.",
     "dw = x_rows.T @ dout; db = dout.sum(axis=0)   # no / N",
     lambda d, c: {"w": c["rows"].T @ d / len(d), "b": d.sum(axis=0) / len(d)}, _always),
]


# --- activations ------------------------------------------------------------------------------------

_RELU = [
    ("relu-upstream-ignored", "dx = (x > 0), without dout",
     "the local derivative must be multiplied by the upstream gradient.", "dx = dout * (x > 0)",
     lambda d, c: {"x": (c["x"] > 0).astype(d.dtype)}, _always),
    ("relu-mask-from-dout", "the mask taken from dout: dx = max(dout, 0)",
     "relu passes dout where the INPUT was positive; clipping dout itself keeps the wrong entries.",
     "dx = dout * (x > 0)", lambda d, c: {"x": np.maximum(d, 0)}, _always),
    ("relu-times-output", "dx = dout * relu(x) instead of dout * (x > 0)",
     "relu'(x) is 1 where x > 0, not the output value.", "dx = dout * (x > 0)",
     lambda d, c: {"x": d * c["out"]}, _always),
]

_LEAKY = [
    ("leaky-relu-slope-dropped", "dx = dout * (x > 0): the negative side's slope forgotten",
     "leaky relu's derivative is the slope (not 0) where x <= 0.",
     "dx = dout * np.where(x > 0, 1, slope)", lambda d, c: {"x": d * (c["x"] > 0)}, _always),
    ("leaky-relu-slopes-swapped", "the slope used on the positive side and 1 on the negative",
     "the derivative is 1 for x > 0 and the slope otherwise.", "dx = dout * np.where(x > 0, 1, slope)",
     lambda d, c: {"x": d * np.where(c["x"] > 0, c["act"].params["slope"], 1.0)}, _always),
]

_SIGMOID = [
    ("sigmoid-derivative-from-input", "dx = dout * x (1 - x): the derivative from the input",
     "s(1 - s) uses the OUTPUT s = sigmoid(x); x(1 - x) is a different function.",
     "dx = dout * s * (1 - s), s = sigmoid(x) from the forward pass",
     lambda d, c: {"x": d * c["x"] * (1 - c["x"])}, _always),
    ("sigmoid-derivative-at-output", "sigmoid'(s): the derivative evaluated at the output",
     "sigmoid_gradient(out) applies sigmoid twice; s(1 - s) with the cached s is already sigmoid'(x).",
     "dx = dout * s * (1 - s)",
     lambda d, c: {"x": d * expit(c["out"]) * (1 - expit(c["out"]))}, _always),
]

_TANH = [
    ("tanh-derivative-from-input", "dx = dout * (1 - x^2): the derivative from the input",
     "tanh' = 1 - tanh(x)^2 uses the OUTPUT.", "dx = dout * (1 - out ** 2)",
     lambda d, c: {"x": d * (1 - c["x"] ** 2)}, _always),
    ("tanh-derivative-not-squared", "dx = dout * (1 - tanh(x))", "tanh' = 1 - tanh(x)^2, squared.",
     "dx = dout * (1 - out ** 2)", lambda d, c: {"x": d * (1 - c["out"])}, _always),
]

_SOFTMAX = [
    ("softmax-diagonal-only", "dx = dout * s (1 - s): only the Jacobian's diagonal",
     "every softmax output depends on every input of its row, so dx needs the whole Jacobian "
     "diag(s) - s s^T, not its diagonal.", "dx = s * (dout - (dout * s).sum(axis=1, keepdims=True))",
     lambda d, c: {"x": d * c["out"] * (1 - c["out"])}, _always),
    ("softmax-jacobian-from-inputs", "the Jacobian built from the inputs: s_i (delta_ij - x_j)",
     "ds_i/dx_j = s_i (delta_ij - s_j) uses the outputs s twice; x_j in place of s_j is another "
     "function (the question of seed report 003).",
     "dx = s * (dout - (dout * s).sum(axis=1, keepdims=True))",
     lambda d, c: {"x": c["out"] * d - c["x"] * (d * c["out"]).sum(axis=1, keepdims=True)}, _always),
    ("softmax-sum-over-batch", "sum(dout * s) taken over the batch (axis 0) instead of each row",
     "each row is its own softmax: the inner product runs over the classes of that row.",
     "dx = s * (dout - (dout * s).sum(axis=1, keepdims=True))",
     lambda d, c: {"x": c["out"] * (d - (d * c["out"]).sum(axis=0, keepdims=True))}, _always),
]


# --- losses and linear classifiers -------------------------------------------------------------------

def _softmax_scores(d, c, minus_one: bool = True, mean: bool = True, sign: float = 1.0) -> Array:
    delta = c["probs"] - (c["onehot"] if minus_one else 0.0)
    return sign * d * delta / (len(c["y"]) if mean else 1)


def _svm_scores(d, c, true_counted: bool = False, minus_count: bool = True, mean: bool = True) -> Array:
    positive = (c["margins"] > 0).astype(float)
    rows = np.arange(len(c["y"]))
    count = positive.sum(axis=1) + (1.0 if true_counted else 0.0)  # the true class's own margin delta
    positive[rows, c["y"]] = -count if minus_count else 0.0
    return d * positive / (len(c["y"]) if mean else 1)


_SOFTMAX_LOSS = [
    ("softmax-loss-missing-1/N", "dx = p - y without the 1/N of the mean",
     "the loss averages over the N samples, so its gradient carries 1/N too.", "dx = (p - onehot(y)) / N",
     lambda d, c: {"x": _softmax_scores(d, c, mean=False)}, _always),
    ("softmax-loss-no-minus-one", "dx = p / N: the 1 at the true class not subtracted",
     "d(-log p_y)/dx_j = p_j - [j = y]: the true class's score gets p_y - 1.",
     "dx = p.copy(); dx[np.arange(N), y] -= 1; dx /= N",
     lambda d, c: {"x": _softmax_scores(d, c, minus_one=False)}, _always),
    ("softmax-loss-sign", "dx = (y - p) / N: the gradient of the log-likelihood, not of the loss",
     "the loss is the NEGATIVE log-likelihood; its gradient is p - y.", "dx = (p - onehot(y)) / N",
     lambda d, c: {"x": _softmax_scores(d, c, sign=-1.0)}, _always),
]

_SVM_LOSS = [
    ("svm-true-class-counted", "the true class's own margin (always delta) counted",
     "margins[y] = delta > 0 must be zeroed before counting: the true class's score gets -count, "
     "not -(count + 1).", "margins[np.arange(N), y] = 0 before binary = margins > 0",
     lambda d, c: {"x": _svm_scores(d, c, true_counted=True)}, _always),
    ("svm-missing-minus-count", "the -count term at the true class missing",
     "every positive margin x_j - x_y + delta also depends on x_y, with slope -1.",
     "binary[np.arange(N), y] = -binary.sum(axis=1)",
     lambda d, c: {"x": _svm_scores(d, c, minus_count=False)}, _always),
    ("svm-missing-1/N", "the 1/N of the mean missing", "the loss averages over N samples.",
     "dx = binary / N", lambda d, c: {"x": _svm_scores(d, c, mean=False)}, _always),
]


def _linear(scores: Callable, reg_factor: float = 2.0) -> Callable:
    """A wrong dW = X^T dscores + reg_factor reg W from a wrong (or right) dscores."""
    def backward(d, c):
        return {"W": c["X"].T @ scores(d, c["scores"]) + reg_factor * c["reg"] * d * c["W"]}

    return backward


def _regularized(cache) -> bool:
    return cache["reg"] > 0


_LINEAR_SOFTMAX = [
    ("linear-softmax-reg-not-doubled", "the regulariser's gradient reg W instead of 2 reg W",
     "d(reg sum W^2)/dW = 2 reg W (or use 0.5 reg sum W^2 in the loss to get reg W).",
     "dW += 2 * reg * W", _linear(_softmax_scores, 1.0), _regularized),
    ("linear-softmax-missing-1/N", "dW = X^T (p - y) without the 1/N",
     "the data loss averages over N samples; its gradient keeps the 1/N (the penalty does not).",
     "dW = X.T @ (p - onehot(y)) / N + 2 * reg * W",
     _linear(lambda d, c: _softmax_scores(d, c, mean=False)), _always),
    ("linear-softmax-no-minus-one", "the 1 at the true class not subtracted",
     "d(-log p_y)/ds_j = p_j - [j = y].", "dscores[np.arange(N), y] -= 1",
     _linear(lambda d, c: _softmax_scores(d, c, minus_one=False)), _always),
]

_LINEAR_SVM = [
    ("linear-svm-reg-not-doubled", "the regulariser's gradient reg W instead of 2 reg W",
     "d(reg sum W^2)/dW = 2 reg W.", "dW += 2 * reg * W", _linear(_svm_scores, 1.0), _regularized),
    ("linear-svm-missing-minus-count", "the -count term at the true class missing",
     "each positive margin also pulls the true class's column of W with -X_i.",
     "dW[:, y[i]] -= X[i] for every positive margin",
     _linear(lambda d, c: _svm_scores(d, c, minus_count=False)), _always),
    ("linear-svm-true-class-counted", "the true class's own margin counted",
     "the loop must skip j == y[i] (or zero margins[y] in the vectorised form).",
     "if j == y[i]: continue", _linear(lambda d, c: _svm_scores(d, c, true_counted=True)), _always),
]


# --- normalisation --------------------------------------------------------------------------------

def _norm_dx(d, c, terms=("direct", "mean", "variance"), axis=None, gamma: bool = True) -> Array:
    dxhat = d * c["gamma"] if gamma else d
    return normalized_dx(dxhat, c["xhat"], c["inv_std"], c["axis"] if axis is None else axis, terms)


_BATCHNORM = [
    ("batchnorm-stats-as-constants", "the batch mean and variance treated as constants",
     "mean and variance are computed from x, so dx has two more terms through them.",
     "dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std",
     lambda d, c: {"x": _norm_dx(d, c, ("direct",))}, _always),
    ("batchnorm-missing-mean-term", "dx missing the term through the mean",
     "the mean's term -mean(dxhat) / std is one of dx's three terms.",
     "dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std",
     lambda d, c: {"x": _norm_dx(d, c, ("direct", "variance"))}, _always),
    ("batchnorm-missing-variance-term", "dx missing the term through the variance",
     "the variance's term -xhat mean(dxhat xhat) / std is one of dx's three terms.",
     "dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std",
     lambda d, c: {"x": _norm_dx(d, c, ("direct", "mean"))}, _always),
    ("batchnorm-dx-without-gamma", "dxhat = dout: gamma left out of dx",
     "out = gamma xhat + beta, so dxhat = dout * gamma.", "dxhat = dout * gamma",
     lambda d, c: {"x": _norm_dx(d, c, gamma=False)}, _always),
    ("batchnorm-dgamma-without-xhat", "dgamma = sum(dout), without xhat",
     "out = gamma xhat + beta: dgamma = sum over the batch of dout * xhat.",
     "dgamma = (dout * xhat).sum(axis=0)", lambda d, c: {"gamma": d.sum(axis=0)}, _always),
    ("batchnorm-params-wrong-axis", "dgamma and dbeta summed over the features (axis 1)",
     "gamma and beta are shared by the samples: sum over the batch (axis 0).",
     "dgamma = (dout * xhat).sum(axis=0); dbeta = dout.sum(axis=0)",
     lambda d, c: {"gamma": (d * c["xhat"]).sum(axis=1), "beta": d.sum(axis=1)}, _always),
]

_LAYERNORM = [
    ("layernorm-stats-as-constants", "each sample's mean and variance treated as constants",
     "they are computed from x, so dx has two more terms through them.",
     "dx = (dxhat - dxhat.mean(1) - xhat * (dxhat * xhat).mean(1)) / std",
     lambda d, c: {"x": _norm_dx(d, c, ("direct",))}, _always),
    ("layernorm-batchnorm-axis", "dx with the means over the batch (axis 0), as in batchnorm",
     "layernorm normalises each sample over its features: dx's means run over axis 1.",
     "dx = (dxhat - dxhat.mean(1, keepdims=True) - xhat * (dxhat * xhat).mean(1, keepdims=True)) / std",
     lambda d, c: {"x": _norm_dx(d, c, axis=0)}, _always),
    ("layernorm-params-over-features", "dgamma and dbeta summed over the features (axis 1)",
     "gamma and beta are per feature and shared by the samples: sum over the batch (axis 0), as "
     "in batchnorm — only the statistics change axis.",
     "dgamma = (dout * xhat).sum(axis=0); dbeta = dout.sum(axis=0)",
     lambda d, c: {"gamma": (d * c["xhat"]).sum(axis=1), "beta": d.sum(axis=1)}, _always),
]


# --- dropout, conv, pool, embedding -----------------------------------------------------------------

_DROPOUT = [
    ("dropout-without-mask", "dx = dout / p: the mask left out",
     "dropped units had no effect on the output, so their gradient is 0.", "dx = dout * mask / p",
     lambda d, c: {"x": d / c["p"]}, lambda c: not np.all(c["mask"])),
    ("dropout-without-scale", "dx = dout * mask: the 1/p of inverted dropout left out",
     "inverted dropout scales the kept units by 1/p in forward, so backward does too.",
     "dx = dout * mask / p", lambda d, c: {"x": d * c["mask"]}, lambda c: c["p"] != 1),
    ("dropout-drop-probability", "divided by 1 - p: p read as the probability of dropping",
     "p is the probability of KEEPING a unit (the mask is rand < p), and forward divides by it.",
     "dx = dout * mask / p", lambda d, c: {"x": d * c["mask"] / (1 - c["p"])},
     lambda c: 0 < c["p"] < 1 and c["p"] != 0.5),
]


def _conv(d, c, w=None, stride=None, pad=None) -> Array:
    w = c["w"] if w is None else w
    return crop(conv_dx(d, w, c["padded"], c["stride"] if stride is None else stride),
                c["pad"] if pad is None else pad)


def _conv_wrong_stride(d, c) -> dict:
    dcols = np.tensordot(d, c["w"], axes=([1], [0])).transpose(0, 3, 1, 2, 4, 5)
    return {"x": crop(scatter_windows(dcols, c["padded"], 1), c["pad"])}


_CONV = [
    ("conv-padding-not-cropped", "dx returned with the padding (the padded input's gradient)",
     "forward padded x, so backward must cut the border off again.",
     "dx = dx_padded[:, :, pad:-pad, pad:-pad]", lambda d, c: {"x": _conv(d, c, pad=0)},
     lambda c: c["pad"] > 0),
    ("conv-wrong-stride", "dx scattered with stride 1 instead of the forward's stride",
     "window (i, j) of the output starts at (i stride, j stride) of the padded input.",
     "dx_padded[:, :, i*stride:i*stride+HH, j*stride:j*stride+WW] += ...",
     _conv_wrong_stride, lambda c: c["stride"] > 1),
    ("conv-kernel-not-flipped", "dx as the full correlation of dout with the unflipped kernel",
     "forward correlates x with w, so dx is the full correlation of dout with w rotated by 180 "
     "degrees (every output's dout times w added back under its window); with w unrotated each "
     "kernel acts as its mirror image.",
     "dx_padded[n, :, window] += w[f] * dout[n, f, i, j]",
     lambda d, c: {"x": _conv(d, c, w=c["w"][:, :, ::-1, ::-1])},
     lambda c: max(c["w"].shape[2:]) > 1),
    ("conv-db-not-summed-spatially", "db summed over the batch only, not over the output positions",
     "b[f] is added at every output position, so db sums dout over N, H' and W'.",
     "db = dout.sum(axis=(0, 2, 3))", lambda d, c: {"b": d.sum(axis=0)}, _always),
    ("conv-dw-not-summed-over-batch", "dw kept per sample, not summed over the batch",
     "every sample uses the same kernel: dw sums their contributions.",
     "dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))",
     lambda d, c: {"w": np.einsum("nfhw,nchwij->nfcij", d, c["cols"])}, _always),
]


def _pool(d, c, mean: bool) -> dict:
    size = int(np.prod(c["window"]))
    dwin = np.broadcast_to(d[..., None] / (size if mean else 1), (*d.shape, size))
    return {"x": scatter_windows(dwin.reshape(*d.shape, *c["window"]), c["shape"], c["stride"])}


_POOL = [
    ("maxpool-to-every-element", "dout sent to every element of its window",
     "only the window's maximum reached the output; the others get 0.",
     "dx[window] = dout * (window == window.max())   # first maximum only at ties",
     lambda d, c: _pool(d, c, mean=False), _always),
    ("maxpool-averaged", "dout spread evenly over the window (average pooling's backward)",
     "max pooling passes dout to the maximum alone; dividing it over the window is average "
     "pooling's gradient.", "dx[argmax of each window] += dout",
     lambda d, c: _pool(d, c, mean=True), _always),
]


def _embedding_assigned(d, c) -> dict:
    dW = np.zeros(c["W_shape"], dtype=d.dtype)
    dW[c["x"]] = d  # repeated indices: the last assignment wins
    return {"W": dW}


_EMBEDDING = [
    ("embedding-assigned-not-added", "dW[x] = dout: repeated indices overwrite each other",
     "a word that occurs several times gets the sum of its rows of dout; fancy-index assignment "
     "keeps only the last.", "np.add.at(dW, x, dout)", _embedding_assigned,
     lambda c: np.unique(c["x"]).size < c["x"].size),
]


# --- the registry ---------------------------------------------------------------------------------

_BY_LAYER: dict[str, list[tuple]] = {"affine": _AFFINE, "relu": _RELU, "leaky_relu": _LEAKY, "sigmoid": _SIGMOID,
             "tanh": _TANH, "softmax": _SOFTMAX, "softmax_loss": _SOFTMAX_LOSS, "svm_loss": _SVM_LOSS,
             "linear_softmax": _LINEAR_SOFTMAX, "linear_svm": _LINEAR_SVM, "batchnorm": _BATCHNORM,
             "layernorm": _LAYERNORM, "dropout": _DROPOUT, "conv2d": _CONV, "max_pool2d": _POOL,
             "embedding": _EMBEDDING}

LAYER_MISTAKES: dict[str, LayerMistake] = {
    f"mistake:{code}": LayerMistake(f"mistake:{code}", layer, title, explanation, fix, backward, applies)
    for layer, entries in _BY_LAYER.items()
    for code, title, explanation, fix, backward, applies in entries
}


def mistakes_of(layer: str) -> list[LayerMistake]:
    """The catalogued mistakes of one reference layer, in catalogue order."""
    if layer not in LAYERS:
        raise ConfigError(f"unknown reference layer {layer!r}{nearest_name(layer, LAYERS)}.")
    return [m for m in LAYER_MISTAKES.values() if m.layer == layer]


def get_layer_mistake(code: str) -> LayerMistake:
    """Look up a layer mistake by code (``"mistake:"`` prefix optional)."""
    key = code if code.startswith("mistake:") else f"mistake:{code}"
    if key not in LAYER_MISTAKES:
        raise ConfigError(f"unknown layer mistake {code!r}{nearest_name(key, LAYER_MISTAKES)}.")
    return LAYER_MISTAKES[key]
