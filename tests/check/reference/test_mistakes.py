"""Reference mode: plant each catalogued mistake in a user-style gradient and name it.

The user-style code below is written the way the course and its NumPy ports write it
(``Theta`` matrices with the bias as column 0, ``a1 = [1 X]``, ``delta2(:, 2:end)``), apart
from the library, so a match is evidence and not an identity.
"""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from gradcheck import Network
from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.reference.compare import match_reference
from gradcheck.check.reference.mistakes import MISTAKES, RIGHT, Slip, backprop, get_mistake, slipped_cost
from gradcheck.errors import ConfigError

# --- a course-style network, independent of the library ---------------------------------------

ACT = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: expit(z) * (1 - expit(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "softplus": (lambda z: np.logaddexp(0, z), expit),
    "identity": (lambda z: z, np.ones_like),
}


def softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def unroll(theta, sizes, layout):
    """``[Theta1, Theta2]`` (bias column first) from the user's flat vector."""
    thetas, start = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        size = n_out * (n_in + 1)
        chunk = theta[start:start + size]
        if layout == "C":  # W row-major, then b
            W = chunk[:n_out * n_in].reshape(n_out, n_in)
            T = np.hstack([chunk[n_out * n_in:, None], W])
        else:
            T = chunk.reshape(n_out, n_in + 1, order="F" if layout == "course" else "C")
        thetas.append(T)
        start += size
    return thetas


def roll(thetas, layout):
    parts = []
    for T in thetas:
        if layout == "C":
            parts += [T[:, 1:].ravel(), T[:, 0]]
        else:
            parts.append(T.ravel(order="F" if layout == "course" else "C"))
    return np.concatenate(parts)


def user_forward(theta, X, cfg, plant=frozenset()):
    T1, T2 = unroll(theta, cfg["sizes"], cfg["layout"])
    g = ACT[cfg["hidden"]][0]
    if "sign-sigmoid" in plant:  # 1/(1+exp(z)), written out the wrong way round
        g = (lambda z: 1 / (1 + np.exp(z))) if cfg["hidden"] == "sigmoid" else g
    m = len(X)
    a1 = np.hstack([np.ones((m, 1)), X])
    z2 = a1 @ T1.T
    a2 = np.hstack([np.ones((m, 1)), g(z2)])
    z3 = a2 @ T2.T
    if cfg["output"] == "softmax":
        a3 = softmax_rows(z3)
    elif cfg["output"] == "sigmoid" and "sign-sigmoid" in plant:
        a3 = 1 / (1 + np.exp(z3))
    else:
        a3 = ACT[cfg["output"]][0](z3)
    return T1, T2, a1, z2, a2, z3, a3


def user_cost(theta, X, Y, cfg, plant=frozenset()):
    T1, T2, *_, a3 = user_forward(theta, X, cfg, plant)
    m, k = Y.shape
    a3 = softmax_rows(a3) if "cost-softmax-twice" in plant else a3  # softmax of probabilities
    loss = "binary_cross_entropy" if "logistic-cost" in plant else cfg["loss"]
    loss = "squared_error" if "cost-squared-error" in plant else loss
    loss = "cross_entropy" if "cost-cross-entropy" in plant else loss
    loss = "binary_cross_entropy" if "cost-binary-cross-entropy" in plant else loss
    if loss == "cross_entropy":
        J = -np.sum(Y * np.log(a3))
    elif loss == "binary_cross_entropy":
        J = -np.sum(Y * np.log(a3) + (1 - Y) * np.log(1 - a3))
    elif "cost-half-dropped" in plant:
        J = np.sum((a3 - Y) ** 2)
    elif "cost-mean-over-outputs-no-half" in plant:
        J = np.mean((a3 - Y) ** 2) * m  # the mean over every entry; / m follows
    else:
        J = 0.5 * np.sum((a3 - Y) ** 2)
    J = J if "cost-missing-m" in plant else J / m
    J = J / k if "cost-mean-over-outputs" in plant else J
    first = 0 if "cost-bias-penalty" in plant else 1  # sum(Theta(:)) takes the bias column too
    penalty = np.sum(T1[:, first:] ** 2) + np.sum(T2[:, first:] ** 2)
    if "cost-penalty-no-half" in plant:
        return J + cfg["l2"] / m * penalty
    return J + cfg["l2"] / (2 * m) * penalty


def output_delta(cfg, z3, a3, Y, plant):
    """The user's d3; a - y unless a softmax backward of their own is planted."""
    if "output-no-derivative" in plant:  # dL/da alone, not chained through the output
        return -Y / a3 if cfg["loss"] == "cross_entropy" else (a3 - Y) / (a3 * (1 - a3))
    if "softmax-inputs" in plant or "softmax-diagonal" in plant:
        g = -Y / a3  # dJ/da of cross-entropy, chained through a hand-made softmax backward
        rows = []
        for s, z, gi in zip(a3, z3, g):
            if "softmax-inputs" in plant:
                rows.append(gi @ (np.diag(s) - np.outer(s, z)))  # s_i (delta_ij - z_j)
            else:
                rows.append(gi * s * (1 - s))
        return np.array(rows)
    return a3 - Y


def hidden_derivative(cfg, z2, a2, plant):
    name = cfg["hidden"]
    if "sigmoid-derivative" in plant:
        name = "sigmoid"
    if "tanh-derivative" in plant:
        name = "tanh"
    dact = ACT[name][1]
    if "no-hidden-derivative" in plant:
        return np.ones_like(z2)
    if "tanh-negated" in plant:
        return a2 ** 2 - 1  # h^2 - 1
    if "sign-sigmoid" in plant and name == "sigmoid":
        return a2 * (1 - a2)  # s(1 - s) of the wrong s, as the user writes it
    if "derivative-at-a" in plant:
        return dact(a2)
    if "relu0-1" in plant:
        return (z2 >= 0).astype(float)
    if "relu0-half" in plant:
        return np.where(z2 > 0, 1.0, np.where(z2 == 0, 0.5, 0.0))
    return dact(z2)


LR = 0.3  # the learning rate of the planted update step


def user_gradient(theta, X, Y, cfg, plant=frozenset()):
    """Course-style backprop for one hidden layer with mistakes planted by name."""
    T1, T2, a1, z2, a2, z3, a3 = user_forward(theta, X, cfg, plant)
    m, k = Y.shape
    d3 = output_delta(cfg, z3, a3, Y, plant)
    scale = 1.0 if "missing-m" in plant else 1.0 / m
    scale = scale / k if "mean-over-outputs" in plant else scale
    scale = scale * 2 if "half-dropped" in plant else scale  # 2 (a - y), or mean((a - y)^2)'s 2
    scale = scale * 2 / k if "mean-over-outputs-no-half" in plant else scale
    if "update-order" in plant:  # Theta2 -= LR * Theta2_grad before d2 is formed from Theta2
        T2 = T2 - cfg.get("lr", LR) * user_penalised(d3.T @ a2 * scale, T2, cfg, m, plant, layer=2)
    if "bias-column" in plant:  # the bias unit's column kept, the last one dropped
        z2_full = np.hstack([np.ones((m, 1)), z2])
        a2_full = np.hstack([ACT[cfg["hidden"]][0](np.ones((m, 1))), a2[:, 1:]])
        d2 = ((d3 @ T2) * hidden_derivative(cfg, z2_full, a2_full, plant))[:, :-1]
    else:
        d2 = (d3 @ T2[:, 1:]) * hidden_derivative(cfg, z2, a2[:, 1:], plant)
    T1, T2 = unroll(theta, cfg["sizes"], cfg["layout"])  # the parameters before any update
    grads = [user_penalised(d2.T @ a1 * scale, T1, cfg, m, plant, layer=1),
             user_penalised(d3.T @ a2 * scale, T2, cfg, m, plant, layer=2)]
    return roll(grads, cfg["layout"])


def user_penalised(G, T, cfg, m, plant, layer):
    """The data gradient G of one Theta plus the user's (lambda / m) Theta term."""
    reg = T.copy() if {"bias-reg", f"bias-reg-layer{layer}"} & plant else np.hstack(
        [np.zeros((len(T), 1)), T[:, 1:]])
    return G + (2 if "penalty-no-half" in plant else 1) * cfg["l2"] / m * reg


def problem(sizes, hidden="sigmoid", output="softmax", loss="cross_entropy", l2=0.0,
            layout="course", seed=0, m=7, zero_row=False):
    """A seeded spec, theta (user layout), X and one-hot Y."""
    rng = np.random.default_rng(seed)
    cfg = {"sizes": list(sizes), "hidden": hidden, "output": output, "loss": loss, "l2": l2,
           "layout": layout}
    n_params = sum(o * (i + 1) for i, o in zip(sizes[:-1], sizes[1:]))
    theta = rng.uniform(-0.8, 0.8, n_params)
    X = rng.standard_normal((m, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
    if zero_row:  # z = 0 exactly in the hidden layer: a zero input row and zero biases
        X[0] = 0
        T1, T2 = unroll(theta, sizes, layout)
        T1[:, 0] = 0
        theta = roll([T1, T2], layout)
    return cfg, theta, X, Y


def diagnose(cfg, theta, X, Y, plant=frozenset(), cost_plant=None):
    grad = lambda t: user_gradient(t, X, Y, cfg, frozenset(plant))
    cost = None if cost_plant is None else (lambda t: user_cost(t, X, Y, cfg, frozenset(cost_plant)))
    spec = {k: v for k, v in cfg.items() if k != "lr"}  # the user's learning rate is not told
    return match_reference(grad, theta, spec, X, Y, cost, tol=1e-6)


def codes(diagnoses):
    return [d.code for d in diagnoses]


SIZES = [(3, 5, 3), (4, 6, 2), (5, 3, 4)]
LAYOUTS = ["course", "C", "course-C"]


# --- the engine: no slip is the library's own backprop ------------------------------------------

@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "softplus", ["tanh", "relu"]])
@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"), ("sigmoid", "squared_error"),
                                         ("softmax", "binary_cross_entropy"),
                                         ("identity", "squared_error")])
