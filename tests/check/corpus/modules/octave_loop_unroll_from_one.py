"""ex4 translated from Octave, unrolling the gradients with a hand-written index loop."""
import numpy as np

input_layer_size = 4
hidden_layer_size = 5
num_labels = 3
lambda_ = 1.0

rng = np.random.default_rng(127)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(1, num_labels + 1, 10)
Theta1 = rng.uniform(-0.12, 0.12, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.12, 0.12, (num_labels, hidden_layer_size + 1))
nn_params = np.concatenate([Theta1.ravel(order="F"), Theta2.ravel(order="F")])
theta = nn_params


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def unroll(p):
    s1 = Theta1.size
    return p[:s1].reshape(Theta1.shape, order="F"), p[s1:].reshape(Theta2.shape, order="F")


def cost(p):
    T1, T2 = unroll(p)
    m = len(X)
    Y = np.eye(num_labels)[y - 1]
    a2 = sigmoid(np.c_[np.ones(m), X] @ T1.T)
    h = sigmoid(np.c_[np.ones(m), a2] @ T2.T)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return J + lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))


def grad(p):
    T1, T2 = unroll(p)
    m = len(X)
    Y = np.eye(num_labels)[y - 1]
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ T2.T)
    d3 = h - Y
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    G1 = d2.T @ a1 / m
    G2 = d3.T @ a2 / m
    G1[:, 1:] += lambda_ / m * T1[:, 1:]
    G2[:, 1:] += lambda_ / m * T2[:, 1:]
    out = np.zeros(p.size)
    k = 0
    for G in (G1, G2):
        flat = G.ravel(order="F")
        for i in range(1, flat.size):  # FIX: for i in range(flat.size):
            out[k + i] = flat[i]
        k += flat.size
    return out


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "F", "packing": "per-layer"},
        "labels": "1-based"}
