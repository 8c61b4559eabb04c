"""The doctor: each planted mistake yields exactly its code; correct gradients yield none."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.special import expit

from gradcheck.check.doctor.detectors import DETECTORS, check_arrays, diagnose
from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.gradient import check_gradient, check_network
from gradcheck.check.jacobian import check_jacobian
from gradcheck.check.matrix import draw_problem, pairing_matrix
from gradcheck.nn.activations import softmax
from gradcheck.nn.losses import LOSSES
from gradcheck.nn.network import Network

REPORTS = Path(__file__).parents[2] / "fixtures" / "reports"
SIZES = [(3, 4, 2), (5, 3, 3)]
SEEDS = [0, 1]


def codes(report) -> list[str]:
    return [d.code for d in report.diagnoses]


def problem(sizes, seed, hidden="sigmoid", l2=0.5, m=6):
    net, X, Y, _ = draw_problem(list(sizes), hidden, "softmax", "cross_entropy", m, seed, l2=l2)
    return net, X, Y, net.objective(X, Y), net.theta.copy()


def planted(sizes, seed, mistake, **kwargs):
    """Check the network's own gradient after ``mistake(grad, blocks, theta)`` edits it."""
    net, X, Y, obj, theta = problem(sizes, seed, **kwargs)
    blocks = net.param_blocks()

    def wrong(t):
        g = obj.grad(t)
        mistake(g, blocks, t)
        return g

    return check_gradient(obj, wrong, theta, blocks=blocks, n_samples=len(X))


def _negate_w2(g, b, t):
    g[b["W2"].slice] *= -1


def _zero_w1(g, b, t):
    g[b["W1"].slice] = 0


def _transpose_w1(g, b, t):
    g[b["W1"].slice] = b["W1"].matrix(g).ravel(order="F")


def _regularise_biases(g, b, t):
    for name in ("b1", "b2"):
        g[b[name].slice] += 0.5 / 6 * t[b[name].slice]  # l2 / m on the biases too


def _two_entries_wrong(g, b, t):
    g[b["W1"].slice.start + 1] += 0.05
    g[b["W2"].slice.start + 2] -= 0.05


def _w2_of_another_function(g, b, t):
    w2 = b["W2"].slice
    g[w2] *= 1 + 0.5 * np.sin(np.arange(w2.stop - w2.start))  # factors 0.5 .. 1.5


def _all_of_another_function(g, b, t):
    g *= 1 + 0.5 * np.sin(np.arange(g.size))


def _nan_entry(g, b, t):
    g[3] = np.nan


def _penalise_biases_in_cost(g, b, t):
    for name in ("b1", "b2"):
        g[b[name].slice] -= 0.5 / 6 * t[b[name].slice]  # the cost penalises them, the gradient not


def _constant_on_biases(g, b, t):
    for name in ("b1", "b2"):
        g[b[name].slice] += 0.5 / 6  # a penalty built with ones where the biases' 0 belongs


def _l2_too_large_in_w1(g, b, t):
    g[b["W1"].slice] += 0.25 * t[b["W1"].slice]  # lambda theta where lambda/m theta belongs


def _rows_of_w1_zero(g, b, t):
    w1 = b["W1"]
    g[w1.start + w1.shape[1]:w1.start + 3 * w1.shape[1]] = 0.0  # rows 1-2 never written


def _data_term_of_w2_flipped(g, b, t):
    w2 = b["W2"]
    g[w2.slice] = -g[w2.slice] + 2 * 0.5 / 6 * t[w2.slice]  # the L2 term (l2/m) theta kept its sign


PLANTS = {
    "bias-regularized-in-cost": _penalise_biases_in_cost,
    "bias-constant": _constant_on_biases,
    "regularization-mismatch": _l2_too_large_in_w1,
    "range-mismatch": _rows_of_w1_zero,
    "sign-flip:data-term": _data_term_of_w2_flipped,
    "isolated-coordinates": _two_entries_wrong,
    "block-mismatch": _w2_of_another_function,
    "different-function": _all_of_another_function,
    "non-finite": _nan_entry,
    "sign-flip": lambda g, b, t: g.__imul__(-1),
    "sign-flip:W2": _negate_w2,
    "scale-factor": lambda g, b, t: g.__imul__(6.0),  # a missing 1/m with m = 6
    "zero-gradient": _zero_w1,
    "transposed": _transpose_w1,
    "bias-regularized": _regularise_biases,
}


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_planted_gradient_mistake_gives_exactly_its_code(plant, sizes, seed):
    report = planted(sizes, seed, PLANTS[plant])
    assert not report.passed
    assert codes(report) == [plant.split(":")[0]], [d.message for d in report.diagnoses]


