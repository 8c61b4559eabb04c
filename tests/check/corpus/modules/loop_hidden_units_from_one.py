"""Octave's 1-based loop over hidden units ported as range(1, ...): the first hidden unit is skipped."""
import numpy as np

input_layer_size, hidden_layer_size, num_labels = 4, 5, 3
lambda_ = 1.0

rng = np.random.default_rng(138)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(0, num_labels, 10)
Theta1 = rng.uniform(-0.4, 0.4, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.4, 0.4, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.ravel(), Theta2.ravel()])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def unroll(t):
    return t[:Theta1.size].reshape(Theta1.shape), t[Theta1.size:].reshape(Theta2.shape)


def cost(t):
    T1, T2 = unroll(t)
    m = len(X)
    a2 = sigmoid(np.c_[np.ones(m), X] @ T1.T)
    h = sigmoid(np.c_[np.ones(m), a2] @ T2.T)
    Y = np.eye(num_labels)[y]
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return J + lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))


def grad(t):
    T1, T2 = unroll(t)
    m = len(X)
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ T2.T)
    d3 = h - np.eye(num_labels)[y]
    G2 = d3.T @ a2 / m
    G2[:, 1:] += lambda_ / m * T2[:, 1:]
    G1 = np.zeros_like(T1)
    for j in range(1, hidden_layer_size):  # FIX: for j in range(hidden_layer_size):
        s = sigmoid(z2[:, j])
        d2j = (d3 @ T2[:, j + 1]) * s * (1 - s)
        G1[j] = d2j @ a1 / m
        G1[j, 1:] += lambda_ / m * T1[j, 1:]
    return np.concatenate([G1.ravel(), G2.ravel()])


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
