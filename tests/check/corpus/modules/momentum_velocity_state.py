"""The gradient read off a momentum step (theta_old - theta_new) / lr, velocity kept at module level."""
import numpy as np
from scipy.special import expit

n_in, n_hidden, n_out = 3, 4, 2
lr, mu = 0.1, 0.9

rng = np.random.default_rng(136)
X = rng.standard_normal((8, n_in))
y = rng.integers(0, 2, (8, n_out)).astype(float)
W1 = rng.uniform(-0.5, 0.5, (n_hidden, n_in))
b1 = rng.uniform(-0.5, 0.5, n_hidden)
W2 = rng.uniform(-0.5, 0.5, (n_out, n_hidden))
b2 = rng.uniform(-0.5, 0.5, n_out)
theta = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])
velocity = np.zeros_like(theta)


def unpack(t):
    a, b, c = W1.size, W1.size + b1.size, W1.size + b1.size + W2.size
    return t[:a].reshape(W1.shape), t[a:b], t[b:c].reshape(W2.shape), t[c:]


def cost(t):
    W1, b1, W2, b2 = unpack(t)
    p = expit(expit(X @ W1.T + b1) @ W2.T + b2)
    return -np.mean(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1))


def backprop(t):
    W1, b1, W2, b2 = unpack(t)
    h = expit(X @ W1.T + b1)
    p = expit(h @ W2.T + b2)
    d2 = (p - y) / len(X)
    d1 = (d2 @ W2) * h * (1 - h)
    return np.concatenate([(d1.T @ X).ravel(), d1.sum(0), (d2.T @ h).ravel(), d2.sum(0)])


def momentum_step(t):
    velocity[:] = mu * velocity - lr * backprop(t)  # FIX: v = mu * velocity - lr * backprop(t)
    return t + velocity  # FIX: return t + v


def grad(t):
    return (t - momentum_step(t)) / lr


SPEC = {"sizes": [3, 4, 2], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "out-in", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "one-hot", "notes": "gradient read off a momentum step starting from zero velocity"}
