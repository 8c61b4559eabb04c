"""Multi-output regression: tanh hidden layer, linear outputs, a loss averaged over every entry."""
import numpy as np

n_features, n_hidden, n_targets = 3, 5, 4
lam = 0.1

rng = np.random.default_rng(134)
X = rng.standard_normal((12, n_features))
Y = rng.standard_normal((12, n_targets))
y = Y
W1 = rng.normal(0, 0.5, (n_features, n_hidden))
b1 = rng.normal(0, 0.5, n_hidden)
W2 = rng.normal(0, 0.5, (n_hidden, n_targets))
b2 = rng.normal(0, 0.5, n_targets)
theta = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])


def unpack(theta):
    i = 0
    parts = []
    for arr in (W1, b1, W2, b2):
        parts.append(theta[i:i + arr.size].reshape(arr.shape))
        i += arr.size
    return parts


def cost(theta):
    W1, b1, W2, b2 = unpack(theta)
    pred = np.tanh(X @ W1 + b1) @ W2 + b2
    return 0.5 * np.mean((pred - Y) ** 2) + 0.5 * lam * (np.sum(W1 ** 2) + np.sum(W2 ** 2))  # FIX: return 0.5 * np.sum((pred - Y) ** 2) / len(X) + 0.5 * lam * (np.sum(W1 ** 2) + np.sum(W2 ** 2))


def grad(theta):
    W1, b1, W2, b2 = unpack(theta)
    N = len(X)
    h = np.tanh(X @ W1 + b1)
    err = (h @ W2 + b2 - Y) / N
    dW2 = h.T @ err + lam * W2
    db2 = err.sum(axis=0)
    dh = err @ W2.T * (1 - h ** 2)
    dW1 = X.T @ dh + lam * W1
    db1 = dh.sum(axis=0) + lam * b1  # FIX: db1 = dh.sum(axis=0)
    return np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])


SPEC = {"sizes": [3, 5, 4], "hidden": "tanh", "output": "identity", "loss": "squared_error",
        "l2": 1.2, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "in-out", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "targets", "notes": "lam = 0.1 on a mean loss of m = 12: l2 = lam * m"}
