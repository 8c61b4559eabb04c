"""Gradient read off an update step, where the trainer updates layer 2 before backpropagating into layer 1."""
import numpy as np
from scipy.special import expit

sizes = (4, 5, 3)
learning_rate = 1.0

rng = np.random.default_rng(116)
X = rng.standard_normal((10, sizes[0]))
y = rng.integers(0, sizes[2], 10)
W1 = rng.uniform(-0.5, 0.5, (sizes[1], sizes[0]))
b1 = rng.uniform(-0.5, 0.5, sizes[1])
W2 = rng.uniform(-0.5, 0.5, (sizes[2], sizes[1]))
b2 = rng.uniform(-0.5, 0.5, sizes[2])
theta = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])


def unpack(t):
    i1 = W1.size
    i2 = i1 + b1.size
    i3 = i2 + W2.size
    return t[:i1].reshape(W1.shape), t[i1:i2], t[i2:i3].reshape(W2.shape), t[i3:]


def cost(t):
    W1, b1, W2, b2 = unpack(t)
    a1 = expit(X @ W1.T + b1)
    z2 = a1 @ W2.T + b2
    z2 = z2 - z2.max(axis=1, keepdims=True)
    logp = z2 - np.log(np.exp(z2).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(X)), y].mean()


def sgd_step(t, lr):
    W1, b1, W2, b2 = (p.copy() for p in unpack(t))
    m = len(X)
    a1 = expit(X @ W1.T + b1)
    z2 = a1 @ W2.T + b2
    p = np.exp(z2 - z2.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta2 = p - np.eye(sizes[2])[y]
    W2 -= lr * delta2.T @ a1 / m  # FIX: dW2, db2 = delta2.T @ a1 / m, delta2.mean(axis=0)
    b2 -= lr * delta2.mean(axis=0)  # FIX: delta1 = (delta2 @ W2) * a1 * (1 - a1)
    delta1 = (delta2 @ W2) * a1 * (1 - a1)  # FIX: W2 -= lr * dW2; b2 -= lr * db2
    W1 -= lr * delta1.T @ X / m
    b1 -= lr * delta1.mean(axis=0)
    return np.concatenate([W1.ravel(), b1, W2.ravel(), b2])


def grad(t):
    return (t - sgd_step(t, learning_rate)) / learning_rate


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "softmax", "loss": "cross_entropy",
        "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "out-in", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based",
        "notes": "gradient = (theta - sgd_step(theta, lr)) / lr; layer 2 is updated before delta1 "
                 "is computed from W2"}
