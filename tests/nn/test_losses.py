import numpy as np
import pytest

from gradcheck.errors import ConfigError
from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.losses import LOSSES, clip_bounds, get_loss, output_delta, pair, reduction_scale


def probabilities(rng, m, k):
    return rng.uniform(0.05, 0.95, (m, k))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_matches_central_differences(name, reduction, rng):
    loss = LOSSES[name]
    a, y = probabilities(rng, 6, 3), np.eye(3)[rng.integers(0, 3, 6)]
    numerical = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[idx] = 1e-6
        numerical[idx] = (loss.value(a + e, y, reduction) - loss.value(a - e, y, reduction)) / 2e-6
    np.testing.assert_allclose(loss.gradient(a, y, reduction), numerical, rtol=1e-6, atol=1e-10)


def test_squared_error_sums_over_outputs_averages_over_samples():
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.zeros((2, 3))
    # per sample 1/2 (1 + 4 + 9) = 7 and 0; mean over 2 samples = 3.5
    assert LOSSES["squared_error"].value(a, y) == pytest.approx(3.5)
    assert LOSSES["squared_error"].value(a, y, "sum") == pytest.approx(7.0)
    # gradient (a - y)/m, never also divided by the 3 outputs (scikit-learn issue #8349)
    np.testing.assert_allclose(LOSSES["squared_error"].gradient(a, y), a / 2)


def test_reduction_scale_defined_once():
    assert reduction_scale(4, "mean") == 0.25 and reduction_scale(4, "sum") == 1.0
    with pytest.raises(ConfigError, match="reduction"):
        reduction_scale(4, "avg")


def test_pinned_cross_entropy_values():
    a = np.array([[0.7, 0.2, 0.1]])
    y = np.array([[1.0, 0.0, 0.0]])
    assert LOSSES["cross_entropy"].value(a, y) == pytest.approx(-np.log(0.7))
    assert LOSSES["binary_cross_entropy"].value(a, y) == pytest.approx(-np.log(0.7) - np.log(0.8) - np.log(0.9))


