import numpy as np
import pytest
from scipy.optimize import minimize

from gradcheck.check.gradient import check_network
from gradcheck.check.matrix import draw_problem, pairing_matrix
from gradcheck.errors import ConfigError, DataError, ModelFileError
from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.losses import LOSSES, pair
from gradcheck.nn.network import Network


def hand_worked_network():
    """2-2-2, sigmoid hidden, softmax + cross-entropy, one sample: worked out on paper."""
    net = Network([2, 2, 2], hidden="sigmoid", output="softmax", loss="cross_entropy")
    (W1, b1), (W2, b2) = net.layers
    W1[...] = [[0.1, 0.2], [0.3, 0.4]]
    b1[...] = [0.0, 0.1]
    W2[...] = [[0.5, -0.5], [0.25, 0.75]]
    b2[...] = [0.0, 0.0]
    return net, np.array([[1.0, 2.0]]), np.array([1])


def test_hand_worked_example_pinned_numbers():
    # z1 = [0.5, 1.2]; a1 = sigmoid(z1); z2 = W2 a1; J = -log softmax(z2)[1]
    net, X, y = hand_worked_network()
    J, grad = net.loss_and_grad(X, y)
    assert J == pytest.approx(0.36954049818921686, rel=1e-14)
    blocks = net.param_blocks()
    g = {name: b.matrix(grad) for name, b in blocks.items()}
    # delta2 = a2 - y = [0.30895, -0.30895]
    np.testing.assert_allclose(g["b2"], [0.3089482027542926, -0.3089482027542926], rtol=1e-13)
    np.testing.assert_allclose(g["W2"], [[0.19230769166245193, 0.23743435063415327],
                                         [-0.19230769166245193, -0.23743435063415327]], rtol=1e-13)
    # delta1 = (delta2 W2) * a1 (1 - a1)
    np.testing.assert_allclose(g["b1"], [0.01815099363131741, -0.06870020964726352], rtol=1e-13)
    np.testing.assert_allclose(g["W1"], [[0.01815099363131741, 0.03630198726263482],
                                         [-0.06870020964726352, -0.13740041929452704]], rtol=1e-13)


def test_every_accepted_pairing_passes_below_1e_7():
    rows = pairing_matrix()
    checked = [r for r in rows if r.status != "refused"]
    accepted = {(o, loss) for o in ACTIVATIONS for loss in LOSSES if pair(o, loss).status != "refused"}
    assert len(checked) == len(ACTIVATIONS) * len(accepted)
    assert {(r.output, r.loss) for r in checked} == accepted
    assert {r.hidden for r in checked} == set(ACTIVATIONS)
    bad = [(r.hidden, r.output, r.loss, r.relative_error) for r in checked if not r.relative_error < 1e-7]
    assert not bad, f"pairings whose backprop disagrees with central differences: {bad}"


@pytest.mark.parametrize("hidden", [["tanh", "relu", "softplus"], ["selu", "gelu", "mish"]])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_deep_networks_with_l2_pass(hidden, reduction):
    net, X, Y, _ = draw_problem([5, 6, 4, 5, 3], hidden, "softmax", "cross_entropy", 9, seed=3,
                                l2=0.7, reduction=reduction)
    report = check_network(net, X, Y)
    assert report.passed, report.block_errors


def test_theta_holds_every_parameter_and_layers_are_views():
    net = Network([3, 4, 2], seed=0)
    assert net.n_params == 4 * 3 + 4 + 2 * 4 + 2 == net.theta.size
    net.theta[:] = np.arange(net.n_params)
    (W1, b1), (W2, b2) = net.layers
    assert W1[0, 0] == 0 and b1[0] == 12 and W2[0, 0] == 16 and b2[-1] == net.n_params - 1
    assert [(n, b.shape) for n, b in net.param_blocks().items()] == [
        ("W1", (4, 3)), ("b1", (4,)), ("W2", (2, 4)), ("b2", (2,))]


