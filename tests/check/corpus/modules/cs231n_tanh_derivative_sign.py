"""CS231n-style two-layer net with a tanh hidden layer; the derivative of tanh typed by hand."""
import numpy as np

D, H, C = 4, 5, 3
reg = 0.1

rng = np.random.default_rng(110)
X = rng.standard_normal((10, D))
y = rng.integers(0, C, 10)
params = {"W1": 0.3 * rng.standard_normal((D, H)), "b1": 0.1 * rng.standard_normal(H),
          "W2": 0.3 * rng.standard_normal((H, C)), "b2": 0.1 * rng.standard_normal(C)}
theta = np.concatenate([params[k].ravel() for k in ("W1", "b1", "W2", "b2")])


def unflatten(theta):
    W1 = theta[:D * H].reshape(D, H)
    b1 = theta[D * H:D * H + H]
    W2 = theta[D * H + H:D * H + H + H * C].reshape(H, C)
    b2 = theta[D * H + H + H * C:]
    return W1, b1, W2, b2


def forward_backward(theta):
    W1, b1, W2, b2 = unflatten(theta)
    N = X.shape[0]
    h = np.tanh(X @ W1 + b1)
    scores = h @ W2 + b2
    scores = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean() + 0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dW2 = h.T @ dscores + reg * W2
    db2 = dscores.sum(axis=0)
    dh = (dscores @ W2.T) * (h ** 2 - 1)  # FIX: dh = (dscores @ W2.T) * (1 - h ** 2)
    dW1 = X.T @ dh + reg * W1
    db1 = dh.sum(axis=0)
    return loss, np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])


def cost(theta):
    return forward_backward(theta)[0]


def grad(theta):
    return forward_backward(theta)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
        "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "in-out", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based", "notes": "reg = 0.1 on a mean loss of m = 10 samples: l2 = reg * m"}