def test_backprop_without_slip_is_the_library_gradient(hidden, output, loss):
    sizes = [4, 5, 3] if isinstance(hidden, str) else [4, 5, 6, 3]
    net = Network(sizes, hidden=hidden, output=output, loss=loss, l2=0.3, seed=2)
    rng = np.random.default_rng(3)
    objective = net.objective(rng.standard_normal((6, 4)), rng.integers(0, 3, 6))
    J, grad = objective.loss_and_grad(net.theta)
    ours = backprop(net, net.theta.copy(), objective.X, objective.Y, RIGHT)
    np.testing.assert_allclose(ours, grad, rtol=1e-10, atol=1e-14)
    if net.pairing.fused or net.pairing.stable is None:  # one delta formula, one pass: same bits
        assert np.array_equal(ours, grad)
    assert slipped_cost(net, net.theta.copy(), objective.X, objective.Y) == pytest.approx(J, rel=1e-10)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_user_style_reference_implementation_is_right(layout):
    # the test's own course-style code must agree with the library before it can plant anything
    cfg, theta, X, Y = problem((3, 5, 3), hidden="tanh", l2=0.7, layout=layout)
    net = Network(cfg["sizes"], hidden="tanh", l2=0.7)
    order = net.course_order()
    net.theta[order] = roll(unroll(theta, cfg["sizes"], layout), "course")
    J, grad = net.objective(X, Y).loss_and_grad(net.theta)
    expected = roll(unroll(grad[order], cfg["sizes"], "course"), layout)
    np.testing.assert_allclose(user_gradient(theta, X, Y, cfg), expected, rtol=1e-9)
    assert user_cost(theta, X, Y, cfg) == pytest.approx(J, rel=1e-10)


