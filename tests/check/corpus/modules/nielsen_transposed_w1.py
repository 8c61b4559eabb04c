"""Nielsen-style network: lists of weights (n_out, n_in) and column biases, samples as columns."""
import numpy as np

sizes = [3, 4, 2]

rng = np.random.default_rng(125)
X = rng.standard_normal((sizes[0], 7))          # one column per sample
y = rng.uniform(0.0, 1.0, (sizes[-1], 7))
weights = [rng.standard_normal((n_out, n_in)) * 0.7 for n_in, n_out in zip(sizes[:-1], sizes[1:])]
biases = [rng.standard_normal((n_out, 1)) * 0.3 for n_out in sizes[1:]]
theta = np.concatenate([w.ravel() for w in weights] + [b.ravel() for b in biases])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def unpack(theta):
    ws, bs, k = [], [], 0
    for w in weights:
        ws.append(theta[k:k + w.size].reshape(w.shape))
        k += w.size
    for b in biases:
        bs.append(theta[k:k + b.size].reshape(b.shape))
        k += b.size
    return ws, bs


def cost(theta):
    ws, bs = unpack(theta)
    a = X
    for w, b in zip(ws, bs):
        a = sigmoid(w @ a + b)
    return 0.5 * np.sum((a - y) ** 2) / X.shape[1]


def grad(theta):
    (w1, w2), (b1, b2) = unpack(theta)
    n = X.shape[1]
    z1 = w1 @ X + b1
    a1 = sigmoid(z1)
    z2 = w2 @ a1 + b2
    a2 = sigmoid(z2)
    delta2 = (a2 - y) * sigmoid_prime(z2)
    nabla_w2 = delta2 @ a1.T / n
    nabla_b2 = delta2.sum(axis=1, keepdims=True) / n
    delta1 = (w2.T @ delta2) * sigmoid_prime(z1)
    nabla_w1 = X @ delta1.T / n  # FIX: nabla_w1 = delta1 @ X.T / n
    nabla_b1 = delta1.sum(axis=1, keepdims=True) / n
    return np.concatenate([nabla_w1.ravel(), nabla_w2.ravel(), nabla_b1.ravel(), nabla_b2.ravel()])


SPEC = {"sizes": [3, 4, 2], "hidden": "sigmoid", "output": "sigmoid", "loss": "squared_error",
        "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["weights[0]", "weights[1]", "biases[0]", "biases[1]"],
                   "weights": "out-in", "bias": "separate", "unroll": "C",
                   "packing": "weights-then-biases"},
        "labels": "targets", "notes": "samples are the columns of X and y"}