@pytest.mark.parametrize("sizes", SIZES)
def test_planted_offsets_are_measured(sizes):
    """c, gamma and the rows are read off the relation, not assumed."""
    in_cost = planted(sizes, 0, _penalise_biases_in_cost).diagnoses[0]
    assert in_cost.evidence["c"] == pytest.approx(-0.5 / 6, rel=1e-5) and in_cost.block is None
    assert "lambda = 0.5 for m = 6" in in_cost.message
    constant = planted(sizes, 0, _constant_on_biases).diagnoses[0]
    assert constant.evidence["gamma"] == pytest.approx(0.5 / 6, rel=1e-5)
    l2 = planted(sizes, 0, _l2_too_large_in_w1).diagnoses[0]
    assert l2.block == "W1" and l2.evidence["c"] == pytest.approx(0.25, rel=1e-5)
    rows = planted(sizes, 0, _rows_of_w1_zero).diagnoses[0]
    assert rows.block == "W1" and "rows 1-2 of W1" in rows.message and "all 0" in rows.message


def test_a_flipped_data_term_beside_an_unflipped_penalty_is_one_sign_flip_with_its_l2_term():
    [finding] = planted((3, 4, 2), 0, _data_term_of_w2_flipped).diagnoses
    assert finding.block == "W2" and "data term" in finding.message
    [part] = finding.evidence["parts"]
    assert part["k"] == pytest.approx(-1, rel=1e-6) and part["c"] == pytest.approx(2 * 0.5 / 6, rel=1e-5)
    assert "L2 term (0.08333 theta) is not flipped" in finding.message


def test_several_slips_are_each_named_with_their_block():
    def two(g, b, t):
        g[b["W1"].slice] *= 6.0                 # W1 not divided by m
        g[b["b2"].slice] += 0.5 / 6 * t[b["b2"].slice]  # b2 penalised in the gradient only
    report = planted((3, 4, 2), 0, two)
    assert sorted((d.code, d.block) for d in report.diagnoses) == [
        ("bias-regularized", "b2"), ("scale-factor", "W1")]


def test_sign_flip_in_one_block_names_it_and_the_agreeing_blocks():
    report = planted((3, 4, 2), 0, _negate_w2)
    finding = report.diagnoses[0]
    assert finding.block == "W2" and "W1 agrees" in finding.message


def test_scale_factor_names_m_and_reports_k():
    report = planted((3, 4, 2), 0, PLANTS["scale-factor"])
    finding = report.diagnoses[0]
    assert finding.evidence["k"] == pytest.approx(6.0, rel=1e-6)
    assert "m" in finding.evidence["meanings"] and "divide it by m" in finding.fix


def test_scale_factor_names_the_number_of_outputs():
    report = planted((5, 3, 3), 1, lambda g, b, t: g.__imul__(3.0))
    assert codes(report) == ["scale-factor"] and report.diagnoses[0].evidence["meanings"] == ["n_outputs"]


def test_uncorrelated_when_the_gradient_belongs_to_another_function():
    perm = np.random.default_rng(3).permutation(26)
    report = planted((3, 4, 2), 0, lambda g, b, t: g.__setitem__(slice(None), g[perm]))
    assert codes(report) == ["uncorrelated"]


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
def test_cost_and_gradient_of_different_losses_give_different_function(sizes, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, sizes[0]))
    Y = rng.integers(0, 2, (6, sizes[-1])).astype(float)
    se = Network(list(sizes), output="sigmoid", loss="squared_error", seed=seed)
    bce = Network(list(sizes), output="sigmoid", loss="binary_cross_entropy", seed=seed)
    report = check_gradient(se.objective(X, Y), bce.objective(X, Y).grad, se.theta,
                            blocks=se.param_blocks())
    assert codes(report) == ["different-function"]


# --- the course's layout, written by hand: Theta = [b W], unrolled column-major -------------

