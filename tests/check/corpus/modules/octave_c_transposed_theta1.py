"""A NumPy ex4 (row-major) where the first layer's gradient is formed as a1' * delta2."""
import numpy as np
from scipy.special import expit

n_in, n_hidden, n_labels = 4, 5, 3

rng = np.random.default_rng(137)
X = rng.standard_normal((10, n_in))
y = rng.integers(0, n_labels, 10)
Theta1 = rng.uniform(-0.5, 0.5, (n_hidden, n_in + 1))
Theta2 = rng.uniform(-0.5, 0.5, (n_labels, n_hidden + 1))
theta = np.hstack([Theta1.ravel(), Theta2.ravel()])


def unroll(t):
    return t[:Theta1.size].reshape(Theta1.shape), t[Theta1.size:].reshape(Theta2.shape)


def cost(t):
    T1, T2 = unroll(t)
    m = len(X)
    a2 = expit(np.c_[np.ones(m), X] @ T1.T)
    h = expit(np.c_[np.ones(m), a2] @ T2.T)
    Y = np.eye(n_labels)[y]
    return -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m


def grad(t):
    T1, T2 = unroll(t)
    m = len(X)
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), expit(z2)]
    h = expit(a2 @ T2.T)
    d3 = h - np.eye(n_labels)[y]
    d2 = (d3 @ T2[:, 1:]) * expit(z2) * (1 - expit(z2))
    Theta1_grad = a1.T @ d2 / m  # FIX: Theta1_grad = d2.T @ a1 / m
    Theta2_grad = d3.T @ a2 / m
    return np.hstack([Theta1_grad.ravel(), Theta2_grad.ravel()])


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
