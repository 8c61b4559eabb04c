"""``gradcheck doctor FILE:cost FILE:grad --reference SPEC`` on the corpus of real-shaped modules:
told only the network, one run names each slip, by the plain findings printed beside the
reference comparison (what the doctor sees without a reference) or by the catalogued mistake
(what only the network the user meant shows)."""
import contextlib
import importlib.util
import io
import json

import corpus
import pytest
from corpus.expect_plain import PLAIN
from corpus.expect_reference import REFERENCE

from gradcheck.cli.main import main

GENERIC = {"reference-mismatch", "reference-cost-mismatch", "reference-layout-unrecognised"}
# with the layout recognised (bias in the last column) the gradient's blocks are W and b, and a
# penalty slice [:, 1:] copied from bias-first code reads as the biases regularised, on both sides
READ_IN_THE_RECOGNISED_LAYOUT = {
    "matlab_bias_last_penalty_first_col": {"bias-regularized", "bias-regularized-in-cost"},
}


def _spec_text(spec: dict) -> str:
    words = []
    for key in ("sizes", "hidden", "output", "loss", "l2", "reduction"):
        if key in spec:
            value = spec[key]
            words.append(f"{key}={','.join(map(str, value)) if isinstance(value, (list, tuple)) else value}")
    return " ".join(words)


def _doctor(name, tmp_path):
    path = corpus.write(name, tmp_path, fixed=False)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = main(["doctor", f"{path}:cost", f"{path}:grad", "--reference", _spec_text(module.SPEC), "--json"])
    result = json.loads(out.getvalue())
    return (status, {d["code"] for d in result["diagnoses"]}, {d["code"] for d in result["reference"]})


@pytest.mark.parametrize("name", corpus.NAMES)
def test_one_reference_run_names_the_slip(name, tmp_path):
    status, plain, reference = _doctor(name, tmp_path)
    assert status == 1, (plain, reference)
    expected_plain = {f.code for f in PLAIN[name].findings}
    expected_mistakes = set(REFERENCE[name].codes) - GENERIC
    if name in READ_IN_THE_RECOGNISED_LAYOUT:
        assert plain == READ_IN_THE_RECOGNISED_LAYOUT[name], plain
    elif PLAIN[name].observable:
        assert expected_plain <= plain, (sorted(plain), sorted(reference))
    else:  # only the network the user meant shows these slips
        assert expected_mistakes and expected_mistakes <= reference, (sorted(plain), sorted(reference))
