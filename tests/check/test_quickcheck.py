"""quick_check: no false alarms on correct gradients; bisection finds planted bad coordinates."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import rosen, rosen_der

from gradcheck.check.matrix import draw_problem
from gradcheck.check.quick import QuickReport, quick_check
from gradcheck.errors import ConfigError
from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.losses import LOSSES, pair

ACCEPTED = [(o, loss) for o in ACTIVATIONS for loss in LOSSES if pair(o, loss).status != "refused"]


def _network(sizes=(30, 12, 5), hidden="tanh", m=40, seed=0):
    net, X, Y, _ = draw_problem(list(sizes), hidden, "softmax", "cross_entropy", m, seed)
    return net, net.objective(X, Y)


def _planted(objective, wrong: dict):
    """The objective's gradient with ``wrong[i]`` added at each index ``i``."""
    def grad(theta):
        g = objective.grad(theta)
        for i, delta in wrong.items():
            g[i] += delta
        return g
    return grad


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    widths=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    hidden=st.sampled_from(sorted(ACTIVATIONS)),
    pairing=st.sampled_from(ACCEPTED),
    l2=st.sampled_from([0.0, 0.1, 3.0]),
    reduction=st.sampled_from(["mean", "sum"]),
    m=st.integers(1, 8),
    seed=st.integers(0, 2**16),
    k=st.integers(1, 4),
)
def test_no_false_alarm_on_correct_networks(widths, hidden, pairing, l2, reduction, m, seed, k):
    output, loss = pairing
    n_out = max(widths[-1], 2) if output == "softmax" else widths[-1]
    sizes = [*widths[:-1], n_out]
    net, X, Y, _ = draw_problem(sizes, hidden, output, loss, m, seed, l2=l2, reduction=reduction)
    objective = net.objective(X, Y)
    report = quick_check(objective, objective.grad, net.theta, k=k, seed=seed)
    assert report.passed, (sizes, hidden, output, loss, report.errors, report.allowed)
    assert report.n_evaluations == 2 * k and report.located.size == 0


@pytest.mark.parametrize("index", [0, 17, 250, 359, 360, 371, 372, 431, 432, 436])  # edges of W1 b1 W2 b2
def test_a_single_wrong_coordinate_is_located_in_any_block(index):
    net, objective = _network()
    grad = _planted(objective, {index: 1e-3})
    report = quick_check(objective, grad, net.theta)
    assert not report.passed
    assert report.located.tolist() == [index]
    block = next(b for b in net.param_blocks().values() if b.start <= index < b.stop)
    assert report.labels == [block.label(index)]
    # about 2 log2(P) evaluations, not 2 P
    assert report.n_evaluations <= 2 * 3 + 4 + 2 * (int(np.log2(net.n_params)) + 3)


def test_several_wrong_coordinates_are_all_located():
    net, objective = _network()
    wrong = {3: 2e-3, 200: -1e-3, 365: 5e-4, 401: 1e-2, 434: -3e-3}
    report = quick_check(objective, _planted(objective, wrong), net.theta)
    assert report.located.tolist() == sorted(wrong)


def test_a_whole_wrong_row_is_located():
    net, objective = _network()
    W1 = net.param_blocks()["W1"]
    row = range(W1.start + 4 * 30, W1.start + 5 * 30)  # W1[4, :]
    offsets = np.random.default_rng(1).uniform(1e-3, 2e-3, len(row))
    report = quick_check(objective, _planted(objective, dict(zip(row, offsets))), net.theta)
    assert report.located.tolist() == list(row)
    assert report.labels[0] == "W1[4, 0]" and report.labels[-1] == "W1[4, 29]"


def test_a_wrong_coordinate_is_found_from_any_seed():
    net, objective = _network(sizes=(20, 8, 4))
    grad = _planted(objective, {77: 5e-4})
    for seed in range(8):
        assert quick_check(objective, grad, net.theta, seed=seed).located.tolist() == [77]


