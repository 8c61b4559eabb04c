"""A sigmoid written 1/(1 + exp(z)), checked by a numerical loop that starts at index 1.

Two slips in one NumPy port of the course's exercise (``Theta`` matrices with the bias as
column 0, unrolled row-major with ``ravel()``):

* ``sigmoid(z) = 1 / (1 + exp(z))`` — that is sigmoid(-z).  Cost and gradient use the same
  wrong function, yet they disagree: the derivative of sigmoid(-z) is ``-s(1 - s)`` while the
  backward pass multiplies by ``+s(1 - s)``.  At the output the delta ``a - y`` loses the minus
  sign, so Theta2's data term is flipped; in the hidden layer the two missing minus signs
  cancel, so Theta1 agrees.
* the numerical gradient loops ``for p in range(1, n)``, so coordinate 0 is never perturbed.

Only the two printed columns are needed to see both: :func:`gradcheck.check.doctor.detectors.check_arrays`.

Run ``python examples/sign_flipped_sigmoid.py``.
"""
import numpy as np

from gradcheck.check.doctor.detectors import check_arrays

N_INPUT, N_HIDDEN, N_LABELS = 3, 5, 3
N_SAMPLES = 5
LAMBDA = 1.0
BLOCKS = {"Theta1": (N_HIDDEN, N_INPUT + 1), "Theta2": (N_LABELS, N_HIDDEN + 1)}


def sigmoid(z):
    return 1 / (1 + np.exp(z))  # the slip: exp(z) where exp(-z) belongs


def sigmoid_gradient(z):
    return sigmoid(z) * (1 - sigmoid(z))


def make_problem(seed=0):
    """A seeded point (the course's +-0.12 initialisation), inputs and labels."""
    rng = np.random.default_rng(seed)
    n_params = N_HIDDEN * (N_INPUT + 1) + N_LABELS * (N_HIDDEN + 1)
    theta = rng.uniform(-0.12, 0.12, n_params)
    X = rng.uniform(0, 1, (N_SAMPLES, N_INPUT))
    labels = np.arange(N_SAMPLES) % N_LABELS
    return theta, X, np.eye(N_LABELS)[labels]


def unroll(theta):
    split = N_HIDDEN * (N_INPUT + 1)
    return (theta[:split].reshape(N_HIDDEN, N_INPUT + 1),
            theta[split:].reshape(N_LABELS, N_HIDDEN + 1))


def forward(theta, X):
    Theta1, Theta2 = unroll(theta)
    a1 = np.column_stack([np.ones(len(X)), X])
    z2 = a1 @ Theta1.T
    a2 = np.column_stack([np.ones(len(X)), sigmoid(z2)])
    return Theta1, Theta2, a1, z2, a2, sigmoid(a2 @ Theta2.T)


def cost(theta, X, Y):
    Theta1, Theta2, *_, h = forward(theta, X)
    m = len(X)
    penalty = np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2)
    return np.sum(-Y * np.log(h) - (1 - Y) * np.log(1 - h)) / m + LAMBDA / (2 * m) * penalty


def gradient(theta, X, Y):
    Theta1, Theta2, a1, z2, a2, h = forward(theta, X)
    m = len(X)
    delta3 = h - Y
    delta2 = (delta3 @ Theta2[:, 1:]) * sigmoid_gradient(z2)
    grads = []
    for Delta, Theta in ((delta2.T @ a1, Theta1), (delta3.T @ a2, Theta2)):
        G = Delta / m
        G[:, 1:] += LAMBDA / m * Theta[:, 1:]
        grads.append(G.ravel())
    return np.concatenate(grads)


def numerical_gradient(J, theta, e=1e-4):
    """Central differences — from index 1, the second slip."""
    numgrad = np.zeros_like(theta)
    for p in range(1, theta.size):
        step = np.zeros_like(theta)
        step[p] = e
        numgrad[p] = (J(theta + step) - J(theta - step)) / (2 * e)
    return numgrad


def columns(seed=0):
    """The two columns as the user printed them: numerical, analytic."""
    theta, X, Y = make_problem(seed)
    return numerical_gradient(lambda t: cost(t, X, Y), theta), gradient(theta, X, Y)


def check(seed=0):
    numerical, analytic = columns(seed)
    return check_arrays(numerical, analytic, BLOCKS, order="C", n_samples=N_SAMPLES, eps=1e-4)


def run(seed=0):
    """The doctor's findings from the two columns alone."""
    return check(seed).diagnoses


if __name__ == "__main__":
    report = check()
    print(f"relative error {report.relative_error:.2e}; per block: "
          + ", ".join(f"{name} {err:.2e}" for name, err in report.block_errors.items()))
    for d in report.diagnoses:
        print(f"[{d.code}]{' ' + d.block if d.block else ''} {d.message}")
        print(f"    fix: {d.fix}")
