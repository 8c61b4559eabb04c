"""A model whose forward already returns probabilities, and a loss helper that applies softmax again."""
import numpy as np

D, H, K = 4, 5, 3

rng = np.random.default_rng(118)
X = rng.standard_normal((10, D))
y = rng.integers(0, K, 10)
W1 = rng.standard_normal((D, H)) * 0.5
b1 = np.full(H, 0.1)
W2 = rng.standard_normal((H, K)) * 0.5
b2 = np.full(K, -0.1)
theta = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def cross_entropy(logits, labels):
    probs = softmax(logits)
    return -np.mean(np.log(probs[np.arange(len(labels)), labels]))


def model(theta):
    W1 = theta[:D * H].reshape(D, H)
    b1 = theta[D * H:D * H + H]
    W2 = theta[D * H + H:D * H + H + H * K].reshape(H, K)
    b2 = theta[-K:]
    hidden = np.maximum(0.01 * (X @ W1 + b1), X @ W1 + b1)
    return hidden, softmax(hidden @ W2 + b2), (W1, b1, W2, b2)


def cost(theta):
    _, probs, _ = model(theta)
    return cross_entropy(probs, y)  # FIX: return -np.mean(np.log(probs[np.arange(len(y)), y]))


def grad(theta):
    hidden, probs, (W1, b1, W2, b2) = model(theta)
    N = len(X)
    dlogits = probs.copy()
    dlogits[np.arange(N), y] -= 1
    dlogits /= N
    dW2 = hidden.T @ dlogits
    db2 = dlogits.sum(axis=0)
    dhidden = dlogits @ W2.T
    dhidden *= np.where(X @ W1 + b1 > 0, 1.0, 0.01)
    dW1 = X.T @ dhidden
    db1 = dhidden.sum(axis=0)
    return np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])


SPEC = {"sizes": [4, 5, 3], "hidden": "leaky_relu:0.01", "output": "softmax",
        "loss": "cross_entropy", "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "in-out", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based", "notes": "the cost applies softmax to the probabilities again"}
