"""Multi-output regression whose cost averages over outputs and whose gradient does not.

A tanh network with three linear outputs and the squared-error cost.  The cost function
was written with ``np.mean`` over the whole ``(n_samples, n_outputs)`` matrix — divided by
``m * k`` — while the gradient was derived per sample, ``(a - y) / m``.  Each one looks
reasonable alone; together the gradient is exactly ``k`` times the derivative of the cost
(the trap scikit-learn's own MLP fell into, issue #8349).  Parameters are laid out like the
library's (``W1, b1, W2, b2``, row-major).

Run ``python examples/multi_output_regression.py``.
"""
import numpy as np

from gradcheck.check.gradient import check_gradient
from gradcheck.check.reference.compare import match_reference

SIZES = (4, 6, 3)      # inputs, tanh units, regression targets
N_SAMPLES = 15
SPEC = {"sizes": list(SIZES), "hidden": "tanh", "output": "identity", "loss": "squared_error",
        "layout": "C"}


def make_problem(seed=0):
    """A seeded point ``theta`` (W1, b1, W2, b2), inputs and real-valued targets."""
    rng = np.random.default_rng(seed)
    n, h, k = SIZES
    theta = rng.normal(0, 0.5, h * n + h + k * h + k)
    X = rng.standard_normal((N_SAMPLES, n))
    Y = X[:, :k] ** 2 - X[:, 1:k + 1] + 0.1 * rng.standard_normal((N_SAMPLES, k))
    return theta, X, Y


def unpack(theta):
    n, h, k = SIZES
    W1, b1, W2, b2 = np.split(theta, np.cumsum([h * n, h, k * h]))
    return W1.reshape(h, n), b1, W2.reshape(k, h), b2


def predict(theta, X):
    W1, b1, W2, b2 = unpack(theta)
    hidden = np.tanh(X @ W1.T + b1)
    return W2, hidden, hidden @ W2.T + b2


def user_cost(theta, X, Y):
    """Half the mean squared error — the mean over samples AND outputs."""
    *_, out = predict(theta, X)
    return 0.5 * np.mean((out - Y) ** 2)


def user_gradient(theta, X, Y):
    """Backprop of half the squared error averaged over samples only."""
    W2, hidden, out = predict(theta, X)
    m = len(X)
    delta2 = (out - Y) / m
    delta1 = (delta2 @ W2) * (1 - hidden ** 2)
    return np.concatenate([(delta1.T @ X).ravel(), delta1.sum(axis=0),
                           (delta2.T @ hidden).ravel(), delta2.sum(axis=0)])


def check(seed=0):
    theta, X, Y = make_problem(seed)
    n, h, k = SIZES
    blocks = {"W1": (h, n), "b1": (h,), "W2": (k, h), "b2": (k,)}
    return check_gradient(lambda t: user_cost(t, X, Y), lambda t: user_gradient(t, X, Y), theta,
                          blocks=blocks, n_samples=N_SAMPLES, diagnose=True)


def reference(seed=0):
    """Reference mode: the gradient is the library's; the cost is the one that differs."""
    theta, X, Y = make_problem(seed)
    return match_reference(lambda t: user_gradient(t, X, Y), theta, SPEC, X, Y,
                           lambda t: user_cost(t, X, Y))


def run(seed=0):
    """Every finding: the black-box diagnoses, then the reference-mode ones."""
    return check(seed).diagnoses + reference(seed)


def show(title, findings, report=None):
    print(f"== {title}", *([report.summary()] if report else []), *map(str, findings), "", sep="\n")


if __name__ == "__main__":
    report = check()
    show("gradient check (black box)", report.diagnoses, report)
    show("reference: tanh hidden, identity output, squared error", reference())
