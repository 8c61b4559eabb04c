"""A CS231n-style TwoLayerNet.loss: params dict, W as (in, out), samples as rows, ReLU, softmax."""
import numpy as np

input_size, hidden_size, num_classes = 4, 5, 3
reg = 0.05

rng = np.random.default_rng(109)
X = rng.standard_normal((10, input_size))
y = rng.integers(0, num_classes, 10)


def init_toy_model(std=1e-1):
    return {"W1": std * rng.standard_normal((input_size, hidden_size)),
            "b1": std * rng.standard_normal(hidden_size),
            "W2": std * rng.standard_normal((hidden_size, num_classes)),
            "b2": std * rng.standard_normal(num_classes)}


params = init_toy_model()
names = ["W1", "b1", "W2", "b2"]
theta = np.concatenate([params[k].ravel() for k in names])


def unpack(theta):
    out, i = {}, 0
    for k in names:
        out[k] = theta[i:i + params[k].size].reshape(params[k].shape)
        i += params[k].size
    return out


def loss(theta):
    p = unpack(theta)
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    N = X.shape[0]
    hidden = np.maximum(0, X.dot(W1) + b1)
    scores = hidden.dot(W2) + b2
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    data_loss = -np.mean(np.log(probs[np.arange(N), y]))
    reg_loss = 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    grads = {}
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    grads["W2"] = hidden.T.dot(dscores) / N + reg * W2
    grads["b2"] = np.sum(dscores, axis=0) / N + reg * b2  # FIX: grads["b2"] = np.sum(dscores, axis=0) / N
    dhidden = dscores.dot(W2.T)
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T.dot(dhidden) + reg * W1  # FIX: grads["W1"] = X.T.dot(dhidden) / N + reg * W1
    grads["b1"] = np.sum(dhidden, axis=0)  # FIX: grads["b1"] = np.sum(dhidden, axis=0) / N
    return data_loss + reg_loss, np.concatenate([grads[k].ravel() for k in names])


def cost(theta):
    return loss(theta)[0]


def grad(theta):
    return loss(theta)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "relu", "output": "softmax", "loss": "cross_entropy",
        "l2": 0.5, "reduction": "mean",
        "layout": {"blocks": ["W1", "b1", "W2", "b2"], "weights": "in-out", "bias": "separate",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based", "notes": "reg = 0.05 on a mean loss of m = 10 samples: l2 = reg * m"}
