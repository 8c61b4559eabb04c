"""The structure-aware evaluator equals the plain loop; check_gradient picks it; workers=N."""
import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

from gradcheck.check import fast as fastcheck
from gradcheck.check.fast import (
    PLAIN,
    STRUCTURED,
    numerical_evaluator,
    parallel_gradient,
    structured_gradient,
)
from gradcheck.check.gradient import check_gradient, check_network
from gradcheck.check.matrix import draw_problem
from gradcheck.check.numerical import numerical_gradient, relative_error
from gradcheck.errors import ConfigError
from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.losses import LOSSES, pair
from gradcheck.nn.network import Objective

PAIRINGS = [(o, loss) for o in ACTIVATIONS for loss in LOSSES if pair(o, loss).status != "refused"]
REFUSED = [(o, loss) for o in ACTIVATIONS for loss in LOSSES if pair(o, loss).status == "refused"]
UNIT = np.finfo(np.float64).eps / 2


def _problem(sizes=(5, 4, 3), hidden="tanh", output="softmax", loss="cross_entropy", m=9,
             seed=0, sparse=True, **kwargs):
    net, X, Y, _ = draw_problem(list(sizes), hidden, output, loss, m, seed, **kwargs)
    if sparse:  # zero inputs exercise the skipped samples; no kink sits at a zero input
        X = np.where(np.abs(X) < 0.4, 0.0, X)
    return net.objective(X, Y), net.theta.copy()


def _assert_agree(objective, theta, eps=1e-3, n_sampled=40, seed=0):
    """Structured vs plain on sampled coordinates: 1e-9 relative, plus the plain loop's
    own round-off (its two costs each rounded by a few u (1 + |J|), divided by 2 eps)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(theta.size, min(n_sampled, theta.size), replace=False)
    plain = numerical_gradient(objective, theta, eps, indices=idx)[idx]
    fast = structured_gradient(objective, theta, eps)[idx]
    J = objective(theta)
    roundoff = 8 * UNIT * (1 + abs(J)) / eps
    bad = np.abs(fast - plain) > 1e-9 * np.abs(plain) + roundoff
    assert not bad.any(), f"coordinates {idx[bad]}: structured {fast[bad]} vs plain {plain[bad]}"
    assert relative_error(fast, plain) <= 1e-9


@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
def test_agrees_with_plain_for_every_hidden_activation(hidden):
    _assert_agree(*_problem(hidden=hidden, l2=0.3))


@pytest.mark.parametrize("output,loss", PAIRINGS)
def test_agrees_with_plain_for_every_output_and_loss(output, loss):
    sizes = (5, 4, 3) if output == "softmax" else (5, 4, 2)
    _assert_agree(*_problem(sizes=sizes, hidden="sigmoid", output=output, loss=loss))


@pytest.mark.parametrize("output,loss", PAIRINGS + REFUSED[:3])
def test_its_forward_pass_gives_the_networks_cost_bitwise(output, loss):
    # the network's own forward pass and per-sample loss: the stable form from z wherever the
    # pairing has one (softmax + binary_cross_entropy too, whose saturated outputs a log of
    # the activations would clip), so the cost is not merely close
    sizes = (5, 4, 3) if output == "softmax" else (5, 4, 2)
    objective, theta = _problem(sizes=sizes, hidden="tanh", output=output, loss=loss, l2=0.2,
                                allow_unsafe=(output, loss) in REFUSED)
    for scale in (1.0, 20.0):  # 20: outputs saturate
        saturated = objective.net.objective(objective.X * scale, objective.Y)
        assert fastcheck._trace(saturated, theta * scale, 1e-6).cost == saturated(theta * scale)


@pytest.mark.parametrize("output,loss", REFUSED[:3])
def test_agrees_with_plain_for_a_refused_pairing_allowed_unsafe(output, loss):
    _assert_agree(*_problem(output=output, loss=loss, allow_unsafe=True))


@pytest.mark.parametrize("sizes", [(6, 3), (5, 4, 3), (5, 4, 3, 3), (4, 3, 5, 2, 3)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("l2", [0.0, 2.0])
def test_agrees_with_plain_for_depths_reductions_and_l2(sizes, reduction, l2):
    _assert_agree(*_problem(sizes=sizes, hidden="elu", reduction=reduction, l2=l2))


def test_agrees_at_the_default_step_within_the_plain_loops_round_off():
    objective, theta = _problem(sizes=(8, 6, 4), m=30)
    plain = numerical_gradient(objective, theta)
    fast = structured_gradient(objective, theta)
    assert relative_error(fast, plain) <= 1e-7
    assert relative_error(fast, objective.grad(theta)) <= 1e-7


@pytest.mark.parametrize("knob,value", [("_SERIES_MAX_ARG", 0.0), ("_EXP_SAFE", 0.0),
                                        ("_STACK_ELEMENTS", 1), ("_TASK_ELEMENTS", 1)])
def test_every_kernel_and_batching_gives_the_same_values(monkeypatch, knob, value):
    # series -> exp kernel -> stacked recomputation; one column per task; one unit per stack
    objective, theta = _problem(sizes=(6, 5, 4), hidden="sigmoid", m=12)
    reference = structured_gradient(objective, theta, 1e-3)
    monkeypatch.setattr(fastcheck, knob, value)
    _assert_agree(objective, theta)
    np.testing.assert_allclose(structured_gradient(objective, theta, 1e-3), reference, rtol=1e-9, atol=1e-12)


def test_large_inputs_take_the_exact_exp_kernel_and_still_agree():
    objective, theta = _problem(sizes=(6, 5, 4), hidden="sigmoid", m=12)
    big = Objective(objective.net, objective.X * 3e3, objective.Y)
    _assert_agree(big, theta)


def test_float32_network_is_differenced_in_float64():
    net, X, Y, _ = draw_problem([5, 4, 3], "tanh", "softmax", "cross_entropy", 9, 0, dtype=np.float32)
    objective = net.objective(X, Y)
    _assert_agree(objective, net.theta.astype(np.float64))


def test_indices_give_those_coordinates_and_zero_elsewhere():
    objective, theta = _problem(sizes=(6, 5, 3))
    idx = np.array([0, 7, 29, 30, 34, 40, theta.size - 1])
    full = structured_gradient(objective, theta)
    part = structured_gradient(objective, theta, indices=idx)
    np.testing.assert_array_equal(part[idx], full[idx])
    assert np.count_nonzero(np.delete(part, idx)) == 0


def test_an_input_column_that_is_always_zero_has_only_the_penalty():
    objective, theta = _problem(sizes=(5, 4, 3), l2=0.5)
    X = objective.X.copy()
    X[:, 2] = 0.0
    objective = Objective(objective.net, X, objective.Y)
    W1 = objective.net.param_blocks()["W1"]
    grad = structured_gradient(objective, theta).reshape(-1)[W1.slice].reshape(W1.shape)
    expected = 0.5 * theta[W1.slice].reshape(W1.shape)[:, 2] / len(X)  # l2 * scale * w
    np.testing.assert_allclose(grad[:, 2], expected, rtol=1e-8)


# --- choosing the evaluator ------------------------------------------------------------

def test_check_network_uses_the_structured_evaluator_and_says_so():
    objective, theta = _problem()
    report = check_network(objective.net, objective.X, objective.Y, theta=theta)
    assert report.evaluator == STRUCTURED and report.passed


def test_structured_evaluator_still_catches_a_planted_bad_coordinate():
    objective, theta = _problem(sizes=(6, 5, 3))

    def wrong_grad(t):
        g = objective.grad(t)
        g[11] += 0.01
        return g

    report = check_gradient(objective, wrong_grad, theta, blocks=objective.net.param_blocks())
    assert report.evaluator == STRUCTURED
    assert not report.passed and report.mismatched.tolist() == [11]


def test_a_plain_function_keeps_the_plain_loop():
    report = check_gradient(rosen, rosen_der, np.array([0.3, -0.2, 0.5]))
    assert report.evaluator == PLAIN and report.passed


class _ShiftedObjective(Objective):
    """A subclass whose cost differs from the network's: the structure must not be trusted."""

    def __call__(self, theta):
        return super().__call__(theta) + 0.1 * float(theta[0]) ** 2


