"""Column-major ex4 with two slips: layer 2's gradient not averaged, layer 1's biases penalised."""
import numpy as np

input_layer_size, hidden_layer_size, num_labels = 4, 5, 3
lambda_ = 1.0

rng = np.random.default_rng(135)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(1, num_labels + 1, 10)
Theta1 = rng.uniform(-0.3, 0.3, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.3, 0.3, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.ravel(order="F"), Theta2.ravel(order="F")])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def nn_cost_function(p):
    s1 = hidden_layer_size * (input_layer_size + 1)
    T1 = p[:s1].reshape((hidden_layer_size, input_layer_size + 1), order="F")
    T2 = p[s1:].reshape((num_labels, hidden_layer_size + 1), order="F")
    m = len(X)
    Y = np.eye(num_labels)[y - 1]
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ T2.T)
    J = np.sum(-Y * np.log(h) - (1 - Y) * np.log(1 - h)) / m
    J += lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))
    d3 = h - Y
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    Delta1 = d2.T @ a1
    Delta2 = d3.T @ a2
    Theta1_grad = Delta1 / m + lambda_ / m * T1  # FIX: Theta1_grad = Delta1 / m + lambda_ / m * np.c_[np.zeros(hidden_layer_size), T1[:, 1:]]
    Theta2_grad = Delta2 + lambda_ / m * np.c_[np.zeros(num_labels), T2[:, 1:]]  # FIX: Theta2_grad = Delta2 / m + lambda_ / m * np.c_[np.zeros(num_labels), T2[:, 1:]]
    return J, np.concatenate([Theta1_grad.ravel(order="F"), Theta2_grad.ravel(order="F")])


def cost(p):
    return nn_cost_function(p)[0]


def grad(p):
    return nn_cost_function(p)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "F", "packing": "per-layer"},
        "labels": "1-based"}