def test_non_finite_gradient_entries_are_located_without_search():
    net, objective = _network(sizes=(6, 4, 3))
    report = quick_check(objective, _planted(objective, {5: np.nan, 9: np.inf}), net.theta)
    assert not report.passed and report.located.tolist() == [5, 9]
    assert report.n_evaluations == 6  # the rest of the gradient is right: no bisection


def test_the_search_stops_at_max_located_and_reports_what_is_left():
    net, objective = _network()
    wrong = {i: 1e-3 for i in range(100, 130)}
    report = quick_check(objective, _planted(objective, wrong), net.theta, max_located=4)
    assert report.located.size == 4 and set(report.located) <= set(wrong)
    left = {i for a, b in report.unresolved for i in range(a, b)}
    assert set(wrong) - set(report.located) <= left
    W1 = net.param_blocks()["W1"]  # 30 inputs a row: index i is W1[i // 30, i % 30]
    assert report.unresolved_labels == [
        W1.label(a) if b - a == 1 else f"W1[{a // 30}, {a % 30}] .. W1[{(b - 1) // 30}, {(b - 1) % 30}]"
        for a, b in report.unresolved]


def test_without_locate_only_the_directions_are_checked():
    net, objective = _network()
    report = quick_check(objective, _planted(objective, {10: 1e-3}), net.theta, k=2, locate=False)
    assert not report.passed and report.located.size == 0 and report.n_evaluations == 4 + 4


# --- any function ------------------------------------------------------------------------

def test_black_box_function_passes_and_a_wrong_partial_is_labelled_by_block():
    x = np.linspace(-1.2, 1.1, 12)
    assert quick_check(rosen, rosen_der, x).passed

    def wrong(t):
        g = rosen_der(t)
        g[7] *= 1.01
        return g

    report = quick_check(rosen, wrong, x, blocks={"A": (2, 3), "B": (6,)})
    assert report.located.tolist() == [7] and report.labels == ["B[1]"]


def test_a_float32_cost_gets_a_float32_round_off_allowance():
    A = np.random.default_rng(0).standard_normal((20, 20))
    A = A @ A.T

    def f32(x):
        x32 = x.astype(np.float32)
        return np.float32(0.5) * x32 @ (A.astype(np.float32) @ x32)

    x = np.random.default_rng(1).standard_normal(20)
    assert quick_check(f32, lambda t: A @ t, x, eps=1e-3).passed


def test_cost_returning_value_and_gradient_needs_no_grad_function():
    x = np.linspace(-1, 1, 5)
    report = quick_check(lambda t: (rosen(t), rosen_der(t)), None, x)
    assert report.passed


def test_report_is_json_ready():
    net, objective = _network(sizes=(6, 4, 3))
    report = quick_check(objective, _planted(objective, {2: 1e-2}), net.theta)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["located"] == [{"index": 2, "label": "W1[0, 2]"}] and not data["passed"]
    assert isinstance(report, QuickReport) and len(data["directions"]) == 3


@pytest.mark.parametrize("kwargs,match", [({"k": 0}, "k must"), ({"eps": 0.0}, "eps must"),
                                          ({"max_located": 0}, "max_located")])
def test_bad_arguments_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        quick_check(rosen, rosen_der, np.ones(3), **kwargs)


def test_a_float32_cost_too_coarse_to_decide_is_inconclusive_not_agree():
    """At eps 1e-5 a float32 cost's round-off tolerates more than the derivatives: a gradient
    1.5 times too large would pass; the report says the check cannot decide instead."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((50, 20))
    theta = 0.1 * rng.standard_normal(20)

    def cost32(t):
        r = A.astype(np.float32) @ t.astype(np.float32)
        return np.float32(0.5) * np.sum(r * r, dtype=np.float32)

    def grad(t):
        return A.T @ (A @ t)

    for g in (grad, lambda t: 1.5 * grad(t)):
        report = quick_check(cost32, g, theta)
        assert not report.passed and "computed in float32" in report.inconclusive
    report = quick_check(lambda t: 0.5 * float((A @ t) @ (A @ t)), grad, theta)  # float64
    assert report.passed and report.inconclusive is None
