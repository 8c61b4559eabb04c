"""The layer mistake catalogue: every entry planted, named by its code, and failed without a reference."""
import re
from pathlib import Path

import numpy as np
import pytest

from gradcheck import check_layer
from gradcheck.check.layer.mistakes import LAYER_MISTAKES, get_layer_mistake, mistakes_of
from gradcheck.check.reference.mistakes import MISTAKES
from gradcheck.errors import ConfigError
from gradcheck.nn.layers import LAYERS

# the point each layer's mistakes are planted at: params under which every one of them applies
PARAMS = {"conv2d": {"stride": 2, "pad": 1}, "linear_softmax": {"reg": 0.3}, "linear_svm": {"reg": 0.3},
          "dropout": {"p": 0.8}}


def point(mistake):
    layer = LAYERS[mistake.layer]
    inputs = layer.example(np.random.default_rng(1))
    if mistake.code == "mistake:affine-dx-not-transposed":  # dout w needs a square w
        g = np.random.default_rng(2)
        inputs.update(w=g.standard_normal((6, 6)), b=g.standard_normal(6))
    return layer, inputs, {**layer.params, **PARAMS.get(mistake.layer, {})}


def planted(layer, mistake):
    """The reference layer's backward with this mistake made."""
    def backward(dout, cache):
        grads = dict(zip(layer.differentiable, layer.backward(dout, cache)))
        grads.update(mistake.backward(dout, cache))
        return tuple(grads[k] for k in layer.differentiable)
    return backward


def test_the_catalogue_is_large_and_covers_every_layer():
    assert len(LAYER_MISTAKES) >= 30
    assert {m.layer for m in LAYER_MISTAKES.values()} == set(LAYERS)


def test_codes_are_unique_across_both_catalogues():
    assert not set(LAYER_MISTAKES) & set(MISTAKES)
    assert all(code.startswith("mistake:") for code in LAYER_MISTAKES)


@pytest.mark.parametrize("code", list(LAYER_MISTAKES))
def test_every_planted_mistake_is_named_by_its_code(code):
    mistake = LAYER_MISTAKES[code]
    layer, inputs, params = point(mistake)
    report = check_layer(layer.forward, planted(layer, mistake), inputs, params=params,
                         reference=mistake.layer)
    named = [d.code for d in report.reference]
    assert code in named, f"{code} not named: {named} ({[d.message for d in report.reference]})"
    assert not report.passed
    # without a reference the doctor still fails it and says something specific
    blind = check_layer(layer.forward, planted(layer, mistake), inputs, params=params,
                        constants=layer.constants)
    assert not blind.passed and blind.findings, f"{code} passed without a reference"


@pytest.mark.parametrize("code", list(LAYER_MISTAKES))
def test_every_mistake_changes_the_gradient_at_its_point(code):
    mistake = LAYER_MISTAKES[code]
    layer, inputs, params = point(mistake)
    out, cache = layer.forward(*inputs.values(), **params)
    dout = np.random.default_rng(0).standard_normal(np.shape(out))
    dout = dout if np.ndim(out) else float(dout)
    assert mistake.applies(cache)
    right = dict(zip(layer.differentiable, layer.backward(dout, cache)))
    for name, wrong in mistake.backward(dout, cache).items():
        assert np.shape(wrong) != right[name].shape or not np.allclose(wrong, right[name]), code


def test_layer_specific_findings_come_with_the_mistake():
    # shape-level clues are named by the engine as well as by the catalogue
    expected = {"mistake:affine-db-not-summed": "shape-not-summed",
                "mistake:affine-dw-transposed": "shape-transposed",
                "mistake:batchnorm-params-wrong-axis": "shape-wrong-axis",
                "mistake:conv-padding-not-cropped": "shape-padded",
                "mistake:affine-batch-mean": "batch-scaling",
                "mistake:relu-upstream-ignored": "upstream-ignored",
                "mistake:relu-mask-from-dout": "upstream-nonlinear"}
    for code, finding in expected.items():
        mistake = LAYER_MISTAKES[code]
        layer, inputs, params = point(mistake)
        report = check_layer(layer.forward, planted(layer, mistake), inputs, params=params)
        assert finding in [d.code for d in report.findings], (code, [d.code for d in report.findings])


def test_a_gradient_no_entry_explains_is_a_reference_mismatch():
    layer = LAYERS["tanh"]
    x = np.random.default_rng(0).standard_normal((3, 4))

    def backward(dout, cache):
        return (dout * np.cos(cache["x"]),)

    report = check_layer(layer.forward, backward, {"x": x}, reference="tanh")
    [finding] = report.reference
    assert finding.code == "reference-mismatch" and finding.block == "x"


def test_a_forward_that_is_another_layer_is_a_forward_mismatch():
    layer = LAYERS["sigmoid"]
    x = np.random.default_rng(0).standard_normal((3, 4))
    report = check_layer(LAYERS["tanh"].forward, LAYERS["tanh"].backward, {"x": x}, reference="sigmoid")
    assert report.passed is False and report.reference[0].code == "reference-forward-mismatch"
    assert layer.name in report.reference[0].message


def test_a_course_dropout_mask_is_read_back_from_its_output():
    p = 0.6

    def dropout_forward(x, dropout_param):
        mask = (np.random.default_rng(dropout_param["seed"]).random(x.shape) < p) / p
        return x * mask, mask

    def dropout_backward(dout, mask):
        return dout * (mask > 0)  # the 1/p forgotten

    x = np.random.default_rng(0).standard_normal((4, 5))
    report = check_layer(dropout_forward, dropout_backward, {"x": x},
                         params={"dropout_param": {"p": p, "seed": 3}}, reference="dropout")
    assert [d.code for d in report.reference] == ["mistake:dropout-without-scale"]


def test_lookup_by_code_suggests_the_nearest():
    assert get_layer_mistake("affine-db-not-summed").layer == "affine"
    with pytest.raises(ConfigError, match="did you mean"):
        get_layer_mistake("affine-db-not-sumed")
    assert [m.layer for m in mistakes_of("max_pool2d")] == ["max_pool2d", "max_pool2d"]


def test_the_readme_documents_every_layer_code_and_mistake():
    root = Path(__file__).resolve().parents[3]
    readme = (root / "README.md").read_text(encoding="utf-8")
    sources = "".join((root / "src" / "gradcheck" / "check" / name).read_text(encoding="utf-8")
                      for name in ("layer/check.py", "layer/detectors.py", "layer/reference.py"))
    codes = set(re.findall(r'"((?:shape|upstream|wrong|forward|backward|batch|cache|reference)-[a-z-]+)"',
                           sources))
    assert len(codes) >= 19
    missing = sorted(c for c in [*codes, *LAYER_MISTAKES] if f"`{c}`" not in readme)
    assert not missing, f"README's 'Checking a layer' lacks {missing}"