def course_cost_grad(sizes, X, Y, lam, mistake=None):
    """A sigmoid/sigmoid network with the logistic cost, as in the course; ``mistake`` plants one."""
    m = len(X)
    shapes = [(o, i + 1) for i, o in zip(sizes[:-1], sizes[1:])]
    cuts = np.cumsum([0] + [r * c for r, c in shapes])

    def thetas(theta):
        return [theta[a:b].reshape(s, order="F") for a, b, s in zip(cuts[:-1], cuts[1:], shapes)]

    def cost_grad(theta):
        T1, T2 = thetas(theta)
        a1 = np.hstack([np.ones((m, 1)), X])
        z2 = a1 @ T1.T
        a2 = np.hstack([np.ones((m, 1)), expit(z2)])
        h = expit(a2 @ T2.T)
        penalty = lam / (2 * m) * (np.sum(T1[:, 1:] ** 2) + np.sum(T2[:, 1:] ** 2))
        J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m + penalty
        d3 = h - Y
        s = expit(expit(z2)) if mistake == "derivative-at-a" else expit(z2)  # sigma'(a), not sigma'(z)
        d2 = (d3 @ T2[:, 1:]) * s * (1 - s)
        grads = [d2.T @ a1 / m, d3.T @ a2 / m]
        first = 0 if mistake == "bias-regularized" else 1
        for G, T in zip(grads, (T1, T2)):
            G[:, first:] += lam / m * T[:, first:]
        return J, np.concatenate([G.ravel(order="F") for G in grads])

    blocks = {f"Theta{l}": s for l, s in enumerate(shapes, start=1)}
    return cost_grad, blocks


def course_problem(sizes, seed, mistake=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((7, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 7)]
    f, blocks = course_cost_grad(sizes, X, Y, 1.0, mistake)
    theta = rng.uniform(-0.5, 0.5, sum(r * c for r, c in blocks.values()))
    return check_gradient(f, None, theta, blocks=blocks, order="F", n_samples=7)


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mistake,expected", [(None, []), ("derivative-at-a", ["block-mismatch"]),
                                              ("bias-regularized", ["bias-regularized"])])
def test_course_layout_mistakes(sizes, seed, mistake, expected):
    report = course_problem(sizes, seed, mistake)
    assert codes(report) == expected, [d.message for d in report.diagnoses]
    assert report.passed == (mistake is None)


def test_block_mismatch_names_the_disagreeing_and_the_agreeing_block():
    finding = course_problem((3, 4, 2), 0, "derivative-at-a").diagnoses[0]
    assert finding.block == "Theta1" and "Theta2 agrees" in finding.message


def test_bias_regularized_reports_lambda_over_m():
    finding = course_problem((3, 4, 2), 0, "bias-regularized").diagnoses[0]
    assert finding.evidence["c"] == pytest.approx(1.0 / 7, rel=1e-4)
    assert all(pos[1] == 0 for pos in finding.positions)  # column 0 of each Theta: the bias


# --- detectors that re-evaluate the cost ----------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_nondeterministic_cost(seed):
    _, X, _, obj, theta = problem((3, 4, 2), seed)
    noise = np.random.default_rng(seed)  # drawn anew on every call, like dropout
    report = check_gradient(lambda t: obj(t) + 1e-7 * noise.standard_normal(), obj.grad, theta)
    assert codes(report) == ["nondeterministic"]
    assert report.diagnoses[0].evidence["noise"] > 0


@pytest.mark.parametrize("sizes", SIZES)
def test_float32_cost_is_low_precision_and_goes_away_with_a_suited_step(sizes):
    net, X, Y, obj, theta = problem(sizes, 0)
    report = check_gradient(lambda t: net.loss(X, Y, t.astype(np.float32)), obj.grad, theta)
    assert codes(report) == ["low-precision"]
    assert report.diagnoses[0].evidence["goes_away"] is True


@pytest.mark.parametrize("eps,regime", [(3e-2, "truncation"), (1e-13, "round-off")])
def test_step_size_sweep_finds_the_regime_and_a_better_eps(eps, regime):
    _, _, _, obj, theta = problem((3, 4, 2), 1)
    report = check_gradient(obj, obj.grad, theta, eps=eps)
    assert codes(report) == ["step-size"]
    evidence = report.diagnoses[0].evidence
    assert regime in evidence["regime"] and 1e-10 <= evidence["best_eps"] <= 1e-3


def test_a_real_bug_is_not_blamed_on_the_step():
    report = planted((3, 4, 2), 0, PLANTS["sign-flip"])
    assert "step-size" not in codes(report)


