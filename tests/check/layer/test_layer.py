"""check_layer: the numerical VJP, the layer findings (each planted), the doctor's codes per input."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import check_layer
from gradcheck.errors import ConfigError, UserCodeError
from gradcheck.nn.layers import LAYERS

VARIANTS = {"conv2d": {"stride": 2, "pad": 1}, "max_pool2d": {"stride": 1},
            "linear_softmax": {"reg": 0.3}, "linear_svm": {"reg": 0.3}, "dropout": {"p": 0.8}}


def codes(report):
    return [d.code for d in report.diagnoses]


def reference_layer(name, seed=0, **params):
    layer = LAYERS[name]
    return layer, layer.example(np.random.default_rng(seed)), {**layer.params, **params}


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_reference_layer_passes_with_no_finding(name):
    layer, inputs, params = reference_layer(name, **VARIANTS.get(name, {}))
    report = check_layer(layer.forward, layer.backward, inputs, params=params,
                         constants=layer.constants, reference=name)
    assert report.passed and report.diagnoses == [], report.summary()
    assert all(report.inputs[k].passed for k in layer.differentiable)
    assert report.relative_error < 1e-7


# --- kinks are notes, not findings -----------------------------------------------------------------

def _relu_at_zero():
    x = np.random.default_rng(0).standard_normal((4, 5))
    x[0, :3] = 0.0
    return "relu", {"x": x}, {}


def _pool_with_ties():
    x = np.random.default_rng(0).permutation(2 * 4 * 4).reshape(1, 2, 4, 4) / 3.0
    x[0, 0, 0, 1] = x[0, 0, 0, 0] = x[0, 0, :2, :2].max()  # a tie for the window's maximum
    return "max_pool2d", {"x": x}, {}


def _svm_margin_zero():
    x, y = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.2]]), np.array([0, 2])
    return "svm_loss", {"x": x, "y": y}, {}  # x[0, 1] - x[0, 0] + 1 = 0 exactly


@pytest.mark.parametrize("case", [_relu_at_zero, _pool_with_ties, _svm_margin_zero])
def test_kinks_are_notes_and_the_layer_passes(case):
    name, inputs, params = case()
    layer = LAYERS[name]
    report = check_layer(layer.forward, layer.backward, inputs, params=params)
    assert report.passed and report.diagnoses == []
    assert [d.code for d in report.notes] == ["kink"]
    assert report.gradient.excluded.any()


# --- the user's layer, as it is written --------------------------------------------------------------

rng = np.random.default_rng(3)
X, W, B = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
INPUTS = {"x": X, "w": W, "b": B}


def affine_forward(x, w, b):
    return x @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, _ = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def planted(dx=None, dw=None, db=None, order=None):
    """affine_backward with some gradients replaced: each a function of (dout, x, w)."""
    def backward(dout, cache):
        x, w, _ = cache
        right = dict(zip("xwb", affine_backward(dout, cache)))
        for key, fn in (("x", dx), ("w", dw), ("b", db)):
            if fn is not None:
                right[key] = fn(dout, x, w)
        return tuple(right[k] for k in (order or "xwb"))
    return backward


@pytest.mark.parametrize("backward, code, block", [
    (planted(db=lambda d, x, w: d), "shape-not-summed", "b"),
    (planted(db=lambda d, x, w: d.sum(axis=1)), "shape-wrong-axis", "b"),
    (planted(dw=lambda d, x, w: d.T @ x), "shape-transposed", "w"),
    (planted(dx=lambda d, x, w: (d @ w.T).ravel()), "shape-flattened", "x"),
    (planted(dw=lambda d, x, w: np.ones((2, 2))), "shape-mismatch", "w"),
    (planted(order="wxb"), "wrong-order", None),
])
def test_wrong_shapes_and_order_are_named(backward, code, block):
    report = check_layer(affine_forward, backward, INPUTS)
    assert codes(report) == [code]
    assert report.diagnoses[0].block == block
    assert not report.passed


def test_a_repairable_shape_is_compared_after_the_repair():
    report = check_layer(affine_forward, planted(db=lambda d, x, w: d), INPUTS)
    assert report.inputs["b"].returned_shape == (4, 3) and report.inputs["b"].passed
    assert report.gradient.passed  # summed over axis 0 it is right: the shape is the only finding


def test_an_unrepairable_shape_leaves_its_input_out():
    report = check_layer(affine_forward, planted(db=lambda d, x, w: d.sum(axis=1)), INPUTS)
    assert report.inputs["b"].passed is False and report.inputs["b"].relative_error is None
    assert report.inputs["w"].passed and report.gradient.excluded.sum() == 3


def test_gradients_of_equal_shapes_in_the_wrong_order_are_told_by_their_values():
    square = {"x": rng.standard_normal((3, 3)), "w": rng.standard_normal((3, 3)), "b": B}
    report = check_layer(affine_forward, planted(order="wxb"), square)
    assert codes(report) == ["wrong-order"] and "told by their values" in report.diagnoses[0].message
    assert report.gradient.passed


def test_one_inputs_gradient_returned_for_another_is_wrong_input():
    square = {"x": rng.standard_normal((3, 3)), "w": rng.standard_normal((3, 3)), "b": B}
    report = check_layer(affine_forward, planted(dx=lambda d, x, w: x.T @ d), square)
    assert codes(report) == ["wrong-input"]
    assert report.diagnoses[0].evidence == {"returned_for": "x", "equals_gradient_of": "w"}


@pytest.mark.parametrize("dx, code", [
    (lambda d, x, w: np.ones_like(x) @ np.diag(np.ones(5)), "upstream-ignored"),
    (lambda d, x, w: d @ w.T + 0.1 * x, "upstream-constant-term"),
    (lambda d, x, w: np.maximum(d, 0) @ w.T, "upstream-nonlinear"),
    (lambda d, x, w: (d ** 2) @ w.T, "upstream-nonlinear"),
])
def test_the_upstream_gradient_ignored_or_used_nonlinearly_is_named(dx, code):
    report = check_layer(affine_forward, planted(dx=dx), INPUTS)
    assert codes(report) == [code]  # the doctor's generic finding for dx is explained by it
    assert report.diagnoses[0].block == "x"


def test_a_constant_term_is_measured():
    report = check_layer(affine_forward, planted(dx=lambda d, x, w: d @ w.T + 0.1 * x), INPUTS)
    dx = report.gradient.analytic[:20]
    assert report.diagnoses[0].evidence["term_norm"] == pytest.approx(0.1 * np.linalg.norm(X), rel=1e-9)
    assert report.diagnoses[0].evidence["share"] == pytest.approx(
        0.1 * np.linalg.norm(X) / np.linalg.norm(dx), rel=1e-9)


def test_a_one_over_n_inside_a_layer_is_batch_scaling():
    report = check_layer(affine_forward, planted(dw=lambda d, x, w: x.T @ d / 4,
                                                db=lambda d, x, w: d.sum(axis=0) / 4), INPUTS)
    assert codes(report) == ["batch-scaling", "batch-scaling"]
    assert [d.block for d in report.diagnoses] == ["w", "b"]
    assert report.diagnoses[0].evidence["k"] == pytest.approx(0.25, rel=1e-8)
    assert report.diagnoses[0].evidence["N"] == 4


def test_the_doctors_codes_apply_per_input():
    backward = planted(dx=lambda d, x, w: -(d @ w.T), dw=lambda d, x, w: 2 * x.T @ d,
                       db=lambda d, x, w: np.zeros(3))
    report = check_layer(affine_forward, backward, INPUTS)
    assert [(d.code, d.block) for d in report.diagnoses] == [
        ("sign-flip", "x"), ("scale-factor", "w"), ("zero-gradient", "b")]
    assert "a - y" not in report.diagnoses[0].fix  # in a layer's words, not a network's


def test_a_transposed_square_gradient_is_the_doctors_transposed():
    square = {"x": rng.standard_normal((4, 3)), "w": rng.standard_normal((3, 3)), "b": B}
    report = check_layer(affine_forward, planted(dw=lambda d, x, w: (x.T @ d).T), square)
    assert [(d.code, d.block) for d in report.diagnoses] == [("transposed", "w")]


# --- mutation ------------------------------------------------------------------------------------------

def relu_in_place(x):
    x[x < 0] = 0  # the caller's x changes
    return x, x


def relu_backward_in_place(dout, cache):
    dout[cache <= 0] = 0  # and so does the upstream gradient
    return dout


def test_in_place_relu_mutates_its_input_and_dout():
    x = X.copy()
    report = check_layer(relu_in_place, relu_backward_in_place, {"x": x})
    assert codes(report) == ["forward-mutates-input", "backward-mutates-dout"]
    assert report.gradient.passed  # the numbers are right: only the mutation is wrong
    np.testing.assert_array_equal(x, X)  # and the user's own array is untouched by the check
    assert report.diagnoses[0].block == "x"


def test_backward_that_centres_the_cached_input_mutates_input_and_gets_dw_wrong():
    def backward(dout, cache):
        x, w, _ = cache
        x -= x.mean(axis=0)
        return dout @ w.T, x.T @ dout, dout.sum(axis=0)

    report = check_layer(affine_forward, backward, INPUTS)
    assert codes(report) == ["backward-mutates-input", "block-mismatch"]
    assert report.diagnoses[1].block == "w"


def test_backward_that_changes_its_cache_gives_other_gradients_the_second_time():
    def forward(x):
        return x ** 2, {"x2": 2 * x}

    def backward(dout, cache):
        cache["x2"] *= dout  # the cache now holds the gradient
        return cache["x2"].copy()

    report = check_layer(forward, backward, {"x": X})
    [finding] = [d for d in report.diagnoses if d.code == "backward-mutates-cache"]
    assert finding.evidence["second_call_differs"] and "cache['x2']" in finding.message


def test_a_cache_that_aliases_the_output_is_a_note():
    def forward(x, gamma):
        out = x - x.mean(axis=0)
        cache = (out, gamma)
        out *= gamma  # the cached centred x is now gamma times it
        return out, cache

    def backward(dout, cache):
        centred, gamma = cache
        dx = gamma * (dout - dout.mean(axis=0))
        return dx, (dout * centred).sum(axis=0)

    report = check_layer(forward, backward, {"x": X, "gamma": rng.standard_normal(5)})
    assert not report.passed
    assert [d.code for d in report.notes] == ["cache-aliases-output"]
    assert not report.notes[0].evidence["gradients_agree"]


# --- ways of writing a layer ------------------------------------------------------------------------

def test_a_loss_that_returns_its_gradient_with_dout_one():
    def softmax_loss(x, y):
        p = np.exp(x - x.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dx = p.copy()
        dx[np.arange(len(y)), y] -= 1
        return -np.log(p[np.arange(len(y)), y]).mean(), dx  # dx misses the 1/N

    report = check_layer(softmax_loss, None, {"x": X, "y": np.array([0, 2, 1, 4])},
                         reference="softmax_loss")
    assert report.kind == "numpy-loss"
    assert codes(report) == ["scale-factor", "mistake:softmax-loss-missing-1/N"]
    assert report.diagnoses[0].evidence["k"] == pytest.approx(4.0, rel=1e-6)


def test_a_course_style_param_dict_and_dict_gradients():
    layer = LAYERS["conv2d"]

    def conv_forward(x, w, b, conv_param):
        return layer.forward(x, w, b, **conv_param)

    def conv_backward(dout, cache):
        return dict(zip(("dx", "dw", "db"), layer.backward(dout, cache)))

    inputs = layer.example(np.random.default_rng(0))
    report = check_layer(conv_forward, conv_backward, inputs, params={"stride": 2, "pad": 1},
                         reference="conv2d")
    assert report.passed and report.diagnoses == []


def test_a_forward_without_cache_gets_its_inputs_back():
    def relu_backward(dout, x):
        return dout * (x > 0)

    report = check_layer(lambda x: np.maximum(x, 0), relu_backward, {"x": X})
    assert report.passed


def test_the_quick_check_finds_the_wrong_input():
    report = check_layer(affine_forward, planted(dw=lambda d, x, w: 1.01 * x.T @ d), INPUTS, quick=True)
    assert report.mode == "quick" and not report.passed
    assert report.quick.labels and all(label.startswith("w[") for label in report.quick.labels)


def test_json_has_the_documented_keys():
    report = check_layer(affine_forward, planted(db=lambda d, x, w: d), INPUTS, reference="affine")
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) == {"mode", "kind", "passed", "n_samples", "seed", "outputs", "inputs", "gradient",
                         "diagnoses", "notes", "reference"}
    assert data["inputs"][2] == {"name": "b", "shape": [3], "dtype": "float64", "differentiated": True,
                                 "returned_shape": [4, 3], "relative_error": data["inputs"][2]["relative_error"],
                                 "passed": True}
    assert [d["code"] for d in data["reference"]] == ["mistake:affine-db-not-summed"]


def test_the_upstream_gradient_is_seeded():
    first = check_layer(affine_forward, affine_backward, INPUTS, seed=5)
    again = check_layer(affine_forward, affine_backward, INPUTS, seed=5)
    other = check_layer(affine_forward, affine_backward, INPUTS, seed=6)
    assert first.gradient.cost == again.gradient.cost != other.gradient.cost


@settings(max_examples=15, deadline=None)
@given(k=st.floats(1.5, 50.0), n=st.integers(2, 6), d=st.integers(1, 4), m=st.integers(1, 4))
def test_any_constant_factor_on_dw_is_measured(k, n, d, m):
    g = np.random.default_rng(n * 100 + d * 10 + m)
    inputs = {"x": g.standard_normal((n, d)), "w": g.standard_normal((d, m)), "b": g.standard_normal(m)}
    report = check_layer(affine_forward, planted(dw=lambda dout, x, w: k * x.T @ dout), inputs)
    [finding] = report.diagnoses
    assert finding.code == "scale-factor" and finding.block == "w"
    assert finding.evidence["k"] == pytest.approx(k, rel=1e-6)


# --- bad input: one sentence each -----------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: check_layer(affine_forward, affine_backward, [X, W, B]), ConfigError, "dict of name"),
    (lambda: check_layer(affine_forward, affine_backward, {"x": X + 1j, "w": W, "b": B}), ConfigError,
     "complex"),
    (lambda: check_layer(affine_forward, affine_backward, {"x": X * np.nan, "w": W, "b": B}), ConfigError,
     "NaN"),
    (lambda: check_layer(affine_forward, affine_backward, INPUTS, constants=["y"]), ConfigError,
     "not an input"),
    (lambda: check_layer(affine_forward, lambda d, c: (d, d), INPUTS), UserCodeError,
     r"returned 2 gradient\(s\) for the 3"),
    (lambda: check_layer(affine_forward, lambda d, c: {"dx": d, "dq": d, "db": d}, INPUTS), UserCodeError,
     "names no input"),
    (lambda: check_layer(affine_forward, lambda d, c: (None, d, d), INPUTS), UserCodeError, "None"),
    (lambda: check_layer(lambda x, w, b: 1 / 0, affine_backward, INPUTS), UserCodeError,
     "ZeroDivisionError"),
    (lambda: check_layer(affine_forward, affine_backward, INPUTS, params={"stride": 1}), ConfigError,
     "which name none of"),
    (lambda: check_layer(lambda x, w, b: "out", affine_backward, INPUTS), UserCodeError,
     "not an array of floats"),
    (lambda: check_layer(affine_forward, affine_backward, INPUTS, eps=2.0), ConfigError, "eps"),
    (lambda: check_layer(affine_forward, affine_backward, INPUTS, reference="afine"), ConfigError,
     "did you mean 'affine'"),
    (lambda: check_layer(affine_forward, affine_backward, {"x": X, "w": W}), UserCodeError,
     "missing 1 required positional argument"),
    (lambda: check_layer(affine_forward, affine_backward, INPUTS, reference="relu"), ConfigError,
     r"the reference relu takes the inputs \(x\) but yours are \(x, w, b\)"),
    (lambda: check_layer(lambda x: (x, None), None, {"x": X}), UserCodeError, "scalar loss"),
])
def test_bad_input_is_one_sentence(call, error, words):
    with pytest.raises(error, match=words) as raised:
        call()
    assert "\n" not in str(raised.value)


def test_a_convolutions_padding_left_on_dx_is_shape_padded():
    layer = LAYERS["conv2d"]
    inputs = layer.example(np.random.default_rng(0))

    def backward(dout, cache):
        dx, dw, db = layer.backward(dout, cache)
        return np.pad(dx, ((0, 0), (0, 0), (2, 2), (2, 2))), dw, db

    report = check_layer(layer.forward, backward, inputs, params={"stride": 1, "pad": 2})
    assert codes(report) == ["shape-padded"] and report.diagnoses[0].evidence["pad"] == 2
    assert report.gradient.passed  # cropped, dx is right
