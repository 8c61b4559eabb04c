"""The gradient read off one training step, (theta_old - theta_new) / alpha, from the user's trainer."""
import numpy as np

input_layer_size, hidden_layer_size, num_labels = 4, 5, 3
lambda_ = 1.0
alpha = 0.5

rng = np.random.default_rng(115)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(0, num_labels, 10)
Theta1 = rng.uniform(-0.3, 0.3, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.3, 0.3, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.ravel(), Theta2.ravel()])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def unpack(t):
    n1 = Theta1.size
    return t[:n1].reshape(Theta1.shape), t[n1:].reshape(Theta2.shape)


def cost(t):
    T1, T2 = unpack(t)
    m = len(X)
    Y = np.eye(num_labels)[y]
    a2 = sigmoid(np.c_[np.ones(m), X] @ T1.T)
    h = sigmoid(np.c_[np.ones(m), a2] @ T2.T)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return J + lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))


def train_step(t, alpha):
    """One batch gradient-descent step; returns the new parameters."""
    Theta1, Theta2 = (T.copy() for T in unpack(t))
    m = len(X)
    Y = np.eye(num_labels)[y]
    a1 = np.c_[np.ones(m), X]
    a2 = np.c_[np.ones(m), sigmoid(a1 @ Theta1.T)]
    h = sigmoid(a2 @ Theta2.T)
    d3 = h - Y
    d2 = (d3 @ Theta2[:, 1:]) * a2[:, 1:] * (1 - a2[:, 1:])
    Theta1_grad = d2.T @ a1 / m
    Theta2_grad = d3.T @ a2 / m
    Theta1_grad[:, 1:] += lambda_ / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] += lambda_ / m * Theta2[:, 1:]
    Theta1 = Theta1 - alpha * Theta1_grad
    Theta2 = Theta2 + alpha * Theta2_grad  # FIX: Theta2 = Theta2 - alpha * Theta2_grad
    return np.concatenate([Theta1.ravel(), Theta2.ravel()])


def grad(t):
    return (t - train_step(t, alpha)) / alpha


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "C", "packing": "per-layer"},
        "labels": "0-based", "notes": "gradient = (theta - train_step(theta, alpha)) / alpha"}