def test_nan_cost_at_a_perturbation_is_a_finding_not_a_crash():
    _, _, _, obj, theta = problem((3, 4, 2), 0)
    cost = lambda t: np.nan if t[3] > theta[3] else obj(t)  # like log(0) on one side
    report = check_gradient(cost, obj.grad, theta, blocks={"W1": (4, 3), "rest": (14,)})
    [finding] = report.diagnoses
    assert finding.code == "non-finite" and finding.indices == (3,) and finding.block == "W1"
    assert finding.evidence["side"] == "numerical"
    assert finding.evidence["perturbations"] == {"W1[1, 0]": ["+1e-06"]}


def test_nan_cost_at_theta_and_inf_in_the_analytic_gradient():
    _, _, _, obj, theta = problem((3, 4, 2), 0)
    report = check_gradient(lambda t: np.nan, obj.grad, theta)
    assert codes(report) == ["non-finite"] and report.diagnoses[0].evidence["side"] == "cost"
    inf_at_5 = lambda t: np.where(np.arange(t.size) == 5, np.inf, obj.grad(t))
    report = check_gradient(obj, inf_at_5, theta)
    assert codes(report) == ["non-finite"] and report.diagnoses[0].indices == (5,)
    assert report.diagnoses[0].evidence["side"] == "analytic"


@pytest.mark.parametrize("sizes", [(3, 4, 2), (4, 6, 3)])
@pytest.mark.parametrize("seed", SEEDS)
def test_relu_network_with_preactivations_exactly_at_zero_passes_with_kinks_excluded(sizes, seed):
    net, X, Y, _ = draw_problem(list(sizes), "relu", "softmax", "cross_entropy", 6, seed)
    X[0] = 0.0
    net.layers[0][1][:] = 0.0  # b1 = 0: every hidden pre-activation of sample 0 is exactly 0
    z0 = X[0] @ net.layers[0][0].T + net.layers[0][1]
    assert np.all(z0 == 0)
    report = check_network(net, X, Y)
    assert report.passed and codes(report) == ["kink"]
    b1 = net.param_blocks()["b1"]
    assert set(np.flatnonzero(report.excluded)) <= set(range(b1.start, b1.stop))
    assert report.excluded.any() and report.diagnoses[0].block == "b1"


def test_a_wrong_relu_derivative_at_a_kink_is_not_excluded():
    net, X, Y, _ = draw_problem([3, 4, 2], "relu", "softmax", "cross_entropy", 6, 0)
    X[0] = 0.0
    net.layers[0][1][:] = 0.0
    obj = net.objective(X, Y)
    b1 = net.param_blocks()["b1"]
    wrong = lambda t: obj.grad(t) + np.where(np.arange(t.size) == b1.start, 5.0, 0.0)
    report = check_gradient(obj, wrong, net.theta, blocks=net.param_blocks())
    assert not report.passed and not report.excluded[b1.start]


# --- no false alarms -------------------------------------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(widths=st.lists(st.integers(1, 5), min_size=2, max_size=4),
       hidden=st.sampled_from(["sigmoid", "tanh", "relu", "softplus", "elu"]),
       loss=st.sampled_from(sorted(LOSSES)), l2=st.sampled_from([0.0, 0.3]),
       seed=st.integers(0, 2**16))
def test_correct_random_networks_get_no_diagnosis(widths, hidden, loss, l2, seed):
    output = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, "identity")
    sizes = [*widths[:-1], max(widths[-1], 2)]
    net, X, Y, _ = draw_problem(sizes, hidden, output, loss, 4, seed, l2=l2)
    report = check_network(net, X, Y)
    assert report.passed and report.diagnoses == []
    assert check_arrays(report.numerical, report.analytic, net.param_blocks()).diagnoses == []


def test_every_correct_pairing_of_the_matrix_gets_no_diagnosis():
    hidden = ["sigmoid", "relu", "tanh"]
    sizes, m = (3, 4, 3), 5
    for row in pairing_matrix(sizes, m, 0, hidden=hidden):
        if row.status == "refused":
            continue
        net, X, Y, _ = draw_problem(sizes, row.hidden, row.output, row.loss, m, row.seed)
        report = check_network(net, X, Y)
        assert report.passed and report.diagnoses == [], (row, codes(report))


def test_correct_report_passed_to_diagnose_gets_nothing():
    _, _, _, obj, theta = problem((3, 4, 2), 0)
    report = check_gradient(obj, obj.grad, theta, diagnose=False)
    assert diagnose(report, f=obj, grad=obj.grad, theta=theta) == []


