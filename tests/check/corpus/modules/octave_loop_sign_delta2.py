"""ex4 in NumPy, backprop one example at a time as the course's for-loop hint suggests."""
import numpy as np

input_layer_size = 4
hidden_layer_size = 5
num_labels = 3
lambda_ = 1.0

rng = np.random.default_rng(101)
X = rng.standard_normal((10, input_layer_size))
y = rng.integers(1, num_labels + 1, 10)  # labels 1..K as in ex4data1.mat


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_gradient(z):
    g = sigmoid(z)
    return g * (1 - g)


def rand_initialize_weights(l_in, l_out, epsilon_init=0.12):
    return rng.uniform(-epsilon_init, epsilon_init, (l_out, 1 + l_in))


Theta1 = rand_initialize_weights(input_layer_size, hidden_layer_size)
Theta2 = rand_initialize_weights(hidden_layer_size, num_labels)
theta = np.concatenate([Theta1.ravel(order="F"), Theta2.ravel(order="F")])


def unroll(nn_params):
    n1 = hidden_layer_size * (input_layer_size + 1)
    T1 = nn_params[:n1].reshape(hidden_layer_size, input_layer_size + 1, order="F")
    T2 = nn_params[n1:].reshape(num_labels, hidden_layer_size + 1, order="F")
    return T1, T2


def nn_cost_function(nn_params):
    T1, T2 = unroll(nn_params)
    m = X.shape[0]
    J = 0.0
    Delta1 = np.zeros_like(T1)
    Delta2 = np.zeros_like(T2)
    for t in range(m):
        a1 = np.concatenate(([1.0], X[t]))
        z2 = T1 @ a1
        a2 = np.concatenate(([1.0], sigmoid(z2)))
        a3 = sigmoid(T2 @ a2)
        yk = (np.arange(1, num_labels + 1) == y[t]).astype(float)
        J += -np.sum(yk * np.log(a3) + (1 - yk) * np.log(1 - a3))
        d3 = a3 - yk
        d2 = (T2[:, 1:].T @ d3) * sigmoid_gradient(z2)
        Delta2 -= np.outer(d3, a2)  # FIX: Delta2 += np.outer(d3, a2)
        Delta1 += np.outer(d2, a1)
    J = J / m + lambda_ / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))
    Theta1_grad = Delta1 / m
    Theta2_grad = Delta2 / m
    Theta1_grad[:, 1:] += lambda_ / m * T1[:, 1:]
    Theta2_grad[:, 1:] += lambda_ / m * T2[:, 1:]
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
