"""Labels as in ex4data1.mat (10 stands for the digit 0), remapped inside the cost and gradient."""
import numpy as np

input_layer_size, hidden_layer_size, num_labels = 4, 5, 10
lambda_ = 0.5

rng = np.random.default_rng(123)
X = rng.standard_normal((12, input_layer_size))
y = rng.integers(1, num_labels + 1, 12)
y[:2] = 10
Theta1 = rng.uniform(-0.12, 0.12, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.12, 0.12, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.ravel(), Theta2.ravel()])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def nn_cost_function(nn_params, X, y):
    T1 = nn_params[:Theta1.size].reshape(Theta1.shape)
    T2 = nn_params[Theta1.size:].reshape(Theta2.shape)
    m = len(y)
    y[y == 10] = 0  # FIX: y = np.where(y == 10, 0, y)
    Y = np.eye(num_labels)[y]
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ T2.T)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    J += lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))
    d3 = h - Y
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    G1 = d2.T @ a1 / m
    G2 = d3.T @ a2 / m
    G1[:, 1:] += lambda_ / m * T1[:, 1:]
    G2[:, 1:] += lambda_ / m * T2[:, 1:]
    return J, np.concatenate([G1.ravel(), G2.ravel()])


def cost(nn_params):
    return nn_cost_function(nn_params, X, y)[0]


def grad(nn_params):
    return nn_cost_function(nn_params, X, y)[1]


SPEC = {"sizes": [4, 5, 10], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 0.5, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "1-based-10-is-0",
        "notes": "labels 1..10 with 10 for the digit 0; output unit k is digit k (unit 0 is digit 0)"}
