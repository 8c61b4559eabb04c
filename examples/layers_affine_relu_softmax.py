"""A CNN-course-style layer set (affine, ReLU, softmax loss) with the three classic slips.

Each layer is written the way the course writes it, ``out, cache = layer_forward(...)`` and
``dx, dw, db = layer_backward(dout, cache)``, and each has one slip people make:

* ``affine_backward`` returns ``dw = dout^T x``: the transpose of the gradient, (M, D) for w (D, M);
* ``relu_forward`` clips x in place (``x[x < 0] = 0``): the gradient is right, but the
  caller's x is changed — the next use of it (another branch, an optimizer) sees other values;
* ``softmax_loss`` returns ``dx = p - y`` without the 1/N of the mean.

:func:`gradcheck.check_layer` checks each layer's backward against central differences of its
forward, contracted with a random upstream gradient, and ``reference=`` names the textbook
mistake.  Run ``python examples/layers_affine_relu_softmax.py``.
"""
import numpy as np

from gradcheck import check_layer

N, D, H, C = 4, 6, 5, 3


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = dout.T @ x.reshape(x.shape[0], -1)  # the slip: x^T dout is (D, M)
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    x[x < 0] = 0  # the slip: the caller's array is changed
    return x, x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    n = len(x)
    loss = -np.log(p[np.arange(n), y]).mean()
    dx = p.copy()
    dx[np.arange(n), y] -= 1  # the slip: dx /= n is missing
    return loss, dx


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((N, 2, 3)), "w": rng.standard_normal((D, H)),
            "b": rng.standard_normal(H)}, {"x": rng.standard_normal((N, H))}, {
        "x": rng.standard_normal((N, C)), "y": rng.integers(0, C, N)}


def reports(seed=0):
    affine, relu, loss = make_inputs(seed)
    return [check_layer(affine_forward, affine_backward, affine, reference="affine", seed=seed),
            check_layer(relu_forward, relu_backward, relu, reference="relu", seed=seed),
            check_layer(softmax_loss, None, loss, reference="softmax_loss", seed=seed)]


def run(seed=0):
    """Every finding of the three checks, in order."""
    return [d for report in reports(seed) for d in report.diagnoses]


if __name__ == "__main__":
    for name, report in zip(("affine", "relu", "softmax_loss"), reports()):
        print(f"== {name}: {report.summary()}", *map(str, report.diagnoses), "", sep="\n")
