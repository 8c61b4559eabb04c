import numpy as np
import pytest

from gradcheck.errors import ConfigError
from gradcheck.nn.activations import ACTIVATIONS, get_activation, softmax, softmax_jacobian

ELEMENTWISE = [name for name, a in ACTIVATIONS.items() if a.elementwise]


def away_from_kinks(act, z, margin=1e-3):
    for k in act.kinks:
        z = np.where(np.abs(z - k) < margin, z + 2 * margin, z)
    return z


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_differences(name, rng):
    act = ACTIVATIONS[name]
    z = away_from_kinks(act, rng.uniform(-6, 6, (50, 4)))
    a = act.fn(z)
    numerical = (act.fn(z + 1e-6) - act.fn(z - 1e-6)) / 2e-6
    np.testing.assert_allclose(act.derivative(z, a), numerical, rtol=1e-6, atol=1e-8,
                               err_msg=f"{name}'s derivative disagrees with its function")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_vjp_matches_central_differences_of_the_upstream_weighted_output(name, rng):
    # d/dz_ij of sum(g * fn(z)), differenced one entry at a time: independent of derivative()
    act = ACTIVATIONS[name]
    z = away_from_kinks(act, rng.uniform(-4, 4, (3, 4)))
    g = rng.normal(size=(3, 4))
    numerical = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[idx] = 1e-6
        numerical[idx] = (np.sum(g * act.fn(z + e)) - np.sum(g * act.fn(z - e))) / 2e-6
    np.testing.assert_allclose(act.vjp(z, act.fn(z), g), numerical, rtol=1e-6, atol=1e-8)


TORCH_NAMES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "elu": "elu", "selu": "selu",
               "softplus": "softplus", "softsign": "softsign", "gelu": "gelu", "silu": "silu",
               "mish": "mish", "hard_sigmoid": "hardsigmoid", "hard_tanh": "hardtanh"}


@pytest.mark.parametrize("name", sorted(TORCH_NAMES) + ["leaky_relu", "gelu_tanh", "softmax"])
def test_fn_and_vjp_match_torch_autograd(name, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    torch_fn = {"leaky_relu": lambda t: F.leaky_relu(t, 0.01),
                "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
                "softmax": lambda t: F.softmax(t, dim=1)}.get(name) or getattr(F, TORCH_NAMES.get(name, name))
    act = ACTIVATIONS[name]
    z = away_from_kinks(act, rng.uniform(-5, 5, (4, 6)))
    g = rng.normal(size=z.shape)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    at = torch_fn(zt)
    (expected,) = torch.autograd.grad(at, zt, torch.tensor(g))
    tol = 1e-7 if name == "hard_sigmoid" else 1e-10  # torch's hardsigmoid rounds 1/6 in float32
    np.testing.assert_allclose(act.fn(z), at.detach().numpy(), rtol=tol, atol=1e-14)
    np.testing.assert_allclose(act.vjp(z, act.fn(z), g), expected.numpy(), rtol=tol, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_extreme_inputs_stay_finite_without_warnings(name, dtype):
    act = ACTIVATIONS[name]
    z = np.array([[-1e4, -1e3, -50.0, 0.0, 50.0, 1e3, 1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = act.fn(z)
        g = act.vjp(z, a, np.ones_like(z))
    assert a.dtype == dtype and g.dtype == dtype, f"{name} changed dtype {dtype} to {a.dtype}/{g.dtype}"
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(g)), f"{name} is not finite at +-1e4"


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_outputs_lie_in_declared_range(name, rng):
    act = ACTIVATIONS[name]
    a = act.fn(rng.uniform(-30, 30, (200, 5)))
    lo, hi = act.output_range
    assert a.min() >= lo - 1e-12 and a.max() <= hi + 1e-12


def test_pinned_values():
    z = np.array([[0.0, 1.0, -2.0]])
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"].fn(z), [[0.5, 0.7310585786300049, 0.11920292202211755]])
    np.testing.assert_allclose(ACTIVATIONS["softplus"].fn(z), [[np.log(2), 1.3132616875182228, 0.12692801104297263]])
    np.testing.assert_allclose(ACTIVATIONS["gelu"].fn(z), [[0.0, 0.8413447460685429, -0.04550026389635842]])
    np.testing.assert_allclose(ACTIVATIONS["selu"].fn(z)[0, 1], 1.0507009873554805)
    np.testing.assert_allclose(ACTIVATIONS["hard_sigmoid"].fn(np.array([[-3.0, 0.0, 3.0]])), [[0, 0.5, 1]])


def test_softmax_is_stable_and_sums_to_one():
    z = np.array([[1e4, 0.0, -1e4], [1000.0, 1000.0, 1000.0]])
    s = softmax(z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    np.testing.assert_allclose(s[1], [1 / 3] * 3)


def test_softmax_jacobian_rows_sum_to_zero_and_match_differences(rng):
    z = rng.normal(size=(4, 5))
    jac = softmax_jacobian(z)
    assert jac.shape == (4, 5, 5)
    np.testing.assert_allclose(jac.sum(axis=2), 0, atol=1e-15)
    for n in range(4):
        numerical = np.empty((5, 5))
        for j in range(5):
            e = np.zeros(5)
            e[j] = 1e-6
            numerical[:, j] = (softmax(z[n:n + 1] + e) - softmax(z[n:n + 1] - e))[0] / 2e-6
        np.testing.assert_allclose(jac[n], numerical, atol=1e-9)
    # the diag(s) - s s^T form, written out for one row
    s = softmax(z[:1])[0]
    np.testing.assert_allclose(softmax_jacobian(z[0]), np.diag(s) - np.outer(s, s))


def test_softmax_vjp_equals_jacobian_product(rng):
    z, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    act = ACTIVATIONS["softmax"]
    expected = np.einsum("ni,nij->nj", g, softmax_jacobian(z))
    np.testing.assert_allclose(act.vjp(z, act.fn(z), g), expected, atol=1e-15)


def test_lookup_suggests_nearest_name():
    with pytest.raises(ConfigError, match="did you mean 'sigmoid'"):
        get_activation("sigmod")


def test_leaky_relu_slope_parameter():
    act = get_activation("leaky_relu:0.2")
    np.testing.assert_allclose(act.fn(np.array([[-1.0, 2.0]])), [[-0.2, 2.0]])
    assert act.spec == "leaky_relu:0.2"
    assert get_activation(act.spec).params == {"slope": 0.2}
    assert get_activation("leaky_relu", slope=0.3).params["slope"] == 0.3
    with pytest.raises(ConfigError, match="slope"):
        get_activation("leaky_relu:-1")


def test_aliases():
    assert get_activation("swish").name == "silu"
    assert get_activation("Linear").name == "identity"
