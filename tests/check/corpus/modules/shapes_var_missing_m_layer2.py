"""Shapes kept in a list; theta drawn at random; the second layer's gradient not averaged."""
import numpy as np

shapes = [(5, 5), (3, 6)]

rng = np.random.default_rng(132)
X = rng.standard_normal((10, 4))
y = rng.integers(0, 3, 10)
theta = rng.uniform(-0.5, 0.5, sum(r * c for r, c in shapes))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def thetas(theta):
    out, k = [], 0
    for r, c in shapes:
        out.append(theta[k:k + r * c].reshape(r, c))
        k += r * c
    return out


def cost(theta):
    T1, T2 = thetas(theta)
    m = len(X)
    a2 = sigmoid(np.c_[np.ones(m), X] @ T1.T)
    h = sigmoid(np.c_[np.ones(m), a2] @ T2.T)
    Y = np.eye(3)[y]
    return -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m


def grad(theta):
    T1, T2 = thetas(theta)
    m = len(X)
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ T2.T)
    d3 = h - np.eye(3)[y]
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    D1 = d2.T @ a1 / m
    D2 = d3.T @ a2  # FIX: D2 = d3.T @ a2 / m
    return np.concatenate([D1.ravel(), D2.ravel()])


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["shapes[0]", "shapes[1]"], "weights": "out-in",
                   "bias": "first-column", "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