def test_l2_penalises_weights_only():
    net, X, Y, _ = draw_problem([3, 4, 2], "tanh", "softmax", "cross_entropy", 5, seed=1)
    lam = 2.0
    reg = Network([3, 4, 2], hidden="tanh", l2=lam)
    reg.theta[:] = net.theta
    (J0, g0), (J1, g1) = net.loss_and_grad(X, Y), reg.loss_and_grad(X, Y)
    m = len(X)
    weights = sum(float(np.sum(W ** 2)) for W, _ in net.layers)
    assert J1 - J0 == pytest.approx(lam / (2 * m) * weights)
    for name, block in net.param_blocks().items():
        expected = lam / m * net.theta[block.slice] if name.startswith("W") else 0
        np.testing.assert_allclose(g1[block.slice] - g0[block.slice], expected, atol=1e-15)


def test_sum_reduction_is_m_times_mean():
    mean_net, X, Y, _ = draw_problem([3, 4, 2], "sigmoid", "sigmoid", "binary_cross_entropy", 6, seed=2, l2=0.5)
    sum_net = Network([3, 4, 2], hidden="sigmoid", output="sigmoid", loss="bce", l2=0.5, reduction="sum")
    sum_net.theta[:] = mean_net.theta
    (Jm, gm), (Js, gs) = mean_net.loss_and_grad(X, Y), sum_net.loss_and_grad(X, Y)
    assert Js == pytest.approx(6 * Jm)
    np.testing.assert_allclose(gs, 6 * gm)


def test_labels_as_indices_or_one_hot_agree(rng):
    net = Network([4, 3, 3], seed=0)
    X, y = rng.normal(size=(5, 4)), np.array([0, 2, 1, 1, 0])
    assert net.loss(X, y) == net.loss(X, np.eye(3)[y])
    assert net.loss(X, y.astype(float)) == net.loss(X, y)
    assert net.predict(X).shape == (5,) and net.predict_proba(X).sum(axis=1) == pytest.approx(np.ones(5))


