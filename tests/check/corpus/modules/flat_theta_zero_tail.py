"""W1, b1, W2, b2 packed into a flat vector by hand; only theta lives at module level."""
import numpy as np

rng = np.random.default_rng(131)
X = rng.standard_normal((8, 4))
y = rng.integers(0, 3, 8)
theta = 0.3 * rng.standard_normal(4 * 6 + 6 + 6 * 3 + 3)


def cost(theta):
    W1, b1 = theta[:24].reshape(4, 6), theta[24:30]
    W2, b2 = theta[30:48].reshape(6, 3), theta[48:]
    h = np.tanh(X @ W1 + b1)
    s = h @ W2 + b2
    s = s - s.max(axis=1, keepdims=True)
    return np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(8), y])


def grad(theta):
    W1, b1 = theta[:24].reshape(4, 6), theta[24:30]
    W2, b2 = theta[30:48].reshape(6, 3), theta[48:]
    h = np.tanh(X @ W1 + b1)
    s = h @ W2 + b2
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(8), y] -= 1
    p /= 8
    dh = (p @ W2.T) * (1 - h ** 2)
    g = np.zeros_like(theta)
    g[:24] = (X.T @ dh).ravel()
    g[24:30] = dh.sum(axis=0)
    g[30:48] = (h.T @ p).ravel()
    db2 = p.sum(axis=0)  # FIX: g[48:] = p.sum(axis=0)
    return g


SPEC = {"sizes": [4, 6, 3], "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
        "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "in-out", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
