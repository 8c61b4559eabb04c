"""The network's one forward and one backward pass, through their public hooks.

The training kernel, the structure-aware evaluator and the mistake catalogue all run these
two passes; these tests hold each hook to what it promises against plain NumPy written
here, the textbook way, so a change to the passes shows up as a failure and not as a
drifting copy.
"""
import numpy as np
import pytest
from scipy.special import expit

from gradcheck.nn.activations import get_activation
from gradcheck.nn.network import Network


def _problem(rng, hidden="tanh", l2=0.3, sizes=(4, 5, 3)):
    net = Network(list(sizes), hidden=hidden, l2=l2, seed=7)
    net.theta += rng.uniform(-0.1, 0.1, net.n_params)  # nonzero biases
    X = rng.standard_normal((6, sizes[0]))
    return net, X, net.targets(rng.integers(0, sizes[-1], 6), 6)


def _textbook_gradient(net, X, Y):
    """Two-layer backprop by hand: tanh hidden, softmax + cross-entropy, mean, L2."""
    (W1, b1), (W2, b2) = net.layers
    m = len(X)
    a1 = np.tanh(X @ W1.T + b1)
    z2 = a1 @ W2.T + b2
    e = np.exp(z2 - z2.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    d2 = (s * Y.sum(axis=1, keepdims=True) - Y) * (1 / m)
    d1 = (d2 @ W2) * (1 - a1 * a1)
    decay = net.l2 * (1 / m)
    return np.concatenate([(d1.T @ X + decay * W1).ravel(), d1.sum(axis=0),
                           (d2.T @ a1 + decay * W2).ravel(), d2.sum(axis=0)])


def test_the_gradient_is_the_textbook_expression_bitwise(rng):
    net, X, Y = _problem(rng)
    _, grad = net.loss_and_grad(X, Y)
    assert np.array_equal(grad, _textbook_gradient(net, X, Y))


def test_layer_views_share_memory_with_the_vector_they_view():
    net = Network([3, 2, 2], seed=0)
    grad = np.zeros(net.n_params)
    (gW1, gb1), (gW2, gb2) = net.layer_views(grad)
    gW2[1, 0], gb1[1] = 5.0, 7.0
    assert grad[net.param_blocks()["W2"].slice][2] == 5.0
    assert grad[net.param_blocks()["b1"].slice][1] == 7.0
    assert net.layer_views() is net.layers


def test_forward_pass_writes_into_buffers_and_takes_other_activations(rng):
    net, X, _ = _problem(rng)
    buffers = [(np.empty((6, n)), np.empty((6, n))) for n in net.sizes[1:]]
    zs, acts = net.forward_pass(X, buffers=buffers)
    assert all(z is zb and a is ab for z, a, (zb, ab) in zip(zs, acts[1:], buffers))
    assert acts[0] is X
    np.testing.assert_array_equal(acts[-1], net.forward(X))
    relu = get_activation("relu")
    zs2, acts2 = net.forward_pass(X, activations=[relu, net.output])
    np.testing.assert_array_equal(zs2[0], zs[0])
    np.testing.assert_array_equal(acts2[1], np.maximum(zs[0], 0))


def test_forward_pass_on_other_parameters_leaves_the_network_alone(rng):
    net, X, _ = _problem(rng)
    before = net.forward(X)
    theta = np.zeros(net.n_params)
    zs, acts = net.forward_pass(X, net.layer_views(theta))
    assert not np.any(zs[0]) and not np.any(zs[1])
    np.testing.assert_allclose(acts[-1], 1 / 3)  # softmax of zeros over three outputs
    np.testing.assert_array_equal(net.forward(X), before)


def _backward(net, X, Y, **hooks):
    zs, acts = net.forward_pass(X)
    delta = acts[-1] - Y  # fused softmax + cross-entropy, reduction "sum" below
    grad = np.empty(net.n_params)
    net.backward_pass(net.layers, net.layer_views(grad), zs, acts, delta, 1.0, **hooks)
    return grad, zs, acts


def test_through_hook_replaces_the_hidden_derivative(rng):
    net, X, Y = _problem(rng, l2=0.0)
    # the derivative of sigmoid instead of tanh's: only the hidden layer's gradient moves
    def sigmoid_prime(act, z, a, g):
        return g * expit(z) * expit(-z)

    right, zs, acts = _backward(net, X, Y)
    wrong, _, _ = _backward(net, X, Y, through=sigmoid_prime)
    W2 = net.layers[1][0]
    d1 = ((acts[-1] - Y) @ W2) * expit(zs[0]) * expit(-zs[0])
    blocks = net.param_blocks()
    np.testing.assert_array_equal(blocks["W1"].matrix(wrong), d1.T @ X)
    np.testing.assert_array_equal(blocks["b1"].matrix(wrong), d1.sum(axis=0))
    assert np.array_equal(wrong[blocks["W2"].slice], right[blocks["W2"].slice])
    assert not np.allclose(wrong[blocks["W1"].slice], right[blocks["W1"].slice])


def test_hidden_delta_hook_replaces_the_whole_step(rng):
    net, X, Y = _problem(rng, l2=0.0, sizes=(4, 5, 6, 3))
    seen = []

    def halved(l, delta):  # the right step, then halved: the layers below scale by 1/2 too
        seen.append(l)
        W = net.layers[l][0]
        acts = net.forward_pass(X)[1]
        return (delta @ W) * (1 - acts[l] ** 2) / 2

    right, _, _ = _backward(net, X, Y)
    wrong, _, _ = _backward(net, X, Y, hidden_delta=halved)
    assert seen == [2, 1]
    blocks = net.param_blocks()
    np.testing.assert_array_equal(wrong[blocks["W3"].slice], right[blocks["W3"].slice])
    np.testing.assert_allclose(wrong[blocks["W2"].slice], right[blocks["W2"].slice] / 2, rtol=1e-14)
    np.testing.assert_allclose(wrong[blocks["b1"].slice], right[blocks["b1"].slice] / 4, rtol=1e-14)


def test_backward_pass_uses_the_given_buffers_for_hidden_deltas(rng):
    net, X, Y = _problem(rng, sizes=(4, 5, 6, 3))
    buffers = [np.full((6, n), np.nan) for n in net.sizes[1:]]
    grad, zs, acts = _backward(net, X, Y, buffers=buffers)
    assert not np.isnan(buffers[0]).any() and not np.isnan(buffers[1]).any()
    np.testing.assert_array_equal(buffers[0].sum(axis=0), net.param_blocks()["b1"].matrix(grad))


@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_penalty_counts_weights_only(l2):
    net = Network([2, 3, 2], l2=l2, seed=0)
    expected = 0.5 * l2 * 0.25 * sum(float(np.sum(W * W)) for W, _ in net.layers)
    assert net.penalty(net.layers, 0.25) == pytest.approx(expected, rel=1e-15)
    for _, b in net.layers:
        b[...] = 100.0
    assert net.penalty(net.layers, 0.25) == pytest.approx(expected, rel=1e-15)


def test_forward_pass_can_stop_at_the_last_pre_activations(rng):
    net, X, _ = _problem(rng, sizes=(4, 5, 6, 3))
    zs, acts = net.forward_pass(X)
    zs_short, acts_short = net.forward_pass(X, last_activation=False)
    assert len(zs_short) == 3 and len(acts_short) == 3  # X, a_1, a_2: no output activation
    for full, short in zip(zs + acts[:3], zs_short + acts_short):
        np.testing.assert_array_equal(short, full)
    # from a hidden layer's activations on: the tail of the same pass
    tail_zs, _ = net.forward_pass(acts[1], net.layers[1:], activations=net.activations[1:],
                                  last_activation=False)
    np.testing.assert_array_equal(tail_zs[-1], zs[-1])
