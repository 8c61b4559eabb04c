"""The reference layers: every forward and backward against PyTorch's autograd in float64."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck.errors import ConfigError
from gradcheck.nn.layers import LAYERS, conv2d_backward, conv2d_forward, get_layer

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _svm(x, y, delta=1.0):
    margins = (x - x.gather(1, y[:, None]) + delta).clamp(min=0)
    return (margins * (1 - F.one_hot(y, x.shape[1]))).sum() / len(x)


# one PyTorch expression per reference layer, written with torch's own operations
TORCH = {
    "affine": lambda x, w, b: x.reshape(len(x), -1) @ w + b,
    "relu": lambda x: torch.relu(x),
    "leaky_relu": lambda x, slope=0.01: F.leaky_relu(x, slope),
    "sigmoid": lambda x: torch.sigmoid(x),
    "tanh": lambda x: torch.tanh(x),
    "softmax": lambda x: torch.softmax(x, dim=1),
    "softmax_loss": lambda x, y: F.cross_entropy(x, y),
    "svm_loss": _svm,
    "linear_softmax": lambda W, X, y, reg=0.0: F.cross_entropy(X @ W, y) + reg * (W * W).sum(),
    "linear_svm": lambda W, X, y, reg=0.0, delta=1.0: _svm(X @ W, y, delta) + reg * (W * W).sum(),
    "batchnorm": lambda x, g, b, eps=1e-5, mode="train": F.batch_norm(x, None, None, g, b, True, 0.0, eps),
    "layernorm": lambda x, g, b, eps=1e-5: F.layer_norm(x, x.shape[1:], g, b, eps),
    "dropout": lambda x, mask, p=0.5, mode="train": x * mask / p,
    "conv2d": lambda x, w, b, stride=1, pad=0: F.conv2d(x, w, b, stride=stride, padding=pad),
    "max_pool2d": lambda x, pool_height=2, pool_width=2, stride=2: F.max_pool2d(
        x, (pool_height, pool_width), stride),
    "embedding": lambda x, W: F.embedding(x, W),
}

# parameters other than the defaults, each checked too
VARIANTS = {
    "leaky_relu": [{"slope": 0.2}],
    "svm_loss": [{"delta": 0.5}],
    "linear_softmax": [{"reg": 0.3}],
    "linear_svm": [{"reg": 0.3, "delta": 2.0}],
    "batchnorm": [{"eps": 1e-2}],
    "layernorm": [{"eps": 1e-2}],
    "dropout": [{"p": 0.8}],
    "conv2d": [{"stride": 2, "pad": 1}, {"stride": 1, "pad": 2}, {"stride": 3, "pad": 1}],
    "max_pool2d": [{"pool_height": 2, "pool_width": 2, "stride": 1},
                   {"pool_height": 3, "pool_width": 2, "stride": 1}],
}
CASES = [(name, {**layer.params, **extra}) for name, layer in LAYERS.items()
         for extra in [{}, *VARIANTS.get(name, [])]]


def test_every_layer_has_a_torch_twin():
    assert set(TORCH) == set(LAYERS)


def _tensor(value, grad):
    t = torch.from_numpy(np.array(value))
    return t.requires_grad_(grad and t.is_floating_point())


@pytest.mark.parametrize("name, params", CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_forward_and_backward_match_torch_autograd(name, params):
    layer = LAYERS[name]
    rng = np.random.default_rng(7)
    inputs = layer.example(rng)
    out, cache = layer.forward(*inputs.values(), **params)
    dout = rng.standard_normal(np.shape(out))
    grads = layer.backward(dout if np.ndim(out) else float(dout), cache)

    tensors = {k: _tensor(v, k not in layer.constants) for k, v in inputs.items()}
    expected = TORCH[name](*tensors.values(), **params)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12,
                               err_msg=f"{name}'s forward differs from torch's")
    wanted = [tensors[k] for k in layer.differentiable]
    torch_grads = torch.autograd.grad(expected, wanted, torch.from_numpy(np.array(dout)))
    assert len(grads) == len(wanted), f"{name} returns {len(grads)} gradients for {layer.differentiable}"
    for k, mine, theirs in zip(layer.differentiable, grads, torch_grads):
        assert mine.shape == inputs[k].shape, f"{name}: d{k} has shape {mine.shape}"
        scale = float(np.max(np.abs(theirs.numpy()))) or 1.0
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-10 * scale,
                                   err_msg=f"{name}'s d{k} differs from torch autograd")


@pytest.mark.parametrize("name", list(LAYERS))
def test_extreme_inputs_stay_finite_without_warnings(name):
    layer = LAYERS[name]
    inputs = {k: (1e4 * v if k not in layer.constants else v)
              for k, v in layer.example(np.random.default_rng(0)).items()}
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        out, cache = layer.forward(*inputs.values(), **layer.params)
        grads = layer.backward(np.ones(np.shape(out)) if np.ndim(out) else 1.0, cache)
    assert np.all(np.isfinite(out)) and all(np.all(np.isfinite(g)) for g in grads), name


@pytest.mark.parametrize("name", list(LAYERS))
def test_float32_in_float32_out(name):
    layer = LAYERS[name]
    inputs = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v)
              for k, v in layer.example(np.random.default_rng(0)).items()}
    out, cache = layer.forward(*inputs.values(), **layer.params)
    if np.ndim(out):
        assert out.dtype == np.float32, f"{name}'s forward returns {out.dtype} for float32 inputs"
        grads = layer.backward(np.ones_like(out), cache)
        assert all(g.dtype == np.float32 for g in grads), name


def test_softmax_loss_by_hand():
    # scores (0, ln 3): probabilities 1/4 and 3/4; label 0: loss ln 4, dx = (1/4 - 1, 3/4)
    loss, cache = LAYERS["softmax_loss"].forward(np.array([[0.0, np.log(3.0)]]), np.array([0]))
    assert loss == pytest.approx(np.log(4.0), rel=1e-15)
    np.testing.assert_allclose(LAYERS["softmax_loss"].backward(1.0, cache)[0], [[-0.75, 0.75]])


def test_svm_loss_by_hand():
    # row 0, label 0: margins (-, 2 - 1 + 1, 0.5 - 1 + 1) = (-, 2, 0.5); row 1, label 2: (0, 0, -)
    x, y = np.array([[1.0, 2.0, 0.5], [-3.0, -1.0, 1.0]]), np.array([0, 2])
    loss, cache = LAYERS["svm_loss"].forward(x, y)
    assert loss == pytest.approx(2.5 / 2)
    np.testing.assert_allclose(LAYERS["svm_loss"].backward(1.0, cache)[0],
                               [[-1.0, 0.5, 0.5], [0.0, 0.0, 0.0]])


def test_max_pool_routes_to_the_maximum_by_hand():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0],
                    [0.0, 0.0, 1.0, 1.0], [9.0, 0.0, 2.0, 7.0]]]])
    out, cache = LAYERS["max_pool2d"].forward(x)
    np.testing.assert_array_equal(out, [[[[5.0, 8.0], [9.0, 7.0]]]])
    (dx,) = LAYERS["max_pool2d"].backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 0, 1], expected[0, 0, 1, 2], expected[0, 0, 3, 0], expected[0, 0, 3, 3] = 1, 2, 3, 4
    np.testing.assert_array_equal(dx, expected)


def test_embedding_adds_repeated_indices():
    x = np.array([[1, 1, 0]])
    _, cache = LAYERS["embedding"].forward(x, np.zeros((3, 2)))
    (dW,) = LAYERS["embedding"].backward(np.array([[[1.0, 2.0], [10.0, 20.0], [5.0, 5.0]]]), cache)
    np.testing.assert_array_equal(dW, [[5.0, 5.0], [11.0, 22.0], [0.0, 0.0]])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(3, 7), w=st.integers(3, 7),
       k=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2), seed=st.integers(0, 99))
def test_conv_backward_is_the_adjoint_of_forward(n, c, h, w, k, stride, pad, seed):
    # without a bias, conv is linear in x: <conv(x), g> = <x, conv^T(g)> for every g
    rng = np.random.default_rng(seed)
    x, kernel = rng.standard_normal((n, c, h, w)), rng.standard_normal((2, c, k, k))
    out, cache = conv2d_forward(x, kernel, np.zeros(2), stride=stride, pad=pad)
    g = rng.standard_normal(out.shape)
    dx, dw, _ = conv2d_backward(g, cache)
    assert np.vdot(out, g) == pytest.approx(np.vdot(x, dx), rel=1e-10, abs=1e-10)
    assert np.vdot(out, g) == pytest.approx(np.vdot(kernel, dw), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("bad, message", [
    (lambda: LAYERS["affine"].forward(np.ones((2, 3)), np.ones((4, 5)), np.ones(5)), "3 features"),
    (lambda: LAYERS["conv2d"].forward(np.ones((1, 2, 4, 4)), np.ones((3, 1, 3, 3)), np.ones(3)),
     "conv2d needs"),
    (lambda: LAYERS["softmax_loss"].forward(np.ones((2, 3)), np.array([0, 3])), "0..2"),
    (lambda: LAYERS["batchnorm"].forward(np.ones((2, 3)), np.ones(3), np.ones(3), mode="test"),
     "train-mode"),
    (lambda: LAYERS["dropout"].forward(np.ones(3), np.ones(3), p=0.0), "keeping"),
    (lambda: get_layer("batchorm"), "did you mean 'batchnorm'"),
])
def test_bad_inputs_are_one_sentence(bad, message):
    with pytest.raises(ConfigError, match=message):
        bad()


def test_differentiable_inputs_leave_out_the_constants():
    assert LAYERS["embedding"].differentiable == ("W",)
    assert LAYERS["linear_svm"].differentiable == ("W",)
    assert LAYERS["affine"].differentiable == ("x", "w", "b")