# --- columns only: the users' reports ------------------------------------------------------

def read_pairs(name):
    rows = []
    for line in (REPORTS / name).read_text(encoding="utf-8").splitlines():
        tokens = line.replace("(", " ").replace(")", " ").replace(",", " ").split()
        try:
            rows.append((float(tokens[0]), float(tokens[1])))
        except (IndexError, ValueError):
            continue
    return np.array(rows)


def test_report_002_index_0_unperturbed_and_theta2_data_term_sign_flipped():
    rows = read_pairs("report002.txt")  # header "Function Gradient Numerical Gradient"
    report = check_arrays(rows[:, 1], rows[:, 0], {"Theta1": (5, 4), "Theta2": (3, 6)})
    assert codes(report) == ["unperturbed-coordinates", "sign-flip"]
    unperturbed, flip = report.diagnoses
    assert unperturbed.indices == (0,) and unperturbed.positions == ((0, 0),)
    assert flip.block == "Theta2" and "Theta1 agrees" in flip.message
    assert flip.evidence["norm_ratio"] == pytest.approx(6.61473694017, rel=1e-6)


def test_report_002_answer_only_index_0_differs():
    rows = read_pairs("report002_answer.txt")
    report = check_arrays(rows[:, 1], rows[:, 0], {"Theta1": (5, 4), "Theta2": (3, 6)})
    assert codes(report) == ["unperturbed-coordinates"]


@pytest.mark.parametrize("name", ["report000_sigmoid_softmax.txt", "report000_tanh_softmax.txt"])
def test_report_000_softmax_pairs_are_a_related_but_different_function(name):
    rows = read_pairs(name)
    assert 15 <= len(rows) <= 16
    report = check_arrays(rows[:, 0], rows[:, 1], tol=1e-4)  # 5 significant digits pasted
    assert codes(report) == ["different-function"]
    assert report.diagnoses[0].evidence["same_sign_fraction"] == 1.0


def test_report_000_sigmoid_pair_passes():
    rows = read_pairs("report000_sigmoid_sigmoid.txt")
    report = check_arrays(rows[:, 0], rows[:, 1], tol=1e-4)
    assert report.passed and report.diagnoses == []


def test_columns_zero_block_and_transposed_block(rng):
    n = rng.standard_normal(12 + 6)
    a = n.copy()
    a[:12] = 0.0
    assert codes(check_arrays(n, a, {"A": (3, 4), "B": (6,)})) == ["zero-gradient"]
    a = n.copy()
    a[:12] = n[:12].reshape(3, 4).T.ravel()
    assert codes(check_arrays(n, a, {"A": (3, 4), "B": (6,)})) == ["transposed"]


def test_diagnosis_to_dict_is_json_ready():
    d = Diagnosis("kink", "m", "b1", (np.int64(3),), ((3,),), {"x": np.float64(np.nan), "y": np.arange(2)})
    assert d.to_dict()["evidence"] == {"x": None, "y": [0, 1]} and d.to_dict()["indices"] == [3]


def test_detector_registry_names_are_unique():
    names = [d.name for d in DETECTORS]
    assert len(names) == len(set(names))


# --- Jacobians -------------------------------------------------------------------------------

def softmax_vec(x):
    return softmax(x[None, :])[0]


def softmax_jac(x):
    s = softmax_vec(x)
    return np.diag(s) - np.outer(s, s)


def test_softmax_jacobian_passes(rng):
    report = check_jacobian(softmax_vec, softmax_jac, rng.standard_normal(6))
    assert report.passed and report.diagnoses == []


def test_report_003_softmax_jacobian_built_from_inputs_is_flagged(rng):
    def wrong(x):  # report 003: s_i (1 - x_i) and -s_i x_j, the input where the output belongs
        s = softmax_vec(x)
        return np.diag(s) - np.outer(s, x)
    report = check_jacobian(softmax_vec, wrong, rng.standard_normal(6))
    assert not report.passed and codes(report) == ["softmax-from-inputs"]
    assert "uses the inputs x where the outputs s belong" in report.diagnoses[0].message


