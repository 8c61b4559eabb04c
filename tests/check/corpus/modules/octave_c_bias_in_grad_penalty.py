"""A NumPy ex4 with row-major unrolling; the gradient's penalty added to the whole Theta."""
import numpy as np
from scipy.special import expit

layer_sizes = (4, 5, 3)
reg_lambda = 1.0

rng = np.random.default_rng(104)
X = rng.standard_normal((10, layer_sizes[0]))
y = rng.integers(0, layer_sizes[2], 10)

Theta1 = rng.uniform(-0.12, 0.12, (layer_sizes[1], layer_sizes[0] + 1))
Theta2 = rng.uniform(-0.12, 0.12, (layer_sizes[2], layer_sizes[1] + 1))
theta = np.append(Theta1.ravel(), Theta2.ravel())


def split(theta):
    n1 = Theta1.size
    return theta[:n1].reshape(Theta1.shape), theta[n1:].reshape(Theta2.shape)


def cost_and_grad(theta):
    T1, T2 = split(theta)
    m = X.shape[0]
    Y = np.zeros((m, layer_sizes[2]))
    Y[np.arange(m), y] = 1
    A1 = np.insert(X, 0, 1, axis=1)
    Z2 = A1 @ T1.T
    A2 = np.insert(expit(Z2), 0, 1, axis=1)
    H = expit(A2 @ T2.T)
    J = -np.sum(Y * np.log(H) + (1 - Y) * np.log(1 - H)) / m
    J += reg_lambda / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))
    D3 = H - Y
    D2 = D3 @ T2[:, 1:] * expit(Z2) * (1 - expit(Z2))
    G1 = D2.T @ A1 / m + reg_lambda / m * T1  # FIX: G1 = D2.T @ A1 / m + reg_lambda / m * np.insert(T1[:, 1:], 0, 0, axis=1)
    G2 = D3.T @ A2 / m + reg_lambda / m * T2  # FIX: G2 = D3.T @ A2 / m + reg_lambda / m * np.insert(T2[:, 1:], 0, 0, axis=1)
    return J, np.append(G1.ravel(), G2.ravel())


def cost(theta):
    return cost_and_grad(theta)[0]


def grad(theta):
    return cost_and_grad(theta)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based"}