def test_an_objective_whose_cost_differs_from_its_network_gets_the_plain_loop(monkeypatch):
    objective, theta = _problem()
    shifted = _ShiftedObjective(objective.net, objective.X, objective.Y)
    assert numerical_evaluator(shifted, theta)[1] == PLAIN
    monkeypatch.setattr(fastcheck, "supports_structure", lambda f: True)  # even if admitted
    numerical, evaluator = numerical_evaluator(shifted, theta)
    assert evaluator == PLAIN
    np.testing.assert_array_equal(numerical, numerical_gradient(shifted, theta))


# --- the plain loop over processes -----------------------------------------------------

def test_workers_give_exactly_the_serial_values():
    objective, theta = _problem(sizes=(4, 3, 2))
    np.testing.assert_array_equal(parallel_gradient(objective, theta, workers=2),
                                  numerical_gradient(objective, theta))
    x = np.linspace(-1, 1, 7)
    np.testing.assert_array_equal(parallel_gradient(rosen, x, workers=2, indices=[1, 4]),
                                  numerical_gradient(rosen, x, indices=[1, 4]))


def test_check_gradient_with_workers_reports_the_processes():
    report = check_gradient(rosen, rosen_der, np.linspace(-1, 1, 6), workers=2)
    assert report.evaluator == f"{PLAIN}, 2 processes" and report.passed


def test_an_unpicklable_function_with_workers_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="cannot be pickled"):
        check_gradient(lambda x: float(x @ x), lambda x: 2 * x, np.ones(3), workers=2)


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2"])
def test_bad_worker_counts_are_config_errors(workers):
    with pytest.raises(ConfigError, match="workers"):
        check_gradient(rosen, rosen_der, np.ones(3), workers=workers)


def test_structured_gradient_refuses_a_plain_function():
    with pytest.raises(ConfigError, match="Network objective"):
        structured_gradient(rosen, np.ones(3))

