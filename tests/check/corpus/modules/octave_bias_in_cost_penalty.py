"""ex4 ported line by line (Theta(:) is column-major): the penalty written as sum(Theta.^2)."""
import numpy as np

input_layer_size = 4
hidden_layer_size = 5
num_labels = 3
lmbda = 1.0

rng = np.random.default_rng(103)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(1, num_labels + 1, 10)

Theta1 = rng.uniform(-0.12, 0.12, (hidden_layer_size, input_layer_size + 1))
Theta2 = rng.uniform(-0.12, 0.12, (num_labels, hidden_layer_size + 1))
theta = np.concatenate([Theta1.flatten("F"), Theta2.flatten("F")])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def unpack(p):
    n1 = hidden_layer_size * (input_layer_size + 1)
    return (np.reshape(p[:n1], (hidden_layer_size, input_layer_size + 1), order="F"),
            np.reshape(p[n1:], (num_labels, hidden_layer_size + 1), order="F"))


def nnCostFunction(p):
    Theta1, Theta2 = unpack(p)
    m = X.shape[0]
    I = np.eye(num_labels)
    Y = I[y - 1, :]
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ Theta1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    a3 = sigmoid(a2 @ Theta2.T)
    J = np.sum(-Y * np.log(a3) - (1 - Y) * np.log(1 - a3)) / m
    p_sum = np.sum(Theta1 ** 2) + np.sum(Theta2 ** 2)  # FIX: p_sum = np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2)
    J = J + lmbda * p_sum / (2 * m)
    sigma3 = a3 - Y
    sigma2 = (sigma3 @ Theta2)[:, 1:] * sigmoid(z2) * (1 - sigmoid(z2))
    Theta1_grad = sigma2.T @ a1 / m
    Theta2_grad = sigma3.T @ a2 / m
    Theta1_grad[:, 1:] = Theta1_grad[:, 1:] + lmbda / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] = Theta2_grad[:, 1:] + lmbda / m * Theta2[:, 1:]
    return J, np.concatenate([Theta1_grad.flatten("F"), Theta2_grad.flatten("F")])


def cost(p):
    return nnCostFunction(p)[0]


def grad(p):
    return nnCostFunction(p)[1]


SPEC = {"sizes": [4, 5, 3], "hidden": "sigmoid", "output": "sigmoid",
        "loss": "binary_cross_entropy", "l2": 1.0, "reduction": "mean",
        "layout": {"blocks": ["Theta1", "Theta2"], "weights": "out-in", "bias": "first-column",
                   "unroll": "F", "packing": "per-layer"},
        "labels": "1-based"}
