"""A ReLU output layer trained with binary cross-entropy, its log clipped at eps.

ReLU outputs are not probabilities: they are exactly 0 for half the inputs and can exceed
1.  The logistic cost takes ``log(a)`` and ``log(1 - a)``, so the code clips with
``log(max(a, eps))`` to keep the numbers finite.  The backward pass uses the output delta
``a - y``, which belongs to a sigmoid output.  The cost is finite, the two gradients are
both finite — and they disagree.

Written the way a Python user lays out parameters (``W1, b1, W2, b2``, each row-major, the
library's ``"C"`` layout), with the cost summed over samples rather than averaged.

Run ``python examples/relu_output_cross_entropy.py``.
"""
import numpy as np

from gradcheck.check.gradient import check_gradient
from gradcheck.check.reference.compare import match_reference

SIZES = (5, 7, 3)
N_SAMPLES = 12
EPS = np.finfo(float).eps
SPEC = {"sizes": list(SIZES), "hidden": "relu", "output": "relu", "loss": "binary_cross_entropy",
        "reduction": "sum", "layout": "C"}


def make_problem(seed=0):
    """A seeded point ``theta`` (W1, b1, W2, b2), standardised inputs and one-hot targets."""
    rng = np.random.default_rng(seed)
    n, h, k = SIZES
    theta = rng.normal(0, 0.6, h * n + h + k * h + k)
    X = rng.standard_normal((N_SAMPLES, n))
    Y = np.eye(k)[rng.integers(0, k, N_SAMPLES)]
    return theta, X, Y


def unpack(theta):
    n, h, k = SIZES
    sizes = [h * n, h, k * h, k]
    W1, b1, W2, b2 = np.split(theta, np.cumsum(sizes)[:-1])
    return W1.reshape(h, n), b1, W2.reshape(k, h), b2


def relu(z):
    return np.maximum(z, 0)


def forward(theta, X):
    W1, b1, W2, b2 = unpack(theta)
    z1 = X @ W1.T + b1
    a1 = relu(z1)
    return W1, W2, z1, a1, relu(a1 @ W2.T + b2)


def user_cost(theta, X, Y):
    """Binary cross-entropy, summed, with the log clipped so that it never sees 0."""
    *_, a = forward(theta, X)
    return -np.sum(Y * np.log(np.maximum(a, EPS)) + (1 - Y) * np.log(np.maximum(1 - a, EPS)))


def user_gradient(theta, X, Y):
    """Backprop with the sigmoid/cross-entropy shortcut delta = a - y at a ReLU output."""
    W1, W2, z1, a1, a = forward(theta, X)
    delta2 = a - Y
    delta1 = (delta2 @ W2) * (z1 > 0)
    return np.concatenate([(delta1.T @ X).ravel(), delta1.sum(axis=0),
                           (delta2.T @ a1).ravel(), delta2.sum(axis=0)])


def check(seed=0):
    """The black-box check, blocks named as the user names them."""
    theta, X, Y = make_problem(seed)
    n, h, k = SIZES
    blocks = {"W1": (h, n), "b1": (h,), "W2": (k, h), "b2": (k,)}
    return check_gradient(lambda t: user_cost(t, X, Y), lambda t: user_gradient(t, X, Y), theta,
                          blocks=blocks, diagnose=True)


def reference(seed=0):
    """Reference mode against a ReLU output with binary cross-entropy (the clipped library cost)."""
    theta, X, Y = make_problem(seed)
    return match_reference(lambda t: user_gradient(t, X, Y), theta, SPEC, X, Y)


def run(seed=0):
    """Every finding: the black-box diagnoses, then the reference-mode ones."""
    return check(seed).diagnoses + reference(seed)


def show(title, findings, report=None):
    print(f"== {title}", *([report.summary()] if report else []), *map(str, findings), "", sep="\n")


if __name__ == "__main__":
    report = check()
    show("gradient check (black box)", report.diagnoses, report)
    show("reference: relu output, binary cross-entropy, summed", reference())
