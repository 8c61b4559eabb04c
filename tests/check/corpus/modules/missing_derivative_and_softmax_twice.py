"""Two slips at once: the hidden delta lacks sigmoid', and the cost applies softmax to probabilities."""
import numpy as np
from scipy.special import expit, softmax

n_in, n_hid, n_cls = 4, 5, 3

rng = np.random.default_rng(119)
X = rng.standard_normal((10, n_in))
y = rng.integers(0, n_cls, 10)
Theta1 = rng.uniform(-0.5, 0.5, (n_hid, n_in + 1))
Theta2 = rng.uniform(-0.5, 0.5, (n_cls, n_hid + 1))
theta = np.concatenate([Theta1.ravel(), Theta2.ravel()])


def feedforward(t):
    T1 = t[:Theta1.size].reshape(Theta1.shape)
    T2 = t[Theta1.size:].reshape(Theta2.shape)
    a1 = np.hstack([np.ones((len(X), 1)), X])
    z2 = a1 @ T1.T
    a2 = np.hstack([np.ones((len(X), 1)), expit(z2)])
    a3 = softmax(a2 @ T2.T, axis=1)
    return T1, T2, a1, z2, a2, a3


def cost(t):
    *_, a3 = feedforward(t)
    Y = np.eye(n_cls)[y]
    return -np.sum(Y * np.log(softmax(a3, axis=1))) / len(X)  # FIX: return -np.sum(Y * np.log(a3)) / len(X)


def grad(t):
    T1, T2, a1, z2, a2, a3 = feedforward(t)
    m = len(X)
    d3 = a3 - np.eye(n_cls)[y]
    d2 = d3 @ T2[:, 1:]  # FIX: d2 = (d3 @ T2[:, 1:]) * expit(z2) * (1 - expit(z2))
    return np.concatenate([(d2.T @ a1 / m).ravel(), (d3.T @ a2 / m).ravel()])


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "softmax", "loss": "cross_entropy",
        "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
