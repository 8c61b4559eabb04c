"""Reference mode on the layouts people use: found without being told, named in the output.

The user-style network below packs its own ``W`` (n_out, n_in) and ``b`` into a flat vector
every way of :mod:`gradcheck.check.reference.layouts` — written out here by hand, apart from the
library, so recognising a layout is evidence and not an identity.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logsumexp

from gradcheck import Network
from gradcheck.check.reference.compare import compare_reference, match_reference
from gradcheck.check.reference.layouts import ALL_LAYOUTS, LAYOUTS, Layout, label_candidates, parse_layout
from gradcheck.errors import ConfigError, DataError

# --- a user's network, packed by hand ---------------------------------------------------------


def pack(Ws, bs, layout: Layout):
    """The user's flat vector: each layer's arrays as the layout says, written out longhand."""
    arrays = []
    for W, b in zip(Ws, bs):
        if layout.bias == "first":
            M = np.column_stack([b, W])
        elif layout.bias == "last":
            M = np.column_stack([W, b])
        else:
            M = W
        M = M if layout.weights == "out-in" else M.T
        arrays.append([M, b] if layout.bias == "separate" else [M])
    if layout.bias == "separate" and layout.packing == "weights-then-biases":
        arrays = [[a[0] for a in arrays], [a[1] for a in arrays]]
    return np.concatenate([a.ravel(order=layout.unroll) for group in arrays for a in group])


def unpack(theta, sizes, layout: Layout):
    """Inverse of :func:`pack`: read the arrays off in order, then split bias from weights."""
    shapes = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        cols = n_in + (layout.bias != "separate")
        shapes.append([(n_out, cols) if layout.weights == "out-in" else (cols, n_out)]
                      + ([(n_out,)] if layout.bias == "separate" else []))
    if layout.bias == "separate" and layout.packing == "weights-then-biases":
        read = [s[0] for s in shapes] + [s[1] for s in shapes]
    else:
        read = [s for layer in shapes for s in layer]
    arrays, start = [], 0
    for shape in read:
        size = int(np.prod(shape))
        arrays.append(theta[start:start + size].reshape(shape, order=layout.unroll))
        start += size
    if layout.bias == "separate" and layout.packing == "weights-then-biases":
        n = len(sizes) - 1
        arrays = [a for pair in zip(arrays[:n], arrays[n:]) for a in pair]
    Ws, bs = [], []
    for l in range(len(sizes) - 1):
        if layout.bias == "separate":
            M, b = arrays[2 * l], arrays[2 * l + 1]
            Ws.append(M if layout.weights == "out-in" else M.T)
            bs.append(b)
        else:
            M = arrays[l] if layout.weights == "out-in" else arrays[l].T
            W, b = (M[:, 1:], M[:, 0]) if layout.bias == "first" else (M[:, :-1], M[:, -1])
            Ws.append(W)
            bs.append(b)
    return Ws, bs


L2 = 0.4


def user_cost_and_grad(theta, X, Y, sizes, layout, plant=()):
    """tanh hidden layers, softmax output, mean cross-entropy + l2/(2m) sum W^2."""
    Ws, bs = unpack(theta, sizes, layout)
    m = len(X)
    acts, zs = [X], []
    for l, (W, b) in enumerate(zip(Ws, bs)):
        zs.append(acts[-1] @ W.T + b)
        last = l == len(Ws) - 1
        acts.append(np.exp(zs[-1] - logsumexp(zs[-1], axis=1, keepdims=True)) if last else np.tanh(zs[-1]))
    J = -np.sum(Y * np.log(acts[-1])) / m + L2 / (2 * m) * sum(np.sum(W ** 2) for W in Ws)
    delta = acts[-1] - Y
    gWs, gbs = [], []
    scale = 1.0 if "missing-m" in plant else 1.0 / m
    for l in range(len(Ws) - 1, -1, -1):
        gWs.insert(0, scale * delta.T @ acts[l] + L2 / m * Ws[l])
        gbs.insert(0, scale * delta.sum(axis=0) + (L2 / m * bs[l] if "bias-reg" in plant else 0))
        if l:
            deriv = (expit(zs[l - 1]) * (1 - expit(zs[l - 1])) if "sigmoid-derivative" in plant
                     else 1.0 if "no-hidden-derivative" in plant
                     else (1 - acts[l] ** 2) ** 2 if "squared-tanh-derivative" in plant
                     else 1 - acts[l] ** 2)
            delta = (delta @ Ws[l]) * deriv
    return J, pack(gWs, gbs, layout)


def problem(sizes=(3, 4, 3), layout=LAYOUTS["course"], seed=0, m=6, labels="0-based"):
    rng = np.random.default_rng(seed)
    Ws = [rng.uniform(-0.8, 0.8, (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [rng.uniform(-0.8, 0.8, o) for o in sizes[1:]]
    X = rng.standard_normal((m, sizes[0]))
    k = sizes[-1]
    classes = np.resize(np.arange(k), m)[rng.permutation(m)]  # every class present
    Y = np.eye(k)[classes]
    y = {"0-based": classes, "1-based": classes + 1, "K-is-0": np.where(classes == 0, k, classes)}[labels]
    spec = {"sizes": list(sizes), "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
            "l2": L2}
    return spec, pack(Ws, bs, layout), X, Y, y


def user_functions(theta_layout, X, Y, sizes, plant=()):
    cost = lambda t: user_cost_and_grad(t, X, Y, sizes, theta_layout, plant)[0]
    grad = lambda t: user_cost_and_grad(t, X, Y, sizes, theta_layout, plant)[1]
    return cost, grad


def same_order(a: Layout, b: Layout, sizes) -> bool:
    net = Network(list(sizes), seed=0)
    return np.array_equal(a.order(net), b.order(net))


def found_layout(result) -> Layout:
    return parse_layout(result.layout["tokens"])[0][0]


# --- the layouts themselves -------------------------------------------------------------------

# W1 = [[0, 1], [2, 3]], b1 = [4, 5], W2 = [[6, 7]], b2 = [8] in the library's vector for
# sizes (2, 2, 1); each layout's vector, worked out by hand
HAND_ORDERS = {
    "C": [0, 1, 2, 3, 4, 5, 6, 7, 8],
    "course": [4, 5, 0, 2, 1, 3, 8, 6, 7],            # [b W](:) per layer
    "course-C": [4, 0, 1, 5, 2, 3, 8, 6, 7],          # [b W] row by row
    "bias-last,out-in,C": [0, 1, 4, 2, 3, 5, 6, 7, 8],
    "bias-last,out-in,F": [0, 2, 1, 3, 4, 5, 6, 7, 8],  # [W b](:): columns of W, then b
    "bias-first,in-out,C": [4, 5, 0, 2, 1, 3, 8, 6, 7],  # [b; W'] row by row = course
    "bias-last,in-out,C": [0, 2, 1, 3, 4, 5, 6, 7, 8],
    "bias-separate,out-in,F,per-layer": [0, 2, 1, 3, 4, 5, 6, 7, 8],
    "cs231n": [0, 2, 1, 3, 4, 5, 6, 7, 8],            # W1 (in, out), b1, W2, b2
    "bias-separate,out-in,C,weights-then-biases": [0, 1, 2, 3, 6, 7, 4, 5, 8],
    "sklearn": [0, 2, 1, 3, 6, 7, 4, 5, 8],           # coefs_ (in, out) row-major, then intercepts_
}


@pytest.mark.parametrize("name,expected", HAND_ORDERS.items())
def test_hand_worked_orders(name, expected):
    net = Network([2, 2, 1], output="sigmoid", loss="binary_cross_entropy", seed=0)
    [layout], _ = parse_layout(name)
    assert layout.order(net).tolist() == expected


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda lay: lay.tokens)
def test_the_library_reads_what_the_user_packed(layout):
    sizes = (3, 4, 2)
    net = Network(list(sizes), seed=1)
    user = pack([W.copy() for W, _ in net._views], [b.copy() for _, b in net._views], layout)
    np.testing.assert_array_equal(net.theta[layout.order(net)], user)
    blocks = layout.blocks(net)
    assert blocks[0].start == 0 and blocks[-1].stop == net.n_params
    Ws, bs = unpack(user, sizes, layout)
    np.testing.assert_array_equal(Ws[0], net._views[0][0])  # the test's own unpacking is sound
    first = blocks[0].matrix(user)
    expected = {"separate": Ws[0], "first": np.column_stack([bs[0], Ws[0]]),
                "last": np.column_stack([Ws[0], bs[0]])}[layout.bias]
    np.testing.assert_array_equal(first, expected if layout.weights == "out-in" else expected.T)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.sampled_from(ALL_LAYOUTS))
def test_every_layout_is_a_permutation_tiled_by_its_blocks(sizes, layout):
    net = Network(sizes, output="identity", loss="squared_error", seed=0)
    order = layout.order(net)
    assert sorted(order.tolist()) == list(range(net.n_params))
    blocks = layout.blocks(net)
    assert [b.start for b in blocks] == [0] + [b.stop for b in blocks[:-1]]
    assert blocks[-1].stop == net.n_params


def test_layout_words_and_their_errors():
    assert parse_layout("course")[0] == (LAYOUTS["course"],)
    column_major = parse_layout("F")[0]
    assert column_major and all(lay.unroll == "F" for lay in column_major)
    assert parse_layout("bias-last, in-out, F")[0] == (Layout("last", "in-out", "F"),)
    layouts, names = parse_layout({"bias": "last-column", "weights": "out-in", "unroll": "F",
                                   "packing": "per-layer", "blocks": ["w1", "w2"]})
    assert layouts == (Layout("last", "out-in", "F"),) and names == ("w1", "w2")
    with pytest.raises(ConfigError, match="did you mean 'course'"):
        parse_layout("coarse")
    with pytest.raises(ConfigError, match="sets unroll twice"):
        parse_layout("C,F")
    with pytest.raises(ConfigError, match="drop one of them"):
        parse_layout("bias-first,weights-then-biases")


# --- recognised without being told ----------------------------------------------------------------

@pytest.mark.parametrize("with_cost", [False, True], ids=["gradient", "gradient+cost"])
@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda lay: lay.tokens)
def test_a_correct_gradient_is_correct_in_every_layout(layout, with_cost):
    sizes = (3, 4, 3)
    spec, theta, X, Y, y = problem(sizes, layout)
    cost, grad = user_functions(layout, X, Y, sizes)
    result = compare_reference(grad, theta, spec, X, y, cost if with_cost else None)
    assert result.findings == []
    assert same_order(found_layout(result), layout, sizes), result.layout


PLANTS = [("sigmoid-derivative", "mistake:sigmoid-derivative"), ("missing-m", "mistake:missing-1/m"),
          ("bias-reg", "mistake:biases-regularized"),
          ("no-hidden-derivative", "mistake:hidden-derivative-missing")]


# each layout with one of the mistakes in turn: every mistake meets every kind of layout
@pytest.mark.parametrize("layout,plant,code", [(lay, *PLANTS[i % len(PLANTS)]) for i, lay in enumerate(ALL_LAYOUTS)],
                         ids=lambda x: x.tokens if isinstance(x, Layout) else None)
def test_a_planted_mistake_is_named_in_every_layout(layout, plant, code):
    sizes = (4, 5, 3)
    spec, theta, X, Y, y = problem(sizes, layout, seed=2)
    _, grad = user_functions(layout, X, Y, sizes, {plant})
    result = compare_reference(grad, theta, spec, X, y)
    assert [d.code for d in result.findings] == [code]
    assert same_order(found_layout(result), layout, sizes), result.layout
    assert result.findings[0].evidence["gradient"]["layout"] == result.layout["name"]


# one layout of each distinct order (the others put the same numbers in the same places)
DISTINCT = tuple(dict((tuple(lay.order(Network([4, 5, 3], seed=0))), lay) for lay in reversed(ALL_LAYOUTS)).values())


@pytest.mark.parametrize("layout", DISTINCT, ids=lambda lay: lay.tokens)
def test_a_slip_outside_the_catalogue_is_placed_by_the_blocks_it_leaves_exact(layout):
    # the hidden delta with tanh' squared (no catalogued mistake): the output layer's gradient
    # stays exact, in this layout only
    sizes = (4, 5, 3)
    spec, theta, X, Y, y = problem(sizes, layout, seed=3)
    _, grad = user_functions(layout, X, Y, sizes, {"squared-tanh-derivative"})
    result = compare_reference(grad, theta, spec, X, y)  # no cost: the gradient alone must tell
    assert same_order(found_layout(result), layout, sizes), result.layout
    assert "equals the reference's in this layout" in result.layout["how"]
    [finding] = result.findings
    assert finding.code == "reference-mismatch"
    errors = finding.evidence["block_errors_to_correct"]
    assert max(errors.values()) > 1e-2 and min(errors.values()) < 1e-12
    exact = [name for name, e in errors.items() if e < 1e-6]
    assert f"{', '.join(exact)} equal" in finding.message  # the output layer's arrays


def test_samples_as_columns_are_read_as_rows():
    # Nielsen keeps one column per sample: X (n_in, m), targets (k, m)
    sizes = (3, 4, 3)
    layout = LAYOUTS["C"]
    spec, theta, X, Y, y = problem(sizes, layout, m=7)
    cost, grad = user_functions(layout, X, Y, sizes, {"missing-m"})
    result = compare_reference(grad, theta, spec, X.T, Y.T, cost)
    assert result.layout["samples"] == "columns"
    assert [d.code for d in result.findings] == ["mistake:missing-1/m"]


def test_the_given_layout_is_used_and_reported_as_given():
    sizes = (3, 4, 3)
    spec, theta, X, Y, y = problem(sizes, LAYOUTS["course"])
    _, grad = user_functions(LAYOUTS["course"], X, Y, sizes, {"missing-m"})
    result = compare_reference(grad, theta, {**spec, "layout": "course"}, X, y)
    assert result.layout["name"] == "course" and result.layout["how"] == "given in the spec"
    assert [b.name for b in result.blocks] == ["Theta1", "Theta2"]
    assert [d.code for d in result.findings] == ["mistake:missing-1/m"]


@pytest.mark.parametrize("plant,codes", [((), []), (("missing-m",), ["mistake:missing-1/m"])])
def test_a_wrong_layout_in_the_spec_is_said_and_the_right_one_used(plant, codes):
    sizes = (3, 4, 3)
    spec, theta, X, Y, y = problem(sizes, LAYOUTS["course"])
    cost, grad = user_functions(LAYOUTS["course"], X, Y, sizes, plant)
    result = compare_reference(grad, theta, {**spec, "layout": "C"}, X, y, cost)
    assert [d.code for d in result.findings] == ["reference-wrong-layout"] + codes
    note = result.findings[0]
    assert "The spec says layout=C" in note.message and note.fix.startswith("pass layout=course")
    assert result.layout["name"] == "course" and "(the spec said layout=C)" in result.layout["how"]


def test_names_from_the_spec_label_the_blocks():
    sizes = (3, 4, 3)
    layout = Layout("last", "out-in", "F")
    spec, theta, X, Y, y = problem(sizes, layout)
    _, grad = user_functions(layout, X, Y, sizes)
    named = {"bias": "last-column", "weights": "out-in", "unroll": "F", "blocks": ["w1", "w2"]}
    result = compare_reference(grad, theta, {**spec, "layout": named}, X, y)
    assert [(b.name, b.shape, b.order) for b in result.blocks] == [("w1", (4, 4), "F"), ("w2", (3, 5), "F")]


# --- labels numbered from 1 -------------------------------------------------------------------

@pytest.mark.parametrize("labels", ["0-based", "1-based", "K-is-0"])
@pytest.mark.parametrize("layout", [LAYOUTS["course"], LAYOUTS["course-C"]], ids=["course", "course-C"])
def test_labels_numbered_from_one_are_read_as_the_user_meant(layout, labels):
    sizes = (3, 4, 3)
    spec, theta, X, Y, y = problem(sizes, layout, labels=labels)
    cost, grad = user_functions(layout, X, Y, sizes)
    result = compare_reference(grad, theta, spec, X, y, cost)
    assert result.findings == [] and result.layout["labels"] == labels


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.lists(st.integers(0, 5), min_size=1, max_size=12))
def test_every_reading_of_labels_is_one_hot_and_0_based_labels_are_read_as_given(k, classes):
    y = np.array([c % k for c in classes])
    readings = label_candidates(y, k)
    assert readings[0][0] == "0-based"
    np.testing.assert_array_equal(readings[0][1], np.eye(k)[y])
    for _, Y in readings:
        assert Y.shape == (len(y), k) and np.all(Y.sum(axis=1) == 1)
    assert len({Y.tobytes() for _, Y in readings}) == len(readings)  # no reading twice


def test_digit_zero_as_ten():
    # ex4: y in 1..10 with 10 for the digit 0, Y = eye(10)(y, :)
    y = np.array([10, 1, 5, 10, 9])
    [(name, Y)] = [(n, Y) for n, Y in label_candidates(y, 10) if n == "1-based"]
    assert Y[0, 9] == 1 and Y[1, 0] == 1 and Y.sum() == 5
    assert [n for n, _ in label_candidates(y, 10)] == ["1-based", "K-is-0"]
    assert [n for n, _ in label_candidates(np.array([1, 2, 1]), 3)] == ["0-based", "1-based"]
    with pytest.raises(DataError, match="labels=0-based"):
        label_candidates(y, 10, "0-based")
    with pytest.raises(ConfigError, match="did you mean '1-based'"):
        label_candidates(y, 10, "1-base")


# --- a layout nobody told us about ------------------------------------------------------------

def _bias_before_weights(Ws, bs):
    return np.concatenate([np.r_[b, W.ravel()] for W, b in zip(Ws, bs)])


@pytest.mark.parametrize("with_cost", [False, True], ids=["gradient", "gradient+cost"])
def test_a_correct_gradient_in_an_unknown_layout_is_one_finding_that_says_what_to_pass(with_cost):
    # b1 W1 b2 W2: no layout of the catalogue; the gradient is right for the user's own cost
    sizes = (3, 4, 3)
    spec, theta_c, X, Y, y = problem(sizes, LAYOUTS["C"])
    lib = LAYOUTS["C"]
    to_user = lambda t: _bias_before_weights(*unpack(t, sizes, lib))
    n = len(theta_c)
    back = np.argsort(to_user(np.arange(n, dtype=float)).astype(int))
    cost = lambda t: user_cost_and_grad(t[back], X, Y, sizes, lib)[0]
    grad = lambda t: to_user(user_cost_and_grad(t[back], X, Y, sizes, lib)[1])
    result = compare_reference(grad, to_user(theta_c), spec, X, y, cost if with_cost else None)
    [finding] = result.findings
    assert finding.code == "reference-layout-unrecognised" and result.layout is None
    assert "layout=" in finding.fix and "course" in finding.fix
    assert "not recognised" in finding.message and "closest" in finding.message
    assert finding.evidence["gradient_matches_cost"] is (True if with_cost else None)
    if with_cost:
        assert "gradient of your cost" in finding.message


def test_a_layout_sharing_blocks_with_a_known_one_is_not_a_mismatch():
    # W1 b1 b2 W2: the first two arrays sit where layout C has them, the rest is reordered; the
    # gradient is its cost's, so this is an unknown layout, not a wrong W2 and b2
    sizes = (3, 4, 3)
    lib = LAYOUTS["C"]
    spec, theta_c, X, Y, y = problem(sizes, lib)
    n1 = 4 * 3 + 4
    to_user = lambda t: np.r_[t[:n1], t[-3:], t[n1:-3]]
    back = np.argsort(to_user(np.arange(theta_c.size)))
    cost = lambda t: user_cost_and_grad(t[back], X, Y, sizes, lib)[0]
    grad = lambda t: to_user(user_cost_and_grad(t[back], X, Y, sizes, lib)[1])
    [finding] = match_reference(grad, to_user(theta_c), spec, X, y, cost)
    assert finding.code == "reference-layout-unrecognised"


# --- the closest mistake, always ------------------------------------------------------------------

def test_the_closest_mistake_is_reported_with_its_distance_when_not_decisive():
    sizes = (4, 5, 3)
    layout = LAYOUTS["course"]
    spec, theta, X, Y, y = problem(sizes, layout, seed=4)
    _, wrong = user_functions(layout, X, Y, sizes, {"sigmoid-derivative"})
    rng = np.random.default_rng(0)
    noisy = lambda t: wrong(t) * (1 + 0.05 * rng.standard_normal(t.size))  # 5 %: not decisive
    [finding] = match_reference(noisy, theta, spec, X, y)
    assert finding.code == "reference-mismatch"
    closest = finding.evidence["closest_mistake"]
    assert closest["code"] == "mistake:sigmoid-derivative" and 1e-2 < closest["relative_error"] < 0.2
    assert "the closest is mistake:sigmoid-derivative at relative error" in finding.message
    assert finding.evidence["layout"] == "course"
