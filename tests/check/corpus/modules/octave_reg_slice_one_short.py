"""A NumPy ex4 (row-major); the first layer's penalty slice starts one column late."""
import numpy as np
from scipy.special import expit

input_size, hidden_size, num_labels = 4, 5, 3
lam = 1.0

rng = np.random.default_rng(106)
X = rng.standard_normal((10, input_size))
y = rng.integers(0, num_labels, 10)

Theta1 = rng.uniform(-0.12, 0.12, (hidden_size, input_size + 1))
Theta2 = rng.uniform(-0.12, 0.12, (num_labels, hidden_size + 1))
theta = np.r_[Theta1.ravel(), Theta2.ravel()]


def nn_cost(params):
    T1 = params[:hidden_size * (input_size + 1)].reshape(hidden_size, input_size + 1)
    T2 = params[hidden_size * (input_size + 1):].reshape(num_labels, hidden_size + 1)
    m = len(y)
    Y = np.eye(num_labels)[y]
    a1 = np.c_[np.ones(m), X]
    z2 = a1.dot(T1.T)
    a2 = np.c_[np.ones(m), expit(z2)]
    a3 = expit(a2.dot(T2.T))
    J = (-Y * np.log(a3) - (1 - Y) * np.log(1 - a3)).sum() / m
    J += lam / (2 * m) * ((T1[:, 1:] ** 2).sum() + (T2[:, 1:] ** 2).sum())
    d3 = a3 - Y
    d2 = d3.dot(T2[:, 1:]) * expit(z2) * (1 - expit(z2))
    Theta1_grad = d2.T.dot(a1) / m
    Theta2_grad = d3.T.dot(a2) / m
    Theta1_grad[:, 2:] += lam / m * T1[:, 2:]  # FIX: Theta1_grad[:, 1:] += lam / m * T1[:, 1:]
    Theta2_grad[:, 1:] += lam / m * T2[:, 1:]
    return J, np.r_[Theta1_grad.ravel(), Theta2_grad.ravel()]


def cost(params):
    return nn_cost(params)[0]


def grad(params):
    return nn_cost(params)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
