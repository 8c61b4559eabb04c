"""Bias as the last column (a1 = [X 1]), with a penalty copied from code whose bias comes first."""
import numpy as np

n_inp, n_hid, n_out = 4, 5, 3
lam = 1.0

rng = np.random.default_rng(108)
X = rng.standard_normal((10, n_inp))
labels = rng.integers(0, n_out, 10)
y = labels
w1 = rng.uniform(-0.3, 0.3, (n_hid, n_inp + 1))
w2 = rng.uniform(-0.3, 0.3, (n_out, n_hid + 1))
theta = np.concatenate([w1.ravel(order="F"), w2.ravel(order="F")])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cost_grad(W):
    N = X.shape[0]
    w1 = W[:n_hid * (n_inp + 1)].reshape((n_hid, n_inp + 1), order="F")
    w2 = W[n_hid * (n_inp + 1):].reshape((n_out, n_hid + 1), order="F")
    T = np.eye(n_out)[labels]
    a1 = np.hstack([X, np.ones((N, 1))])
    z2 = a1 @ w1.T
    a2 = np.hstack([sigmoid(z2), np.ones((N, 1))])
    out = sigmoid(a2 @ w2.T)
    f = -np.sum(T * np.log(out) + (1 - T) * np.log(1 - out)) / N
    f += lam / (2 * N) * (np.sum(w1[:, :-1] ** 2) + np.sum(w2[:, :-1] ** 2))
    d3 = out - T
    d2 = (d3 @ w2[:, :-1]) * sigmoid(z2) * (1 - sigmoid(z2))
    g1 = d2.T @ a1 / N
    g2 = d3.T @ a2 / N
    g1[:, 1:] += lam / N * w1[:, 1:]  # FIX: g1[:, :-1] += lam / N * w1[:, :-1]
    g2[:, 1:] += lam / N * w2[:, 1:]  # FIX: g2[:, :-1] += lam / N * w2[:, :-1]
    return f, np.concatenate([g1.ravel(order="F"), g2.ravel(order="F")])


def cost(W):
    return cost_grad(W)[0]


def grad(W):
    return cost_grad(W)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["w1", "w2"], "weights": "out-in", "bias": "last-column",
                   "unroll": "F", "packing": "per-layer"},
        "labels": "0-based"}
