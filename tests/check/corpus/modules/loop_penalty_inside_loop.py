"""Course-style per-example loop, with the penalty accumulated inside the loop."""
import numpy as np

input_layer_size = 3
hidden_layer_size = 4
num_labels = 3
lam = 1.0

rng = np.random.default_rng(129)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(0, num_labels, 10)
Theta1 = rng.uniform(-0.4, 0.4, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.4, 0.4, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.ravel(), Theta2.ravel()])


def g(z):
    return 1.0 / (1.0 + np.exp(-z))


def nn(theta):
    T1 = theta[:Theta1.size].reshape(Theta1.shape)
    T2 = theta[Theta1.size:].reshape(Theta2.shape)
    m = X.shape[0]
    J = 0.0
    D1 = np.zeros(T1.shape)
    D2 = np.zeros(T2.shape)
    R1 = np.hstack([np.zeros((T1.shape[0], 1)), T1[:, 1:]])
    R2 = np.hstack([np.zeros((T2.shape[0], 1)), T2[:, 1:]])
    for i in range(m):
        a1 = np.r_[1.0, X[i]]
        z2 = T1 @ a1
        a2 = np.r_[1.0, g(z2)]
        a3 = g(T2 @ a2)
        t = np.zeros(num_labels)
        t[y[i]] = 1.0
        J += -(t @ np.log(a3) + (1 - t) @ np.log(1 - a3))
        d3 = a3 - t
        d2 = (T2[:, 1:].T @ d3) * g(z2) * (1 - g(z2))
        D1 += np.outer(d2, a1) + lam * R1  # FIX: D1 += np.outer(d2, a1)
        D2 += np.outer(d3, a2) + lam * R2  # FIX: D2 += np.outer(d3, a2)
    J = J / m + lam / (2 * m) * (np.sum(R1 ** 2) + np.sum(R2 ** 2))
    grad1 = D1 / m  # FIX: grad1 = D1 / m + lam / m * R1
    grad2 = D2 / m  # FIX: grad2 = D2 / m + lam / m * R2
    return J, np.concatenate([grad1.ravel(), grad2.ravel()])


def cost(theta):
    return nn(theta)[0]


def grad(theta):
    return nn(theta)[1]


SPEC = {"sizes": [3, 4, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
