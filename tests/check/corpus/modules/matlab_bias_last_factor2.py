"""A port of a MATLAB backprop(W, X, Y): bias as the LAST column, W(:) unrolling, squared error summed."""
import numpy as np

n_inp, n_hid, n_out = 4, 5, 3

rng = np.random.default_rng(107)
X = rng.standard_normal((8, n_inp))
Y = rng.uniform(0.1, 0.9, (8, n_out))
y = Y
w1 = rng.uniform(-0.5, 0.5, (n_hid, n_inp + 1))
w2 = rng.uniform(-0.5, 0.5, (n_out, n_hid + 1))
W = np.concatenate([w1.ravel(order="F"), w2.ravel(order="F")])
theta = W


def act(z):
    return 1 / (1 + np.exp(-z))


def dact(z):
    return act(z) * (1 - act(z))


def backprop(W):
    N = X.shape[0]
    w1 = W[:n_hid * (n_inp + 1)].reshape((n_hid, n_inp + 1), order="F")
    w2 = W[n_hid * (n_inp + 1):].reshape((n_out, n_hid + 1), order="F")
    Xb = np.hstack([X, np.ones((N, 1))])
    z2 = Xb @ w1.T
    a2 = np.hstack([act(z2), np.ones((N, 1))])
    z3 = a2 @ w2.T
    out = act(z3)
    f = 0.5 * np.sum((out - Y) ** 2)
    d3 = 2 * (out - Y) * dact(z3)  # FIX: d3 = (out - Y) * dact(z3)
    df2 = d3.T @ a2
    d2 = (d3 @ w2[:, :-1]) * dact(z2)
    df1 = d2.T @ Xb
    return f, np.concatenate([df1.ravel(order="F"), df2.ravel(order="F")])


def cost(W):
    return backprop(W)[0]


def grad(W):
    return backprop(W)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid", "loss": "squared_error",
        "l2": 0.0, "reduction": "sum",
        "layout": {"blocks": ["w1", "w2"], "weights": "out-in", "bias": "last-column",
                   "unroll": "F", "packing": "per-layer"},
        "labels": "targets"}
