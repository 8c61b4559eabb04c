"""ex4's script variables (input_layer_size, ...) and an unrolled initial_nn_params; nothing else at module level."""
import numpy as np

input_layer_size = 4
hidden_layer_size = 5
num_labels = 3
lambda_ = 3.0

rng = np.random.default_rng(133)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(1, num_labels + 1, 10)


def rand_initialize_weights(l_in, l_out):
    return rng.uniform(-0.3, 0.3, (l_out, 1 + l_in))


initial_nn_params = np.concatenate([
    rand_initialize_weights(input_layer_size, hidden_layer_size).ravel(order="F"),
    rand_initialize_weights(hidden_layer_size, num_labels).ravel(order="F")])
theta = initial_nn_params


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def nn_cost_function(nn_params):
    n1 = hidden_layer_size * (input_layer_size + 1)
    Theta1 = nn_params[:n1].reshape((hidden_layer_size, input_layer_size + 1), order="F")
    Theta2 = nn_params[n1:].reshape((num_labels, hidden_layer_size + 1), order="F")
    m = len(X)
    Y = np.eye(num_labels)[y - 1]
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ Theta1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ Theta2.T)
    J = np.sum(-Y * np.log(h) - (1 - Y) * np.log(1 - h)) / m
    J += lambda_ / (2 * m) * (np.sum(Theta1 ** 2) + np.sum(Theta2 ** 2))  # FIX: J += lambda_ / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
    d3 = h - Y
    d2 = (d3 @ Theta2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    Theta1_grad = d2.T @ a1 / m
    Theta2_grad = d3.T @ a2 / m
    Theta1_grad[:, 1:] += lambda_ / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] += lambda_ / m * Theta2[:, 1:]
    return J, np.concatenate([Theta1_grad.ravel(order="F"), Theta2_grad.ravel(order="F")])


def cost(nn_params):
    return nn_cost_function(nn_params)[0]


def grad(nn_params):
    return nn_cost_function(nn_params)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 3.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "F", "packing": "per-layer"},
        "labels": "1-based"}
