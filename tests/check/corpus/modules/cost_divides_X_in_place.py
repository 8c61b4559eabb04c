"""Pixels 0..255 scaled inside the cost, in place on the module's X."""
import numpy as np
from scipy.special import expit

n_pixels, n_hidden, n_classes = 6, 4, 3

rng = np.random.default_rng(122)
X = rng.integers(0, 256, (10, n_pixels)).astype(float)
y = rng.integers(0, n_classes, 10)
W1 = rng.uniform(-0.5, 0.5, (n_hidden, n_pixels + 1))
W2 = rng.uniform(-0.5, 0.5, (n_classes, n_hidden + 1))
theta = np.concatenate([W1.ravel(), W2.ravel()])


def weights(t):
    return t[:W1.size].reshape(W1.shape), t[W1.size:].reshape(W2.shape)


def forward(t, inputs):
    A, B = weights(t)
    a1 = np.hstack([np.ones((len(inputs), 1)), inputs])
    a2 = np.hstack([np.ones((len(inputs), 1)), expit(a1 @ A.T)])
    z3 = a2 @ B.T
    p = np.exp(z3 - z3.max(axis=1, keepdims=True))
    return a1, a2, p / p.sum(axis=1, keepdims=True)


def cost(t):
    global X
    X /= 255.0  # FIX: inputs = X / 255.0
    _, _, p = forward(t, X)  # FIX: _, _, p = forward(t, inputs)
    return -np.mean(np.log(p[np.arange(len(y)), y]))


def grad(t):
    A, B = weights(t)
    a1, a2, p = forward(t, X / 255.0)
    d3 = p - np.eye(n_classes)[y]
    d2 = (d3 @ B[:, 1:]) * a2[:, 1:] * (1 - a2[:, 1:])
    m = len(y)
    return np.concatenate([(d2.T @ a1 / m).ravel(), (d3.T @ a2 / m).ravel()])


SPEC = {"sizes": [6, 4, 3], "hidden": "sigmoid", "output": "softmax", "loss": "cross_entropy",
        "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["W1", "W2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based", "notes": "X holds pixels 0..255, meant to be divided by 255"}
