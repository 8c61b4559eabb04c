"""ex4 in NumPy; the penalty's bias column is zeroed through the reshaped views of theta."""
import numpy as np

input_layer_size, hidden_layer_size, num_labels = 4, 5, 3
lambda_ = 1.0

rng = np.random.default_rng(120)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(0, num_labels, 10)
Theta1 = rng.uniform(-0.12, 0.12, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.12, 0.12, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.ravel(), Theta2.ravel()])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reshape(nn_params):
    s1 = hidden_layer_size * (input_layer_size + 1)
    return (nn_params[:s1].reshape(hidden_layer_size, input_layer_size + 1),
            nn_params[s1:].reshape(num_labels, hidden_layer_size + 1))


def cost(nn_params):
    T1, T2 = reshape(nn_params)
    m = len(X)
    Y = np.eye(num_labels)[y]
    a2 = sigmoid(np.c_[np.ones(m), X] @ T1.T)
    h = sigmoid(np.c_[np.ones(m), a2] @ T2.T)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return J + lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))


def grad(nn_params):
    T1, T2 = reshape(nn_params)
    m = len(X)
    Y = np.eye(num_labels)[y]
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ T2.T)
    d3 = h - Y
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    reg1, reg2 = T1, T2  # FIX: reg1, reg2 = T1.copy(), T2.copy()
    reg1[:, 0] = 0
    reg2[:, 0] = 0
    G1 = d2.T @ a1 / m + lambda_ / m * reg1
    G2 = d3.T @ a2 / m + lambda_ / m * reg2
    return np.concatenate([G1.ravel(), G2.ravel()])


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