def test_float32_network_computes_in_float32(rng):
    net = Network([4, 5, 3], hidden="gelu", dtype=np.float32, seed=0)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    J, grad = net.loss_and_grad(X, y)
    assert net.theta.dtype == grad.dtype == net.forward(X).dtype == np.float32
    zs, acts = net.forward_pass(X.astype(np.float32))
    assert all(a.dtype == np.float32 for a in zs + acts)
    # checked in float64 on the same weights, the float32 gradient agrees to float32 precision
    _, grad64 = net.loss_and_grad(X, y, theta=net.theta.astype(np.float64))
    np.testing.assert_allclose(grad, grad64, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_give_finite_cost_and_gradient(dtype, rng):
    net = Network([4, 6, 3], hidden="softplus", dtype=dtype, seed=0)
    X = rng.choice([-1e4, 1e4], size=(5, 4))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        J, grad = net.loss_and_grad(X, rng.integers(0, 3, 5))
    assert np.isfinite(J) and np.all(np.isfinite(grad))


def test_thetas_round_trip_in_course_layout():
    net = Network([4, 3, 2], seed=5)
    thetas = net.to_thetas()
    assert [T.shape for T in thetas] == [(3, 5), (2, 4)]
    np.testing.assert_array_equal(thetas[0][:, 0], net.layers[0][1])  # bias is column 0
    again = Network.from_thetas(thetas)
    np.testing.assert_array_equal(again.theta, net.theta)
    # Octave's [Theta1(:); Theta2(:)] is column-major
    unrolled = np.concatenate([T.ravel(order="F") for T in thetas])
    np.testing.assert_array_equal(net.theta[net.course_order()], unrolled)
    np.testing.assert_array_equal(Network.from_thetas(unrolled, sizes=[4, 3, 2]).theta, net.theta)


def test_mat_file_round_trip(tmp_path):
    net = Network([5, 4, 3], hidden="tanh", seed=1)
    path = tmp_path / "weights.mat"
    net.save_mat(path)
    again = Network.load_mat(path, hidden="tanh")
    np.testing.assert_array_equal(again.theta, net.theta)
    with pytest.raises(ModelFileError, match="no Theta1"):
        from scipy.io import savemat
        savemat(tmp_path / "other.mat", {"W": np.ones((2, 2))})
        Network.load_mat(tmp_path / "other.mat")


def test_scipy_minimize_works_on_theta_directly():
    net, X, Y, _ = draw_problem([4, 5, 3], "tanh", "softmax", "cross_entropy", 20, seed=0)
    J0 = net.loss(X, Y)
    result = minimize(lambda t: net.loss_and_grad(X, Y, t), net.theta.copy(), jac=True, method="L-BFGS-B",
                      options={"maxiter": 50})
    assert result.fun < 0.5 * J0


@pytest.mark.parametrize("kwargs,match", [
    ({"sizes": [4]}, "at least an input and an output"),
    ({"sizes": [4, 0, 2]}, ">= 1"),
    ({"sizes": [4, 3, 2], "l2": -1}, r"l2 \(lambda\) must be a finite number >= 0, got -1"),
    ({"sizes": [4, 3, 2], "init": "glorot"}, "unknown init"),
    ({"sizes": [4, 3, 2], "hidden": ["tanh", "relu"]}, "2 hidden activations given for 1"),
    ({"sizes": [4, 3, 2], "output": "relu", "loss": "bce"},
     "'relu' with loss 'binary_cross_entropy' is refused: relu outputs can exceed 1.*use output='softmax'"),
    ({"sizes": [4, 3, 2], "dtype": np.int32}, "float32 or float64"),
])
def test_bad_configuration_is_one_clear_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Network(**kwargs)


def test_refused_pairing_can_be_overridden_and_is_then_exact():
    net, X, Y, _ = draw_problem([3, 4, 2], "tanh", "relu", "binary_cross_entropy", 6, seed=0, allow_unsafe=True)
    assert check_network(net, X, Y).passed


def test_bad_data_is_one_clear_error(rng):
    net = Network([4, 3, 3])
    with pytest.raises(DataError, match="input layer has 4 units"):
        net.loss(rng.normal(size=(5, 3)), np.zeros(5, int))
    with pytest.raises(DataError, match=r"labels must lie in \[0, 3\)"):
        net.loss(rng.normal(size=(2, 4)), np.array([0, 3]))
    with pytest.raises(ConfigError, match="theta must be a float vector of length"):
        net.loss(rng.normal(size=(2, 4)), np.array([0, 1]), theta=np.zeros(5))


def test_one_unit_softmax_is_refused():
    with pytest.raises(ConfigError, match="softmax over one output unit"):
        Network([3, 4, 1], output="softmax")


def test_predict_with_one_sigmoid_output_thresholds_at_half(rng):
    net = Network([2, 3, 1], hidden="tanh", output="sigmoid", loss="bce", seed=0)
    X = rng.normal(size=(20, 2))
    np.testing.assert_array_equal(net.predict(X), (net.forward(X)[:, 0] > 0.5).astype(int))


def test_label_count_and_octave_label_column(rng):
    net = Network([3, 4, 3])
    X = rng.normal(size=(6, 3))
    with pytest.raises(DataError, match="5 labels for 6 rows"):
        net.loss(X, [0, 1, 2, 0, 1])
    y = np.array([0, 1, 2, 0, 1, 2])
    assert net.loss(X, y[:, None]) == net.loss(X, y)


def test_from_thetas_accepts_loadmat_columns_and_keeps_dtype():
    net = Network([4, 3, 2], dtype=np.float32, seed=2)
    column = np.concatenate([T.ravel(order="F") for T in net.to_thetas()])[:, None]  # loadmat's (n, 1)
    again = Network.from_thetas(column, sizes=[4, 3, 2])
    assert again.dtype == np.float32
    np.testing.assert_array_equal(again.theta, net.theta)
    assert Network.from_thetas(net.to_thetas()).dtype == np.float32
    with pytest.raises(ConfigError, match="skip a number"):
        Network.from_thetas({"Theta1": net.to_thetas()[0], "Theta3": net.to_thetas()[1]})
    with pytest.raises(ConfigError, match="not Theta1"):
        Network.from_thetas({"Theta1": net.to_thetas()[0], "weights": net.to_thetas()[1]})
    with pytest.raises(ConfigError, match="disagree with the matrices"):
        Network.from_thetas(net.to_thetas(), sizes=[4, 5, 2])


@pytest.mark.parametrize("copier", ["deepcopy", "pickle"])
def test_copies_keep_layers_as_views_of_their_own_theta(copier):
    import copy
    import pickle

    net = Network([3, 4, 2], seed=0)
    twin = copy.deepcopy(net) if copier == "deepcopy" else pickle.loads(pickle.dumps(net))
    twin.theta[:] = 0
    assert not twin.layers[0][0].any() and net.layers[0][0].any()