@pytest.mark.parametrize("seed", range(4))
def test_diagonal_of_the_right_jacobian_is_named_diagonal_only(seed):
    x = np.random.default_rng(seed).standard_normal(5)
    report = check_jacobian(softmax_vec, lambda x: np.diag(np.diag(softmax_jac(x))), x)
    assert codes(report) == ["diagonal-only"]
    assert "its diagonal agrees" in report.diagnoses[0].message
    assert report.diagnoses[0].evidence["softmax"] is True


def test_diagonal_only_for_a_non_softmax_layer(rng):
    W = rng.standard_normal((4, 4))
    f = lambda x: np.tanh(W @ x)
    jac = lambda x: np.diag(np.diag(np.diag(1 - np.tanh(W @ x) ** 2) @ W))
    report = check_jacobian(f, jac, rng.standard_normal(4))
    assert codes(report) == ["diagonal-only"] and "d f_i / d x_j" in report.diagnoses[0].fix


def test_transposed_jacobian_of_a_layer(rng):
    W = rng.standard_normal((3, 5))
    f = lambda x: np.tanh(W @ x)
    jac = lambda x: (np.diag(1 - np.tanh(W @ x) ** 2) @ W)
    x = rng.standard_normal(5)
    assert check_jacobian(f, jac, x).passed
    report = check_jacobian(f, lambda x: jac(x).T, x)
    assert codes(report) == ["transposed"]


def test_plot_writes_a_png(tmp_path):
    rows = read_pairs("report002.txt")
    report = check_arrays(rows[:, 1], rows[:, 0], {"Theta1": (5, 4), "Theta2": (3, 6)})
    path = report.plot(tmp_path / "doctor.png")
    assert Path(path).stat().st_size > 1000


@pytest.mark.parametrize("wrong", [[5], [0, 77], [3, 40, 99]])
def test_isolated_coordinates_are_named_one_by_one(wrong, rng):
    numerical = rng.standard_normal(120)
    analytic = numerical.copy()
    analytic[wrong] += 0.5
    report = check_arrays(numerical, analytic, {"W1": (10, 10), "b1": (10,), "W2": (1, 10)})
    assert codes(report) == ["isolated-coordinates"]
    assert report.diagnoses[0].indices == tuple(wrong)


def test_a_whole_small_block_is_not_isolated_coordinates(rng):
    numerical = rng.standard_normal(23)
    analytic = numerical.copy()
    analytic[20:] *= 2.0  # b2, all three entries: a block's scale factor
    report = check_arrays(numerical, analytic, {"W1": (4, 5), "b2": (3,)})
    assert codes(report) == ["scale-factor"] and report.diagnoses[0].block == "b2"


def test_findings_and_reports_print_as_plain_text():
    d = Diagnosis("sign-flip", "the analytic gradient is flipped.", "W2", fix="subtract it.")
    assert str(d) == "[sign-flip] W2 the analytic gradient is flipped.\n    fix: subtract it."
    report = check_arrays(np.array([1.0, 2.0]), np.array([1.0, 2.0]), {"W": (2,)})
    assert report.summary() == ("relative error 0.00e+00 (tolerance 1e-06); per block: "
                                "W 0.00e+00; pass")


# --- functions that modify what they are given -------------------------------------------------

def test_a_gradient_that_writes_into_theta_is_named_even_when_the_numbers_agree():
    net, _, _, obj, theta = problem((3, 4, 2), 0)
    blocks = net.param_blocks()

    def grad(t):
        g = obj.grad(t)
        t[:3] = 0.0  # W1[0, :] through a view, after the work
        return g

    report = check_gradient(obj, grad, theta, blocks=blocks)
    assert report.passed and not report.agrees
    [finding] = report.diagnoses
    assert finding.code == "argument-modified" and finding.indices == (0, 1, 2)
    assert "row 0 of W1" in finding.message and "set to 0" in finding.message
    assert finding.evidence["functions"] == ["gradient"]


def test_a_gradient_computed_after_zeroing_part_of_theta_is_explained_by_it():
    net, _, _, obj, theta = problem((3, 4, 2), 1)
    b1 = net.param_blocks()["b1"]

    def grad(t):
        t[b1.slice] = 0.0  # the biases zeroed in the caller's theta before the forward pass
        return obj.grad(t)

    report = check_gradient(obj, grad, theta, blocks=net.param_blocks())
    assert not report.passed and codes(report) == ["argument-modified"]
    assert "all of b1" in report.diagnoses[0].message
    assert "explains the whole mismatch" in report.diagnoses[0].message