@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
                                         ("identity", "squared_error")])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fused_and_general_paths_agree(output, loss, reduction, rng):
    fused = pair(output, loss)
    assert fused.status == "fused"
    z = rng.normal(scale=2, size=(5, 4))
    a = fused.output.fn(z)
    y = np.eye(4)[rng.integers(0, 4, 5)] if loss != "squared_error" else rng.normal(size=(5, 4))
    J_f, d_f = output_delta(fused, z, a, y, reduction)
    J_g, d_g = output_delta(fused, z, a, y, reduction, chain_rule=True)
    assert J_f == pytest.approx(J_g, rel=1e-12)
    np.testing.assert_allclose(d_f, d_g, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(d_f, (a - y) * reduction_scale(5, reduction), atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")])
def test_fused_paths_finite_at_extremes(output, loss, dtype):
    p = pair(output, loss)
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=dtype)
    y = np.array([[0, 1, 0], [1, 0, 0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        J, delta = output_delta(p, z, p.output.fn(z), y)
    assert np.isfinite(J) and np.all(np.isfinite(delta)) and delta.dtype == dtype
    # each row is confidently wrong by a logit gap of 2e4, which is what it costs
    assert J == pytest.approx(2e4, rel=1e-3)


def test_refused_pairings_explain_and_suggest():
    p = pair("relu", "binary_cross_entropy")
    assert p.status == "refused" and "exceed 1" in p.reason and "sigmoid" in p.suggestion
    p = pair("tanh", "cross_entropy")
    assert p.status == "refused" and "negative" in p.reason
    p = pair("hard_sigmoid", "cross_entropy")
    assert p.status == "refused" and "reach exactly 0" in p.reason


def test_softmax_with_logistic_cost_is_allowed_and_named():
    p = pair("softmax", "bce")
    assert p.status == "general" and "logistic" in p.reason and "not a - y" in p.reason


def _outputs_stay_inside(act, domain):
    """Whether act's outputs over z in [-30, 30] (and a row-wise spread for softmax) lie strictly
    inside the open interval ``domain``: found by evaluating the function, not from its metadata."""
    z = np.linspace(-30, 30, 601)
    a = act.fn(np.stack([z, -z, np.zeros_like(z)], axis=1) if not act.elementwise else z[:, None])
    return bool(np.all((a > domain[0]) & (a < domain[1])))


def test_every_pairing_is_classified():
    statuses = {(o, loss): pair(o, loss).status for o in ACTIVATIONS for loss in LOSSES}
    assert set(statuses.values()) == {"fused", "general", "refused"}
    # fused: exactly the accepted pairs whose chain-rule delta is a - y (one-hot targets)
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(5, 3)), np.eye(3)[[0, 2, 1, 1, 0]]

    def delta_is_a_minus_y(o, loss):
        p = pair(o, loss)
        return np.allclose(output_delta(p, z, p.output.fn(z), y, "sum", chain_rule=True)[1], p.output.fn(z) - y)

    fused = {k for k, s in statuses.items() if s != "refused" and delta_is_a_minus_y(*k)}
    assert {k for k, s in statuses.items() if s == "fused"} == fused
    # accepted: squared error with every output; a log-loss with the outputs that never leave (0, 1)
    accepted = {(o, loss) for o in ACTIVATIONS for loss in LOSSES
                if LOSSES[loss].domain is None or _outputs_stay_inside(ACTIVATIONS[o], LOSSES[loss].domain)}
    assert {k for k, s in statuses.items() if s != "refused"} == accepted
    assert fused <= accepted and accepted != set(statuses)  # each loss's own output fits it; some do not


def test_clipped_cost_gradient_is_the_gradient_of_the_clipped_cost():
    loss = LOSSES["binary_cross_entropy"]
    lo, hi = clip_bounds(np.float64)
    a = np.array([[0.0, 0.3, 1.5, 0.999]])  # 0 and 1.5 are clipped, the others not
    y = np.array([[1.0, 0.0, 1.0, 1.0]])
    grad = loss.gradient(a, y)
    assert grad[0, 0] == 0 and grad[0, 2] == 0
    assert np.isfinite(loss.value(a, y))
    for j in (1, 3):
        e = np.zeros_like(a)
        e[0, j] = 1e-7
        assert grad[0, j] == pytest.approx((loss.value(a + e, y) - loss.value(a - e, y)) / 2e-7, rel=1e-5)
    assert lo == np.finfo(np.float64).eps and hi == 1 - lo


def test_loss_aliases_and_unknown_names():
    assert get_loss("ce").name == "cross_entropy"
    assert get_loss("BCE").name == "binary_cross_entropy"
    assert get_loss("mse").name == "squared_error"
    with pytest.raises(ConfigError, match="did you mean 'cross_entropy'"):
        get_loss("cross_entropi")


@pytest.mark.parametrize("output,loss", [("sigmoid", "cross_entropy"), ("softmax", "binary_cross_entropy")])
def test_other_log_loss_pairs_are_computed_from_z_and_never_clipped(output, loss, rng):
    p = pair(output, loss)
    assert p.status == "general" and p.stable is not None
    # moderate z: the stable form equals the chain rule through dL/da
    z, y = rng.normal(scale=2, size=(6, 4)), np.eye(4)[rng.integers(0, 4, 6)]
    J_s, d_s = output_delta(p, z, p.output.fn(z), y)
    J_c, d_c = output_delta(p, z, p.output.fn(z), y, chain_rule=True)
    assert J_s == pytest.approx(J_c, rel=1e-12)
    np.testing.assert_allclose(d_s, d_c, rtol=1e-9, atol=1e-15)
    # confidently wrong (where clipping would zero the gradient): exact value and slope
    z = np.array([[-60.0, 60.0, 0.0, 1.0]])
    y = np.array([[1.0, 0.0, 0.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        J, delta = output_delta(p, z, p.output.fn(z), y, "sum")
    numerical = np.array([(output_delta(p, z + e, p.output.fn(z + e), y, "sum")[0]
                           - output_delta(p, z - e, p.output.fn(z - e), y, "sum")[0]) / 2e-5
                          for e in 1e-5 * np.eye(4)])
    np.testing.assert_allclose(delta[0], numerical, rtol=1e-6, atol=1e-9)
    assert J > 59 and abs(delta[0, 0]) > 0.5


def test_logistic_cost_on_softmax_extremes_stay_finite():
    p = pair("softmax", "binary_cross_entropy")
    z = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    y = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        J, delta = output_delta(p, z, p.output.fn(z), y)
    assert np.isfinite(J) and np.all(np.isfinite(delta)) and delta.dtype == np.float32


TORCH_LOSSES = {  # the loss summed over a batch, written with torch from z, one-hot or soft y
    ("softmax", "cross_entropy"): lambda F, z, y: -(y * F.log_softmax(z, dim=1)).sum(),
    ("sigmoid", "binary_cross_entropy"): lambda F, z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum"),
    ("sigmoid", "cross_entropy"): lambda F, z, y: -(y * F.logsigmoid(z)).sum(),
    ("softmax", "binary_cross_entropy"): lambda F, z, y: -(y * F.log_softmax(z, dim=1)
                                                           + (1 - y) * (-F.softmax(z, dim=1)).log1p()).sum(),
    ("identity", "squared_error"): lambda F, z, y: 0.5 * ((z - y) ** 2).sum(),
}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("output,loss", list(TORCH_LOSSES))
def test_value_and_delta_match_torch_autograd(output, loss, reduction, rng):
    torch = pytest.importorskip("torch")
    p = pair(output, loss)
    z, y = rng.normal(scale=3, size=(6, 4)), rng.random((6, 4))  # soft targets, rows not summing to 1
    zt = torch.tensor(z, requires_grad=True)
    J_t = TORCH_LOSSES[output, loss](torch.nn.functional, zt, torch.tensor(y)) * reduction_scale(6, reduction)
    (delta_t,) = torch.autograd.grad(J_t, zt)
    J, delta = output_delta(p, z, p.output.fn(z), y, reduction)
    assert J == pytest.approx(J_t.item(), rel=1e-12)
    np.testing.assert_allclose(delta, delta_t.numpy(), rtol=1e-9, atol=1e-14)
