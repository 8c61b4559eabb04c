"""scikit-learn-like packing (coefs then intercepts), logistic outputs; the penalty over every layer."""
import numpy as np
from scipy.special import expit, xlogy

layer_units = [3, 6, 2]
alpha = 0.5

rng = np.random.default_rng(114)
X = rng.standard_normal((9, layer_units[0]))
Y = (rng.random((9, layer_units[-1])) > 0.5).astype(float)
y = Y

coefs_ = [rng.uniform(-0.7, 0.7, (a, b)) for a, b in zip(layer_units[:-1], layer_units[1:])]
intercepts_ = [rng.uniform(-0.7, 0.7, b) for b in layer_units[1:]]
theta = np.hstack([c.ravel() for c in coefs_] + [b.ravel() for b in intercepts_])


def unpack(packed):
    out, start = [], 0
    for arr in coefs_ + intercepts_:
        out.append(packed[start:start + arr.size].reshape(arr.shape))
        start += arr.size
    return out[:len(coefs_)], out[len(coefs_):]


def loss_grad(packed):
    coefs, intercepts = unpack(packed)
    n = X.shape[0]
    h = np.maximum(X @ coefs[0] + intercepts[0], 0)
    p = expit(h @ coefs[1] + intercepts[1])
    loss = -(xlogy(Y, p) + xlogy(1 - Y, 1 - p)).sum() / n
    values = sum(np.dot(s.ravel(), s.ravel()) for s in coefs + intercepts)  # FIX: values = sum(np.dot(s.ravel(), s.ravel()) for s in coefs)
    loss += (0.5 * alpha) * values / n
    d2 = p - Y
    g_c2 = (h.T @ d2 + alpha * coefs[1]) / n
    g_b2 = d2.mean(axis=0)
    d1 = (d2 @ coefs[1].T) * (h > 0)
    g_c1 = (X.T @ d1 + alpha * coefs[0]) / n
    g_b1 = d1.mean(axis=0)
    return loss, np.hstack([g_c1.ravel(), g_c2.ravel(), g_b1, g_b2])


def cost(packed):
    return loss_grad(packed)[0]


def grad(packed):
    return loss_grad(packed)[1]


SPEC = {"sizes": [3, 6, 2], "hidden": "relu", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 0.5, "reduction": "mean",
        "layout": {"blocks": ["coefs_[0]", "coefs_[1]", "intercepts_[0]", "intercepts_[1]"],
                   "weights": "in-out", "bias": "separate", "unroll": "C",
                   "packing": "weights-then-biases"},
        "labels": "one-hot"}