def test_a_cost_that_rescales_its_data_on_every_call_settles_the_diagnosis():
    data = np.arange(1.0, 6.0) * 50

    def cost(t):
        np.divide(data, 255.0, out=data)  # in place, on every call
        return float(t @ data)

    report = check_gradient(cost, lambda t: data / 255.0, np.ones(5), watch={"data": data})
    assert codes(report) == ["argument-modified"]
    message = report.diagnoses[0].message
    assert "the module's data (every entry, multiplied by 0.00392157 (divided by 255))" in message
    assert "every call changes it again" in message
    np.testing.assert_allclose(data, np.arange(1.0, 6.0) * 50)  # put back as it was


def test_labels_remapped_in_place_once_are_named_though_the_check_passes():
    y = np.array([1, 10, 3, 10])

    def cost(t):
        y[y == 10] = 0
        return float(t @ y)

    report = check_gradient(cost, lambda t: np.where(y == 10, 0, y).astype(float), np.ones(4),
                            watch={"y": y})
    assert report.passed and codes(report) == ["argument-modified"] and not report.agrees
    assert "2 of its 4 entries (at 1, 3), set to 0" in report.diagnoses[0].message
    assert "stays the same" in report.diagnoses[0].message
    assert y.tolist() == [1, 10, 3, 10]


def test_functions_that_change_nothing_get_no_finding_and_agree():
    _, X, Y, obj, theta = problem((3, 4, 2), 0)
    report = check_gradient(obj, obj.grad, theta, watch={"X": X, "Y": Y})
    assert report.passed and report.agrees and report.diagnoses == []


# --- without blocks: runs of coordinates --------------------------------------------------------

def test_without_blocks_the_runs_are_named_and_the_blocks_suggested():
    _, X, _, obj, theta = problem((3, 4, 2), 0)  # W1 4x3, b1 4, W2 2x4, b2 2: 26 parameters

    def grad(t):
        g = obj.grad(t)
        g[16:] *= -1  # W2 and b2
        return g

    report = check_gradient(obj, grad, theta, n_features=3)
    [finding] = report.diagnoses
    assert finding.code == "sign-flip" and "coordinates 16-25" in finding.message
    assert "coordinates 0-15 agree" in finding.message
    assert finding.block is None and finding.indices == tuple(range(16, 26))
    assert "give the blocks Theta1=4x4,Theta2=2x5" in finding.fix and "--" not in finding.fix
    assert finding.evidence["options"] == ["blocks"]  # the CLI adds --blocks


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(widths=st.lists(st.integers(2, 5), min_size=3, max_size=4), which=st.integers(0, 7),
       k=st.sampled_from([-3.0, -1.0, 0.5, 2.0, 7.0]), seed=st.integers(0, 2**16))
def test_a_factor_planted_in_any_block_is_named_there_with_its_k(widths, which, k, seed):
    net, X, Y, _ = draw_problem(widths, "tanh", "softmax", "cross_entropy", 5, seed, l2=0.0)
    obj, blocks = net.objective(X, Y), net.param_blocks()
    name = list(blocks)[which % len(blocks)]

    def grad(t):
        g = obj.grad(t)
        g[blocks[name].slice] *= k
        return g

    report = check_gradient(obj, grad, net.theta, blocks=blocks)
    assume(not report.passed)  # a block whose gradient is 0 at this point shows no factor
    [finding] = report.diagnoses
    assert finding.code == ("sign-flip" if k < 0 else "scale-factor") and finding.block == name
    assert finding.evidence["k"] == pytest.approx(k, rel=1e-5)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=st.floats(-0.5, 0.5).filter(lambda v: abs(v) > 0.01), constant=st.booleans(),
       seed=st.integers(0, 2**16))
def test_an_offset_on_the_biases_only_is_named_by_its_kind_and_sign(c, constant, seed):
    net, X, Y, _ = draw_problem([3, 4, 3], "sigmoid", "softmax", "cross_entropy", 6, seed, l2=0.5)
    obj, blocks = net.objective(X, Y), net.param_blocks()

    def grad(t):
        g = obj.grad(t)
        for name in ("b1", "b2"):
            g[blocks[name].slice] += c if constant else c * t[blocks[name].slice]
        return g

    report = check_gradient(obj, grad, net.theta, blocks=blocks)
    code = "bias-constant" if constant else "bias-regularized" if c > 0 else "bias-regularized-in-cost"
    assert codes(report) == [code], [d.message for d in report.diagnoses]