# --- correct code: no finding ----------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("hidden,l2", [("sigmoid", 0.0), ("tanh", 1.0), ("relu", 0.5), ("softplus", 0.0)])
def test_correct_gradient_and_cost_give_nothing(layout, sizes, hidden, l2):
    cfg, theta, X, Y = problem(sizes, hidden=hidden, l2=l2, layout=layout, seed=sum(sizes))
    assert diagnose(cfg, theta, X, Y, cost_plant=()) == []


# --- each planted mistake is named, and only it ---------------------------------------------------

PLANTS = [
    # (planted flags, expected code, problem kwargs)
    ({"sigmoid-derivative"}, "mistake:sigmoid-derivative", {"hidden": "tanh"}),
    ({"sigmoid-derivative"}, "mistake:sigmoid-derivative", {"hidden": "softplus"}),
    ({"sigmoid-derivative"}, "mistake:sigmoid-derivative", {"hidden": "relu"}),
    ({"tanh-derivative"}, "mistake:tanh-derivative", {"hidden": "sigmoid"}),
    ({"derivative-at-a"}, "mistake:derivative-at-activation", {"hidden": "sigmoid"}),
    ({"derivative-at-a"}, "mistake:derivative-at-activation", {"hidden": "tanh"}),
    ({"bias-column"}, "mistake:bias-delta-not-removed", {"hidden": "sigmoid"}),
    ({"bias-column"}, "mistake:bias-delta-not-removed", {"hidden": "tanh"}),
    ({"bias-reg"}, "mistake:biases-regularized", {"l2": 1.0}),
    ({"missing-m"}, "mistake:missing-1/m", {}),
    ({"missing-m"}, "mistake:missing-1/m", {"l2": 0.5}),
    ({"mean-over-outputs"}, "mistake:mean-over-outputs", {}),
    ({"sign-sigmoid"}, "mistake:sigmoid-sign-error",
     {"output": "sigmoid", "loss": "binary_cross_entropy"}),
    ({"sign-sigmoid"}, "mistake:sigmoid-sign-error", {}),
    ({"softmax-inputs"}, "mistake:softmax-derivative-from-inputs", {}),
    ({"softmax-diagonal"}, "mistake:softmax-derivative-diagonal", {}),
    ({"relu0-1"}, "mistake:relu-prime-0-is-1", {"hidden": "relu", "zero_row": True}),
    ({"relu0-half"}, "mistake:relu-prime-0-is-half", {"hidden": "relu", "zero_row": True}),
    (set(), "mistake:output-delta-a-minus-y", {"loss": "binary_cross_entropy"}),
    (set(), "mistake:output-delta-a-minus-y", {"output": "sigmoid", "loss": "squared_error"}),
    (set(), "mistake:output-delta-a-minus-y", {"output": "tanh", "loss": "squared_error"}),
    (set(), "mistake:output-delta-a-minus-y",
     {"hidden": "relu", "output": "relu", "loss": "binary_cross_entropy"}),
    ({"no-hidden-derivative"}, "mistake:hidden-derivative-missing", {"hidden": "sigmoid"}),
    ({"no-hidden-derivative"}, "mistake:hidden-derivative-missing", {"hidden": "tanh", "l2": 0.5}),
    ({"tanh-negated"}, "mistake:tanh-derivative-negated", {"hidden": "tanh"}),
    ({"output-no-derivative"}, "mistake:output-derivative-missing",
     {"output": "sigmoid", "loss": "cross_entropy"}),
    ({"output-no-derivative"}, "mistake:output-derivative-missing",
     {"output": "softmax", "loss": "binary_cross_entropy"}),
    ({"half-dropped"}, "mistake:squared-error-half-dropped",
     {"hidden": "tanh", "output": "identity", "loss": "squared_error"}),
    ({"mean-over-outputs-no-half"}, "mistake:mean-over-outputs-without-half",
     {"hidden": "tanh", "output": "identity", "loss": "squared_error"}),
    ({"penalty-no-half"}, "mistake:penalty-without-half", {"l2": 0.7}),
    ({"bias-reg-layer1"}, "mistake:bias-of-one-layer-regularized", {"l2": 1.0}),
    ({"bias-reg-layer2"}, "mistake:bias-of-one-layer-regularized", {"hidden": "tanh", "l2": 1.0}),
    ({"update-order"}, "mistake:update-order", {}),
    ({"update-order"}, "mistake:update-order", {"hidden": "tanh", "l2": 0.4}),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("sizes,seed", [((3, 5, 3), 0), ((4, 6, 2), 1), ((5, 3, 4), 2)])
@pytest.mark.parametrize("plant,expected,kwargs", PLANTS, ids=lambda x: str(x) if isinstance(x, str) else None)
def test_planted_mistake_is_named(plant, expected, kwargs, sizes, seed, layout):
    if expected == "mistake:mean-over-outputs" and sizes[-1] == 1:
        pytest.skip("one output: nothing to average over")
    if expected == "mistake:mean-over-outputs-without-half" and sizes[-1] <= 2:
        pytest.skip("two outputs: mean((a - y)^2) = 1/2 sum (a - y)^2, nothing to see")
    cfg, theta, X, Y = problem(sizes, layout=layout, seed=seed, **kwargs)
    found = diagnose(cfg, theta, X, Y, plant)
    assert codes(found) == [expected], [d.message for d in found]
    evidence = found[0].evidence["gradient"]
    assert evidence["relative_error_to_mistake"] < 1e-6 < evidence["relative_error_to_correct"]
    assert found[0].fix and found[0].message


def test_the_place_and_the_rate_found_are_reported():
    cfg, theta, X, Y = problem((4, 6, 3), hidden="tanh", l2=1.0)
    [one_bias] = diagnose(cfg, theta, X, Y, {"bias-reg-layer2"})
    assert one_bias.evidence["parameters"] == {"layer": 2} and one_bias.block == "Theta2"
    assert "the biases of layer 2 regularised" in one_bias.message
    [update] = diagnose(cfg, theta, X, Y, {"update-order"})
    assert update.evidence["parameters"]["lr"] == pytest.approx(LR, rel=1e-8)
    assert "learning rate 0.3" in update.message
    assert update.evidence["gradient"]["block_errors_to_correct"]["Theta2"] < 1e-12  # layer 2 is right


@settings(max_examples=15, deadline=None)
@given(lr=st.floats(0.01, 3.0), seed=st.integers(0, 2 ** 16))
def test_the_update_steps_learning_rate_is_recovered(lr, seed):
    cfg, theta, X, Y = problem((3, 4, 3), hidden="tanh", l2=0.5, seed=seed)
    [finding] = diagnose({**cfg, "lr": lr}, theta, X, Y, {"update-order"})
    assert finding.code == "mistake:update-order"
    assert finding.evidence["parameters"]["lr"] == pytest.approx(lr, rel=1e-6)


def test_an_update_step_that_is_no_descent_is_not_the_update_order_slip():
    # the fit is only a learning rate: a negative one (the step taken uphill) is not this mistake
    cfg, theta, X, Y = problem((4, 6, 3), hidden="tanh")
    right = lambda t: user_gradient(t, X, Y, cfg)
    wrong = lambda t: user_gradient(t, X, Y, cfg, frozenset({"update-order"}))
    uphill = lambda t: 2 * right(t) - wrong(t)  # the same slip with learning rate -LR
    [finding] = match_reference(uphill, theta, dict(cfg), X, Y)
    assert finding.code == "reference-mismatch"


def deep_update_order_gradient(theta, X, Y, sizes, lr):
    """(theta - theta_new) / lr of an SGD step on a tanh/softmax net that updates each layer
    before passing its delta down; theta packed W1, b1, W2, b2, ... row-major."""
    shapes = [((o, i), (o,)) for i, o in zip(sizes[:-1], sizes[1:])]
    Ws, bs, start = [], [], 0
    for (w_shape, b_shape) in shapes:
        n = w_shape[0] * w_shape[1]
        Ws.append(theta[start:start + n].reshape(w_shape))
        bs.append(theta[start + n:start + n + b_shape[0]])
        start += n + b_shape[0]
    acts = [X]
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = acts[-1] @ W.T + b
        acts.append(softmax_rows(z) if l == len(Ws) - 1 else np.tanh(z))
    delta, new = (acts[-1] - Y) / len(X), [None] * len(Ws)
    for l in range(len(Ws) - 1, -1, -1):
        new[l] = (Ws[l] - lr * delta.T @ acts[l], bs[l] - lr * delta.sum(axis=0))
        delta = (delta @ new[l][0]) * (1 - acts[l] ** 2)  # from the updated W: the slip
    return (theta - np.concatenate([np.r_[W.ravel(), b] for W, b in new])) / lr


def test_update_order_in_a_deeper_network_is_fitted_beyond_the_first_step():
    # with two hidden layers the gradient is no longer affine in the rate: the fit iterates
    sizes = (4, 5, 6, 3)
    rng = np.random.default_rng(11)
    n_params = sum(o * (i + 1) for i, o in zip(sizes[:-1], sizes[1:]))
    theta, X = rng.uniform(-0.8, 0.8, n_params), rng.standard_normal((8, 4))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    spec = {"sizes": list(sizes), "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
            "layout": "C"}
    grad = lambda t: deep_update_order_gradient(t, X, Y, sizes, 0.7)
    [finding] = match_reference(grad, theta, spec, X, Y)
    assert finding.code == "mistake:update-order"
    assert finding.evidence["parameters"]["lr"] == pytest.approx(0.7, rel=1e-6)
    assert match_reference(lambda t: deep_update_order_gradient(t, X, Y, sizes, 1e-9), theta, spec,
                           X, Y) == []  # an infinitesimal step: the gradient itself


def test_squared_error_without_the_output_derivative_says_so():
    cfg, theta, X, Y = problem((4, 5, 3), output="sigmoid", loss="squared_error")
    [finding] = diagnose(cfg, theta, X, Y)  # the user's d3 = a - y
    assert finding.code == "mistake:output-delta-a-minus-y"
    assert "what is missing is the sigmoid output's derivative f'(z)" in finding.message


@pytest.mark.parametrize("output,loss,hidden,l2", [
    ("identity", "squared_error", "tanh", 0.8), ("sigmoid", "squared_error", "sigmoid", 0.5),
    ("sigmoid", "cross_entropy", "tanh", 0.3), ("softmax", "binary_cross_entropy", "relu", 0.0),
    ("sigmoid", "binary_cross_entropy", "tanh", 1.0)])
def test_the_libraries_own_gradient_and_cost_match_nothing(output, loss, hidden, l2):
    # the new entries apply here (squared error, non-fused outputs, l2): none may fit the right answer
    net = Network([4, 6, 5], hidden=hidden, output=output, loss=loss, l2=l2, seed=3, allow_unsafe=True)
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((9, 4)), rng.uniform(0.1, 0.9, (9, 5))
    objective = net.objective(X, Y)
    spec = {"sizes": [4, 6, 5], "hidden": hidden, "output": output, "loss": loss, "l2": l2,
            "layout": "C"}
    assert match_reference(objective.grad, net.theta.copy(), spec, X, Y, objective) == []


def test_relu_convention_without_zero_preactivations_is_not_a_mistake():
    # no z is exactly 0: relu'(0) = 1 leaves the gradient right, so nothing is reported
    cfg, theta, X, Y = problem((4, 6, 3), hidden="relu")
    assert diagnose(cfg, theta, X, Y, {"relu0-1"}) == []


def test_relu_convention_names_the_zero_units():
    cfg, theta, X, Y = problem((4, 6, 3), hidden="relu", layout="course", zero_row=True)
    [finding] = diagnose(cfg, theta, X, Y, {"relu0-1"})
    assert finding.block == "Theta1" and finding.indices
    assert all(col == 0 for _, col in finding.positions)  # the zero row only reaches the bias column


def test_two_mistakes_at_once_are_both_named():
    # report 000: softmax with the logistic cost, a - y, and sigmoid' in a tanh layer; with
    # the binary cost as the intended loss, the gradient holds two catalogued mistakes
    cfg, theta, X, Y = problem((4, 5, 3), hidden="tanh", loss="binary_cross_entropy")
    found = diagnose(cfg, theta, X, Y, {"sigmoid-derivative"})
    assert sorted(codes(found)) == ["mistake:output-delta-a-minus-y", "mistake:sigmoid-derivative"]
    assert found[0].evidence["together_with"] == [found[1].code]


def test_class_labels_work_like_one_hot_targets():
    cfg, theta, X, Y = problem((4, 5, 3), hidden="tanh")
    grad = lambda t: user_gradient(t, X, Y, cfg, frozenset({"sigmoid-derivative"}))
    by_labels = match_reference(grad, theta, dict(cfg), X, Y.argmax(axis=1))
    assert codes(by_labels) == codes(diagnose(cfg, theta, X, Y, {"sigmoid-derivative"}))


def test_a_small_residue_still_matches_when_far_closer_than_anything_else():
    # float32 arithmetic or a hand-made clip leave ~1e-5; the mistake is still plain to see
    cfg, theta, X, Y = problem((4, 5, 3), hidden="tanh")
    rng = np.random.default_rng(1)
    wrong = lambda t: user_gradient(t, X, Y, cfg, frozenset({"derivative-at-a"}))
    noisy = lambda t: wrong(t) * (1 + 1e-5 * rng.standard_normal(t.size))
    [finding] = match_reference(noisy, theta, dict(cfg), X, Y)
    assert finding.code == "mistake:derivative-at-activation"
    assert 1e-6 < finding.evidence["gradient"]["relative_error_to_mistake"] < 1e-4


def test_unknown_gradient_is_a_reference_mismatch():
    cfg, theta, X, Y = problem((3, 5, 3))
    right = lambda t: user_gradient(t, X, Y, cfg)
    [finding] = match_reference(lambda t: right(t) + 0.01 * np.cos(np.arange(t.size)), theta,
                                dict(cfg), X, Y)
    assert finding.code == "reference-mismatch"
    assert set(finding.evidence["block_errors_to_correct"]) == {"Theta1", "Theta2"}


# --- the cost side ---------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("sizes,seed", [((3, 5, 3), 0), ((6, 4, 5), 4)])
def test_logistic_cost_on_softmax_is_recognised(sizes, seed, layout):
    cfg, theta, X, Y = problem(sizes, hidden="tanh", l2=0.3, layout=layout, seed=seed)
    found = diagnose(cfg, theta, X, Y, cost_plant={"logistic-cost"})
    assert codes(found) == ["mistake:logistic-cost-on-softmax"]
    assert found[0].evidence["cost"]["mistake_cost"] == pytest.approx(found[0].evidence["cost"]["cost"])


def test_report_000_cost_and_gradient_mistakes_are_named_together():
    # tanh hidden + softmax meant with cross-entropy; cost is the logistic one, hidden delta sigmoid'
    cfg, theta, X, Y = problem((5, 4, 3), hidden="tanh", seed=9)
    found = diagnose(cfg, theta, X, Y, {"sigmoid-derivative"}, cost_plant={"logistic-cost"})
    assert codes(found) == ["mistake:sigmoid-derivative", "mistake:logistic-cost-on-softmax"]


@pytest.mark.parametrize("cost_plant,expected,kwargs", [
    ({"cost-missing-m"}, "mistake:missing-1/m", {}),
    ({"cost-softmax-twice"}, "mistake:softmax-twice-in-cost", {"hidden": "tanh"}),
    ({"cost-half-dropped"}, "mistake:squared-error-half-dropped",
     {"output": "identity", "loss": "squared_error"}),
    ({"cost-mean-over-outputs-no-half"}, "mistake:mean-over-outputs-without-half",
     {"output": "identity", "loss": "squared_error"}),
    ({"cost-bias-penalty"}, "mistake:biases-regularized-in-cost", {"l2": 1.5}),
    ({"cost-penalty-no-half"}, "mistake:penalty-without-half", {"l2": 1.5}),
    ({"cost-mean-over-outputs"}, "mistake:mean-over-outputs", {"output": "identity", "loss": "squared_error"}),
    ({"cost-squared-error"}, "mistake:cost-uses-squared-error",
     {"output": "sigmoid", "loss": "binary_cross_entropy"}),
    ({"cost-cross-entropy"}, "mistake:cost-uses-cross-entropy",
     {"output": "sigmoid", "loss": "binary_cross_entropy"}),
    # this user's backprop always starts from a - y, which sigmoid + squared error does not allow
    ({"cost-binary-cross-entropy"},
     ["mistake:output-delta-a-minus-y", "mistake:cost-uses-binary-cross-entropy"],
     {"output": "sigmoid", "loss": "squared_error"}),
])
def test_cost_mistakes_are_recognised(cost_plant, expected, kwargs):
    cfg, theta, X, Y = problem((4, 5, 3), seed=5, **kwargs)
    expected = expected if isinstance(expected, list) else [expected]
    assert codes(diagnose(cfg, theta, X, Y, cost_plant=cost_plant)) == expected


def test_sign_error_in_cost_and_gradient_is_one_finding():
    cfg, theta, X, Y = problem((3, 5, 3), output="sigmoid", loss="binary_cross_entropy")
    [finding] = diagnose(cfg, theta, X, Y, {"sign-sigmoid"}, cost_plant={"sign-sigmoid"})
    assert finding.code == "mistake:sigmoid-sign-error"
    assert set(finding.evidence) >= {"gradient", "cost"}
    assert finding.message.startswith("Your gradient and cost")


@pytest.mark.parametrize("plant,expected,kwargs", [
    ({"half-dropped", "cost-half-dropped"}, "mistake:squared-error-half-dropped",
     {"output": "identity", "loss": "squared_error"}),
    ({"penalty-no-half", "cost-penalty-no-half"}, "mistake:penalty-without-half", {"l2": 0.9}),
])
def test_a_slip_made_in_cost_and_gradient_alike_is_one_finding(plant, expected, kwargs):
    cfg, theta, X, Y = problem((4, 5, 3), seed=6, **kwargs)
    gradient_side = {p for p in plant if not p.startswith("cost-")}
    [finding] = diagnose(cfg, theta, X, Y, gradient_side, cost_plant=plant - gradient_side)
    assert finding.code == expected and finding.message.startswith("Your gradient and cost")


def test_biases_in_both_penalties_are_named_on_each_side():
    # regularising the biases in cost and gradient is the library's penalty applied to them too
    cfg, theta, X, Y = problem((4, 5, 3), l2=1.0, seed=6)
    found = diagnose(cfg, theta, X, Y, {"bias-reg"}, cost_plant={"cost-bias-penalty"})
    assert codes(found) == ["mistake:biases-regularized", "mistake:biases-regularized-in-cost"]


def test_slipped_cost_adds_the_penalties_by_hand():
    # hand-worked: l2 = 2, m = 4, scale 1/4: biases b1 = [1, 2], b2 = [3] add 2/2 * 14 / 4 = 3.5
    net = Network([1, 2, 1], hidden="identity", output="identity", loss="squared_error", l2=2.0)
    theta = np.array([1.0, -1.0, 1.0, 2.0, 0.5, 0.5, 3.0])  # W1 (2x1), b1, W2 (1x2), b2
    X, Y = np.zeros((4, 1)), np.zeros((4, 1))  # outputs all b2 = 3 after W2 b1: a = 0.5 + 1 + 3
    base = slipped_cost(net, theta, X, Y)
    assert base == pytest.approx(0.5 * 4.5 ** 2 + 0.5 * 2 * (1 + 1 + 0.25 + 0.25) / 4)
    assert slipped_cost(net, theta, X, Y, Slip(regularize_biases=True)) - base == pytest.approx(3.5)
    assert slipped_cost(net, theta, X, Y, Slip(regularize_biases=(1,))) - base == pytest.approx(2.25)
    assert slipped_cost(net, theta, X, Y, Slip(penalty_factor=2.0)) - base == pytest.approx(0.625)


def test_unknown_cost_is_a_reference_cost_mismatch():
    cfg, theta, X, Y = problem((3, 5, 3))
    grad = lambda t: user_gradient(t, X, Y, cfg)
    found = match_reference(grad, theta, dict(cfg), X, Y, lambda t: 1.2345)
    assert codes(found) == ["reference-cost-mismatch"]


# --- the catalogue itself -----------------------------------------------------------------------

@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=lambda m: m.code)
def test_every_entry_is_complete(mistake):
    assert mistake.code.startswith("mistake:") and mistake.title and mistake.explanation and mistake.fix
    assert set(mistake.sides) <= {"gradient", "cost"} and mistake.sides
    net = Network([3, 4, 3], hidden="tanh", output="softmax", loss="cross_entropy", l2=1.0)
    assert all("{" not in text for text in mistake.describe(net))


