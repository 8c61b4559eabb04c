"""Reference mode on the corpus of real-shaped networks (tests/check/corpus), told only the
network: it must find each module's layout and label numbering itself, give the findings of
``expect_reference.REFERENCE`` and say where the gradient departs; every fixed module gives
no finding."""
import importlib.util

import corpus
import numpy as np
import pytest
from corpus.expect_reference import MISMATCH, PROPOSED, REFERENCE

from gradcheck.check.reference.compare import compare_reference
from gradcheck.check.reference.layouts import parse_layout
from gradcheck.check.reference.mistakes import MISTAKES
from gradcheck.nn.network import Network

DATA = {None: lambda X: X, "X / 255": lambda X: X / 255.0}


def load(name, tmp_path, fixed):
    path = corpus.write(name, tmp_path, fixed)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def told_the_network_only(module):
    spec = {k: v for k, v in module.SPEC.items() if k not in ("layout", "labels", "notes")}
    return spec, parse_layout(module.SPEC["layout"])[0][0]


def reference(module, data):
    spec, _ = told_the_network_only(module)
    with np.errstate(all="ignore"):  # the buggy modules' own arithmetic, not ours
        return compare_reference(module.grad, module.theta, spec, DATA[data](module.X), module.y,
                                 module.cost)


def assert_layout_found(result, module):
    spec, meant = told_the_network_only(module)
    assert result.layout is not None, [d.message for d in result.findings]
    found = parse_layout(result.layout["tokens"])[0][0]
    net = Network(**spec, allow_unsafe=True)
    assert np.array_equal(found.order(net), meant.order(net)), (result.layout["name"], meant)


def test_every_module_has_reference_expectations():
    assert set(REFERENCE) == set(corpus.NAMES)
    proposed = {code for e in REFERENCE.values() for code in e.proposed.split(" + ") if code}
    assert proposed <= set(PROPOSED)
    added = proposed & set(MISTAKES)
    assert not added, f"{sorted(added)} joined the catalogue: move them from proposed to codes"


@pytest.mark.parametrize("name", corpus.NAMES)
def test_buggy_module(name, tmp_path):
    expect = REFERENCE[name]
    module = load(name, tmp_path, fixed=False)
    result = reference(module, expect.data)
    assert [d.code for d in result.findings] == list(expect.codes), [d.message for d in result.findings]
    assert_layout_found(result, module)
    for d in result.findings:
        if d.code == MISMATCH:
            errors = d.evidence["block_errors_to_correct"]
            assert {b for b, e in errors.items() if e > 1e-6} == set(expect.departs), errors
            closest = d.evidence["closest_mistake"]
            assert closest["code"] in d.message and np.isfinite(closest["relative_error"])


@pytest.mark.parametrize("name", corpus.NAMES)
def test_fixed_module(name, tmp_path):
    module = load(name, tmp_path, fixed=True)
    result = reference(module, REFERENCE[name].data)
    assert result.findings == [], [d.message for d in result.findings]
    assert_layout_found(result, module)
