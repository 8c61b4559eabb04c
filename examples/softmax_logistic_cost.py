"""A tanh hidden layer, a softmax output, and the cost of a sigmoid output.

The situation of a common forum question: a one-hidden-layer network written in the
course's style (``Theta`` matrices with the bias as column 0, unrolled column-major as
Octave's ``[Theta1(:); Theta2(:)]``).  The hidden layer was switched from sigmoid to tanh
and the output from sigmoid to softmax, but two pieces were not switched with them:

* the cost is still the logistic (binary) cost ``-sum(y log a + (1 - y) log(1 - a))``;
* the hidden delta still multiplies by ``sigmoid'(z)`` (the helper called with "sigmoid").

The output delta ``a - y`` is right for softmax + cross-entropy, so the gradient is "almost"
right, which is what makes the two columns so confusing: same signs, no common factor.

Run ``python examples/softmax_logistic_cost.py``.
"""
import numpy as np

from gradcheck.check.gradient import check_gradient
from gradcheck.check.reference.compare import match_reference

SIZES = (8, 6, 4)      # inputs, tanh units, classes
N_SAMPLES = 20
LAMBDA = 0.5
# what the user meant: the network the doctor compares with
SPEC = {"sizes": list(SIZES), "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
        "l2": LAMBDA, "layout": "course"}


def make_problem(seed=0):
    """A seeded point ``theta`` (Octave layout), inputs ``X`` and one-hot targets ``Y``."""
    rng = np.random.default_rng(seed)
    n, h, k = SIZES
    theta = rng.uniform(-0.5, 0.5, h * (n + 1) + k * (h + 1))
    X = rng.uniform(0, 1, (N_SAMPLES, n))
    Y = np.eye(k)[rng.integers(0, k, N_SAMPLES)]
    return theta, X, Y


def unroll(theta):
    n, h, k = SIZES
    Theta1 = theta[:h * (n + 1)].reshape(h, n + 1, order="F")  # Octave's reshape is column-major
    Theta2 = theta[h * (n + 1):].reshape(k, h + 1, order="F")
    return Theta1, Theta2


def sigmoid_gradient(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)


def feed_forward(theta, X):
    Theta1, Theta2 = unroll(theta)
    a1 = np.hstack([np.ones((len(X), 1)), X])
    z2 = a1 @ Theta1.T
    a2 = np.hstack([np.ones((len(X), 1)), np.tanh(z2)])
    z3 = a2 @ Theta2.T
    e = np.exp(z3 - z3.max(axis=1, keepdims=True))
    return Theta1, Theta2, a1, z2, a2, e / e.sum(axis=1, keepdims=True)


def user_cost(theta, X, Y):
    """The cost as written: the logistic cost, on softmax outputs (the first slip)."""
    Theta1, Theta2, *_, h = feed_forward(theta, X)
    m = len(X)
    penalty = np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2)
    return np.sum(-Y * np.log(h) - (1 - Y) * np.log(1 - h)) / m + LAMBDA * penalty / (2 * m)


def user_gradient(theta, X, Y):
    """The gradient as written: a - y, then sigmoid' in the tanh layer (the second slip)."""
    Theta1, Theta2, a1, z2, a2, a3 = feed_forward(theta, X)
    m = len(X)
    sigma3 = a3 - Y
    sigma2 = (sigma3 @ Theta2) * sigmoid_gradient(np.hstack([np.ones((m, 1)), z2]))
    sigma2 = sigma2[:, 1:]
    grads = []
    for Delta, Theta in ((sigma2.T @ a1, Theta1), (sigma3.T @ a2, Theta2)):
        regular = np.hstack([np.zeros((len(Theta), 1)), Theta[:, 1:]])
        grads.append(Delta / m + LAMBDA / m * regular)
    return np.concatenate([g.ravel(order="F") for g in grads])


def check(seed=0):
    """The black-box check: numerical gradient of the cost against the gradient."""
    theta, X, Y = make_problem(seed)
    n, h, k = SIZES
    return check_gradient(lambda t: user_cost(t, X, Y), lambda t: user_gradient(t, X, Y), theta,
                          blocks={"Theta1": (h, n + 1), "Theta2": (k, h + 1)}, order="F",
                          diagnose=True)


def reference(seed=0):
    """Reference mode: compare with the network the user meant and its textbook mistakes."""
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
    show("reference: tanh hidden, softmax + cross-entropy", reference())
