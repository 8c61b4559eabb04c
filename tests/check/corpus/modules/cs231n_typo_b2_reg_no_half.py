"""CS231n-style net whose grads dict starts as zeros; the data loss and its penalty by hand."""
import numpy as np

input_dim, hidden_dim, num_classes = 4, 6, 3
reg = 0.1

rng = np.random.default_rng(112)
X = rng.standard_normal((10, input_dim))
y = rng.integers(0, num_classes, 10)
params = {
    "W1": 0.2 * rng.standard_normal((input_dim, hidden_dim)),
    "b1": 0.1 * rng.standard_normal(hidden_dim),
    "W2": 0.2 * rng.standard_normal((hidden_dim, num_classes)),
    "b2": 0.1 * rng.standard_normal(num_classes),
}
theta = np.hstack([params["W1"].ravel(), params["b1"], params["W2"].ravel(), params["b2"]])
ORDER = ("W1", "b1", "W2", "b2")


def to_dict(theta):
    p, i = {}, 0
    for k in ORDER:
        n = params[k].size
        p[k] = theta[i:i + n].reshape(params[k].shape)
        i += n
    return p


def softmax_loss(theta):
    p = to_dict(theta)
    N = X.shape[0]
    h1 = np.maximum(0, X @ p["W1"] + p["b1"])
    scores = h1 @ p["W2"] + p["b2"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).sum() / N
    loss += reg * (np.sum(p["W1"] * p["W1"]) + np.sum(p["W2"] * p["W2"]))  # FIX: loss += 0.5 * reg * (np.sum(p["W1"] * p["W1"]) + np.sum(p["W2"] * p["W2"]))
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads["W2"] = h1.T @ dscores + reg * p["W2"]
    grads["b_2"] = dscores.sum(axis=0)  # FIX: grads["b2"] = dscores.sum(axis=0)
    dh1 = dscores @ p["W2"].T
    dh1[h1 <= 0] = 0
    grads["W1"] = X.T @ dh1 + reg * p["W1"]
    grads["b1"] = dh1.sum(axis=0)
    return loss, np.hstack([grads[k].ravel() for k in ORDER])


def cost(theta):
    return softmax_loss(theta)[0]


def grad(theta):
    return softmax_loss(theta)[1]


SPEC = {"sizes": [4, 6, 3], "hidden": "relu", "output": "softmax", "loss": "cross_entropy",
        "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "in-out", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based", "notes": "reg = 0.1 on a mean loss of m = 10: l2 = reg * m"}
