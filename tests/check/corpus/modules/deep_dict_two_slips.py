"""A three-layer (two hidden tanh layers) CS231n-style net: a dict of W1..W3, b1..b3, (in, out) weights."""
import numpy as np

dims = [4, 5, 4, 3]
reg = 0.2

rng = np.random.default_rng(128)
X = rng.standard_normal((8, dims[0]))
y = rng.integers(0, dims[-1], 8)
model = {}
for i in range(3):
    model[f"W{i + 1}"] = rng.standard_normal((dims[i], dims[i + 1])) / np.sqrt(dims[i])
    model[f"b{i + 1}"] = 0.2 * rng.standard_normal(dims[i + 1])
KEYS = ["W1", "b1", "W2", "b2", "W3", "b3"]
theta = np.concatenate([model[k].ravel() for k in KEYS])


def unpack(theta):
    p, i = {}, 0
    for k in KEYS:
        p[k] = theta[i:i + model[k].size].reshape(model[k].shape)
        i += model[k].size
    return p


def loss_and_grads(theta):
    p = unpack(theta)
    N = len(X)
    h1 = np.tanh(X @ p["W1"] + p["b1"])
    h2 = np.tanh(h1 @ p["W2"] + p["b2"])
    s = h2 @ p["W3"] + p["b3"]
    s = s - s.max(axis=1, keepdims=True)
    prob = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    loss = -np.log(prob[np.arange(N), y]).mean()
    loss += 0.5 * reg * sum(np.sum(p[f"W{i}"] ** 2) for i in (1, 2, 3))
    ds = prob.copy()
    ds[np.arange(N), y] -= 1
    ds /= N
    g = {}
    g["W3"] = h2.T @ ds + reg * p["W3"]
    g["b3"] = ds.sum(axis=0) * N  # FIX: g["b3"] = ds.sum(axis=0)
    dh2 = (ds @ p["W3"].T) * (1 - h2 ** 2)
    g["W2"] = h1.T @ dh2 + reg * p["W2"]
    g["b2"] = dh2.sum(axis=0)
    dh1 = (dh2 @ p["W2"].T) * (1 - h1 ** 2)
    g["W1"] = X.T @ dh1  # FIX: g["W1"] = X.T @ dh1 + reg * p["W1"]
    g["b1"] = dh1.sum(axis=0)
    return loss, np.concatenate([g[k].ravel() for k in KEYS])


def cost(theta):
    return loss_and_grads(theta)[0]


def grad(theta):
    return loss_and_grads(theta)[1]


SPEC = {"sizes": [4, 5, 4, 3], "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
        "l2": 1.6, "reduction": "mean",
        "layout": {"blocks": KEYS, "weights": "in-out", "bias": "separate", "unroll": "C",
                   "packing": "per-layer"},
        "labels": "0-based", "notes": "reg = 0.2 on a mean loss of m = 8: l2 = reg * m"}
