"""Nielsen-style quadratic cost written without its 1/2; backprop uses (a - y)."""
import numpy as np

sizes = [4, 5, 2]

rng = np.random.default_rng(126)
X = rng.standard_normal((sizes[0], 9))
y = rng.uniform(0.0, 1.0, (sizes[-1], 9))
weights = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
biases = [rng.standard_normal((o, 1)) for o in sizes[1:]]
theta = np.concatenate([np.concatenate([w.ravel(), b.ravel()]) for w, b in zip(weights, biases)])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def params(theta):
    out, k = [], 0
    for w, b in zip(weights, biases):
        W = theta[k:k + w.size].reshape(w.shape)
        k += w.size
        B = theta[k:k + b.size].reshape(b.shape)
        k += b.size
        out.append((W, B))
    return out


def feedforward(theta):
    zs, activations = [], [X]
    for W, B in params(theta):
        zs.append(W @ activations[-1] + B)
        activations.append(sigmoid(zs[-1]))
    return zs, activations


def cost(theta):
    _, activations = feedforward(theta)
    return np.sum((activations[-1] - y) ** 2) / X.shape[1]  # FIX: return 0.5 * np.sum((activations[-1] - y) ** 2) / X.shape[1]


def grad(theta):
    zs, activations = feedforward(theta)
    ps = params(theta)
    n = X.shape[1]
    delta = (activations[-1] - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
    grads = []
    for layer in range(len(ps) - 1, -1, -1):
        grads.append((delta @ activations[layer].T / n, delta.sum(axis=1, keepdims=True) / n))
        if layer > 0:
            s = sigmoid(zs[layer - 1])
            delta = (ps[layer][0].T @ delta) * s * (1 - s)
    return np.concatenate([np.concatenate([gW.ravel(), gB.ravel()]) for gW, gB in grads[::-1]])


SPEC = {"sizes": [4, 5, 2], "hidden": "sigmoid", "output": "sigmoid", "loss": "squared_error",
        "l2": 0.0, "reduction": "mean",
        "layout": {"blocks": ["weights[0]", "biases[0]", "weights[1]", "biases[1]"],
                   "weights": "out-in", "bias": "separate", "unroll": "C", "packing": "per-layer"},
        "labels": "targets", "notes": "samples are the columns of X and y"}