def test_the_readme_lists_every_catalogued_mistake():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    missing = [code for code in MISTAKES if f"| `{code}` |" not in readme]
    assert not missing, f"README's reference-mode table lacks {missing}"


def test_combining_slips_refuses_a_shared_hook():
    a, b = get_mistake("sigmoid-derivative").slip, get_mistake("derivative-at-activation").slip
    assert a.combine(b) is None
    assert Slip(regularize_biases=True).combine(Slip(loss="squared_error")) == Slip(
        regularize_biases=True, loss="squared_error")


def test_unknown_names_and_bad_specs_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean"):
        get_mistake("missing-1/n")
    cfg, theta, X, Y = problem((3, 5, 3))
    with pytest.raises(ConfigError, match="layout"):
        match_reference(lambda t: t, theta, {**cfg, "layout": "octave"}, X, Y)
    with pytest.raises(ConfigError, match="sizes"):
        match_reference(lambda t: t, theta, {**cfg, "sizes": [3, 4, 3]}, X, Y)


def test_findings_are_json_ready():
    import json

    cfg, theta, X, Y = problem((3, 5, 3), hidden="relu", zero_row=True)
    for d in diagnose(cfg, theta, X, Y, {"relu0-half"}, cost_plant={"logistic-cost"}):
        assert isinstance(d, Diagnosis)
        json.dumps(d.to_dict(), allow_nan=False)
