"""Column-major ex4; the gradient zeroes the bias column of its views of theta before the forward pass."""
import numpy as np

input_layer_size, hidden_layer_size, num_labels = 4, 5, 3
lambda_ = 1.0

rng = np.random.default_rng(121)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(1, num_labels + 1, 10)
Theta1 = rng.uniform(-0.5, 0.5, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.5, 0.5, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.ravel(order="F"), Theta2.ravel(order="F")])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def unroll(nn_params):
    s1 = hidden_layer_size * (input_layer_size + 1)
    return (nn_params[:s1].reshape((hidden_layer_size, input_layer_size + 1), order="F"),
            nn_params[s1:].reshape((num_labels, hidden_layer_size + 1), order="F"))


def cost(nn_params):
    T1, T2 = unroll(nn_params)
    m = len(X)
    Y = np.eye(num_labels)[y - 1]
    a2 = sigmoid(np.c_[np.ones(m), X] @ T1.T)
    h = sigmoid(np.c_[np.ones(m), a2] @ T2.T)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return J + lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))


def grad(nn_params):
    T1, T2 = unroll(nn_params)
    m = len(X)
    penalty1, penalty2 = T1, T2  # FIX: penalty1, penalty2 = T1.copy(), T2.copy()
    penalty1[:, 0] = 0
    penalty2[:, 0] = 0
    Y = np.eye(num_labels)[y - 1]
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ T2.T)
    d3 = h - Y
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    G1 = d2.T @ a1 / m + lambda_ / m * penalty1
    G2 = d3.T @ a2 / m + lambda_ / m * penalty2
    return np.concatenate([G1.ravel(order="F"), G2.ravel(order="F")])


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "F", "packing": "per-layer"},
        "labels": "1-based"}
