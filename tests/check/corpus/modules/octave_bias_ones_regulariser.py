"""ex4 in NumPy (column-major like Octave); the penalty matrix built with a column of ones."""
import numpy as np

input_layer_size = 4
hidden_layer_size = 5
num_labels = 3
lambda_ = 1.0

rng = np.random.default_rng(105)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(1, num_labels + 1, 10)

Theta1 = rng.uniform(-0.12, 0.12, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.12, 0.12, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.ravel(order="F"), Theta2.ravel(order="F")])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def nn_cost_function(nn_params):
    n1 = hidden_layer_size * (input_layer_size + 1)
    T1 = nn_params[:n1].reshape((hidden_layer_size, input_layer_size + 1), order="F")
    T2 = nn_params[n1:].reshape((num_labels, hidden_layer_size + 1), order="F")
    m = X.shape[0]
    Y = (y[:, None] == np.arange(1, num_labels + 1)).astype(float)
    a1 = np.column_stack([np.ones(m), X])
    z2 = a1 @ T1.T
    a2 = np.column_stack([np.ones(m), sigmoid(z2)])
    a3 = sigmoid(a2 @ T2.T)
    J = np.sum(-Y * np.log(a3) - (1 - Y) * np.log(1 - a3)) / m
    J += lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))
    d3 = a3 - Y
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    reg1 = np.column_stack([np.ones(hidden_layer_size), T1[:, 1:]])  # FIX: reg1 = np.column_stack([np.zeros(hidden_layer_size), T1[:, 1:]])
    reg2 = np.column_stack([np.ones(num_labels), T2[:, 1:]])  # FIX: reg2 = np.column_stack([np.zeros(num_labels), T2[:, 1:]])
    Theta1_grad = d2.T @ a1 / m + lambda_ / m * reg1
    Theta2_grad = d3.T @ a2 / m + lambda_ / m * reg2
    return J, np.concatenate([Theta1_grad.ravel(order="F"), Theta2_grad.ravel(order="F")])


def cost(nn_params):
    return nn_cost_function(nn_params)[0]


def grad(nn_params):
    return nn_cost_function(nn_params)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "F", "packing": "per-layer"},
        "labels": "1-based"}
