"""The training kernel computes exactly what Network.loss_and_grad computes."""
import numpy as np
import pytest
from scipy.special import expit

from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.kernel import BatchKernel
from gradcheck.nn.losses import LOSSES, pair
from gradcheck.nn.network import Network

HIDDEN = [name for name in ACTIVATIONS if name != "softmax"]
PAIRINGS = [(o, l) for o in ACTIVATIONS for l in LOSSES if pair(o, l).status != "refused"]
TOL = {np.float64: 1e-12, np.float32: 2e-6}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_in_place_forms_are_identical_to_fn_and_vjp(name, dtype, rng):
    act = ACTIVATIONS[name]
    z = rng.normal(scale=3, size=(6, 5)).astype(dtype)
    z[0, :3] = [0.0, -1e4, 1e4]
    a, g = act.fn(z), rng.normal(size=z.shape).astype(dtype)
    out = np.empty_like(z)
    act.forward_into(z, out)
    g_in_place = g.copy()
    act.backward_into(z, a, g_in_place)
    assert np.array_equal(out, a), f"{name}: forward_into differs from fn"
    assert np.array_equal(g_in_place, act.vjp(z, a, g)), f"{name}: backward_into differs from vjp"


# the expressions the kernel's hidden layers computed when each had its own in-place vjp;
# backward_into is now built from the one derivative and must give the same bits
_TEXTBOOK_VJP = {
    "identity": lambda z, a, g: g,
    "sigmoid": lambda z, a, g: g * (a * expit(-z)),
    "tanh": lambda z, a, g: g * (1 - a * a),
    "relu": lambda z, a, g: g * (z > 0),
}


def _textbook_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# the kernel's forward expressions when each activation had its own in-place copy of fn
_TEXTBOOK_FN = {"identity": np.copy, "sigmoid": expit, "tanh": np.tanh,
                "relu": lambda z: np.maximum(z, 0), "softmax": _textbook_softmax}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(_TEXTBOOK_FN))
def test_in_place_forward_gives_the_textbook_expression_bitwise(name, dtype, rng):
    act = ACTIVATIONS[name]
    z = rng.normal(scale=3, size=(7, 5)).astype(dtype)
    z[0, :4] = [0.0, -1e4, 1e4, -0.0]
    out = np.full_like(z, np.nan)
    act.forward_into(z, out)
    assert act.takes_out, f"{name}: the kernel would copy its activations"
    assert np.array_equal(out, _TEXTBOOK_FN[name](z)), f"{name}: forward_into changed the bits"
    assert np.array_equal(act.fn(z), out)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(_TEXTBOOK_VJP))
def test_in_place_backward_gives_the_textbook_expression_bitwise(name, dtype, rng):
    act = ACTIVATIONS[name]
    z = rng.normal(scale=3, size=(7, 5)).astype(dtype)
    z[0, :4] = [0.0, -1e4, 1e4, -0.0]
    a, g = act.fn(z), rng.normal(size=z.shape).astype(dtype)
    expected = _TEXTBOOK_VJP[name](z, a, g)
    act.backward_into(z, a, g)
    assert g.dtype == dtype
    assert np.array_equal(g, expected), f"{name}: backward_into changed the kernel's bits"


def _agree(net, m, rng, soft_targets=False):
    X = rng.normal(size=(m, net.sizes[0])).astype(net.dtype)
    if soft_targets:
        Y = rng.random((m, net.sizes[-1])).astype(net.dtype)
    else:
        Y = net.targets(rng.integers(0, net.sizes[-1], m), m)
    J, grad = net.loss_and_grad(X, Y)
    kernel = BatchKernel(net, m)
    for _ in range(2):  # a second call reuses the buffers
        J_k, grad_k = kernel.loss_and_grad(X, Y)
        assert J_k == pytest.approx(J, rel=TOL[net.dtype.type])
        np.testing.assert_allclose(grad_k, grad, rtol=TOL[net.dtype.type],
                                   atol=TOL[net.dtype.type] * np.abs(grad).max())
        if net.dtype == np.float64:  # the same passes in the same order: the same bits
            assert np.array_equal(grad_k, grad), "the kernel's gradient drifted from the network's"
    assert grad_k.dtype == net.dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_hidden_activation(hidden, dtype, rng):
    net = Network([7, 6, 5, 4], hidden=hidden, dtype=dtype, l2=0.7, seed=1)
    _agree(net, 9, rng)


@pytest.mark.parametrize("output,loss", PAIRINGS)
def test_every_accepted_pairing(output, loss, rng):
    net = Network([5, 4, 3], hidden="tanh", output=output, loss=loss, seed=2)
    _agree(net, 8, rng)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_soft_targets_and_reductions_with_fused_softmax(reduction, rng):
    net = Network([5, 4, 3], hidden="relu", reduction=reduction, l2=0.1, seed=3)
    _agree(net, 6, rng, soft_targets=True)


def test_extreme_pre_activations_stay_finite(rng):
    net = Network([3, 4, 3], hidden="relu", seed=0)
    net.theta[:] = 1e3  # pre-activations of order 1e6 before softmax
    X = np.ones((4, 3))
    with np.errstate(all="raise"):
        J, grad = BatchKernel(net, 4).loss_and_grad(X, net.targets([0, 1, 2, 0], 4))
    assert np.isfinite(J) and np.isfinite(grad).all()


def test_kernel_follows_the_current_theta(rng):
    net = Network([4, 3, 2], seed=0)
    X, Y = rng.normal(size=(5, 4)), net.targets([0, 1, 1, 0, 1], 5)
    kernel = BatchKernel(net, 5)
    net.theta *= 0.5  # in place: the kernel's views see it
    np.testing.assert_allclose(kernel.loss_and_grad(X, Y)[1], net.loss_and_grad(X, Y)[1],
                               rtol=1e-12)
