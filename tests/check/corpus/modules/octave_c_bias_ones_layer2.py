"""Row-major NumPy ex4; layer 2's penalty built from a copy whose bias column was set to 1."""
import numpy as np
from scipy.special import expit

input_layer_size, hidden_layer_size, num_labels = 4, 5, 3
lambda_reg = 2.0

rng = np.random.default_rng(111)
X = rng.standard_normal((12, input_layer_size))
y = rng.integers(0, num_labels, 12)
Theta1 = rng.uniform(-0.12, 0.12, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.12, 0.12, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.flatten(), Theta2.flatten()])


def unroll(nn_params):
    s = hidden_layer_size * (input_layer_size + 1)
    return (nn_params[:s].reshape(hidden_layer_size, input_layer_size + 1),
            nn_params[s:].reshape(num_labels, hidden_layer_size + 1))


def cost_function(nn_params):
    T1, T2 = unroll(nn_params)
    m = X.shape[0]
    Y = np.eye(num_labels)[y]
    a1 = np.insert(X, 0, 1.0, axis=1)
    z2 = a1 @ T1.T
    a2 = np.insert(expit(z2), 0, 1.0, axis=1)
    h = expit(a2 @ T2.T)
    J = np.mean(np.sum(-Y * np.log(h) - (1 - Y) * np.log(1 - h), axis=1))
    J += lambda_reg / (2 * m) * (np.sum(np.square(T1[:, 1:])) + np.sum(np.square(T2[:, 1:])))
    d3 = h - Y
    d2 = (d3 @ T2)[:, 1:] * expit(z2) * (1 - expit(z2))
    T1_reg = T1.copy()
    T1_reg[:, 0] = 0
    T2_reg = T2.copy()
    T2_reg[:, 0] = 1  # FIX: T2_reg[:, 0] = 0
    grad1 = d2.T @ a1 / m + lambda_reg / m * T1_reg
    grad2 = d3.T @ a2 / m + lambda_reg / m * T2_reg
    return J, np.concatenate([grad1.flatten(), grad2.flatten()])


def cost(nn_params):
    return cost_function(nn_params)[0]


def grad(nn_params):
    return cost_function(nn_params)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 2.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
