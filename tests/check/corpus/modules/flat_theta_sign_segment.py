"""A 3-5-3 network checked at a saved flat vector; sizes live only inside the functions."""
import numpy as np

rng = np.random.default_rng(130)
X = rng.standard_normal((6, 3))
y = rng.integers(0, 3, 6)
theta = rng.uniform(-0.5, 0.5, 38)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cost(theta):
    theta1 = theta[:20].reshape(5, 4)
    theta2 = theta[20:].reshape(3, 6)
    a1 = np.c_[np.ones(6), X]
    a2 = np.c_[np.ones(6), sigmoid(a1 @ theta1.T)]
    h = sigmoid(a2 @ theta2.T)
    Y = np.eye(3)[y]
    return -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / 6


def grad(theta):
    theta1 = theta[:20].reshape(5, 4)
    theta2 = theta[20:].reshape(3, 6)
    a1 = np.c_[np.ones(6), X]
    z2 = a1 @ theta1.T
    a2 = np.c_[np.ones(6), sigmoid(z2)]
    h = sigmoid(a2 @ theta2.T)
    Y = np.eye(3)[y]
    d3 = h - Y
    d2 = (d3 @ theta2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    grad1 = d2.T @ a1 / 6
    grad2 = (Y - h).T @ a2 / 6  # FIX: grad2 = d3.T @ a2 / 6
    return np.concatenate([grad1.ravel(), grad2.ravel()])


SPEC = {"sizes": [3, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["theta1", "theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
