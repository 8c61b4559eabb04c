"""A vectorised NumPy port of ex4: Theta matrices with the bias column first, unrolled with ravel()."""
import numpy as np
from scipy.special import expit

n_in, n_hidden, n_labels = 4, 5, 3
lam = 1.0

rng = np.random.default_rng(102)
X = rng.standard_normal((10, n_in))
y = rng.integers(0, n_labels, 10)

Theta1 = rng.uniform(-0.12, 0.12, (n_hidden, n_in + 1))
Theta2 = rng.uniform(-0.12, 0.12, (n_labels, n_hidden + 1))
theta = np.concatenate([Theta1.ravel(), Theta2.ravel()])


def reshape_params(params):
    t1 = params[:n_hidden * (n_in + 1)].reshape(n_hidden, n_in + 1)
    t2 = params[n_hidden * (n_in + 1):].reshape(n_labels, n_hidden + 1)
    return t1, t2


def forward(params):
    t1, t2 = reshape_params(params)
    m = len(X)
    a1 = np.hstack([np.ones((m, 1)), X])
    z2 = a1 @ t1.T
    a2 = np.hstack([np.ones((m, 1)), expit(z2)])
    a3 = expit(a2 @ t2.T)
    return t1, t2, a1, z2, a2, a3


def cost(params):
    t1, t2, _, _, _, h = forward(params)
    m = len(X)
    Y = np.eye(n_labels)[y]
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return J + lam / (2 * m) * (np.sum(t1[:, 1:] ** 2) + np.sum(t2[:, 1:] ** 2))


def grad(params):
    t1, t2, a1, z2, a2, a3 = forward(params)
    m = len(X)
    Y = np.eye(n_labels)[y]
    delta3 = Y - a3  # FIX: delta3 = a3 - Y
    delta2 = (delta3 @ t2[:, 1:]) * expit(z2) * (1 - expit(z2))
    g1 = delta2.T @ a1 / m
    g2 = delta3.T @ a2 / m
    g1[:, 1:] += lam / m * t1[:, 1:]
    g2[:, 1:] += lam / m * t2[:, 1:]
    return np.concatenate([g1.ravel(), g2.ravel()])


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
