"""An MLP packed like scikit-learn's: every coef_ then every intercept_, each row-major."""
import numpy as np
from scipy.special import xlogy

layer_units = [4, 5, 3]
alpha = 0.1

rng = np.random.default_rng(113)
X = rng.standard_normal((12, layer_units[0]))
y = rng.integers(0, layer_units[-1], 12)
Y = np.eye(layer_units[-1])[y]

coefs_ = [rng.uniform(-0.6, 0.6, (fan_in, fan_out))
          for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:])]
intercepts_ = [rng.uniform(-0.6, 0.6, fan_out) for fan_out in layer_units[1:]]
theta = np.hstack([layer.ravel() for layer in coefs_ + intercepts_])


def _unpack(packed):
    coefs, intercepts, start = [], [], 0
    for c in coefs_:
        coefs.append(packed[start:start + c.size].reshape(c.shape))
        start += c.size
    for b in intercepts_:
        intercepts.append(packed[start:start + b.size])
        start += b.size
    return coefs, intercepts


def _forward(coefs, intercepts):
    activations = [X]
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        z = activations[-1] @ W + b
        if i < len(coefs) - 1:
            activations.append(np.tanh(z))
        else:
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            activations.append(e / e.sum(axis=1, keepdims=True))
    return activations


def _loss_grad_lbfgs(packed):
    coefs, intercepts = _unpack(packed)
    n_samples = X.shape[0]
    activations = _forward(coefs, intercepts)
    loss = -xlogy(Y, activations[-1]).sum() / n_samples
    loss += (0.5 * alpha) * sum(np.dot(c.ravel(), c.ravel()) for c in coefs) / n_samples
    deltas = activations[-1] - Y
    coef_grads, intercept_grads = [None] * len(coefs), [None] * len(coefs)
    for i in range(len(coefs) - 1, -1, -1):
        coef_grads[i] = (activations[i].T @ deltas + alpha * coefs[i]) / n_samples
        intercept_grads[i] = np.sum(deltas, 0)  # FIX: intercept_grads[i] = np.mean(deltas, 0)
        if i > 0:
            deltas = (deltas @ coefs[i].T) * (1 - activations[i] ** 2)
    return loss, np.hstack([g.ravel() for g in coef_grads + intercept_grads])


def cost(packed):
    return _loss_grad_lbfgs(packed)[0]


def grad(packed):
    return _loss_grad_lbfgs(packed)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
        "l2": 0.1, "reduction": "mean",
        "layout": {"blocks": ["coefs_[0]", "coefs_[1]", "intercepts_[0]", "intercepts_[1]"],
                   "weights": "in-out", "bias": "separate", "unroll": "C",
                   "packing": "weights-then-biases"},
        "labels": "0-based"}
