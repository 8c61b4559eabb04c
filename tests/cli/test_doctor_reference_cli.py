"""``gradcheck doctor --reference`` on modules in the layouts people write: what the text and
JSON output say about the layout, the blocks and the closest mistake."""
import json

import numpy as np
import pytest

from gradcheck.cli.main import main
from gradcheck.errors import ExitStatus

# ex4 as NumPy ports write it: Theta = [b W] unrolled with Theta(:), labels 1..K
COURSE_MODULE = '''
import numpy as np

rng = np.random.default_rng(5)
X = rng.standard_normal((9, 3))
y = np.array([1, 2, 3, 3, 2, 1, 3, 1, 2])
Theta1 = rng.uniform(-0.7, 0.7, (4, 4))
Theta2 = rng.uniform(-0.7, 0.7, (3, 5))
theta = np.concatenate([Theta1.ravel(order="F"), Theta2.ravel(order="F")])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def parts(t):
    T1 = t[:16].reshape((4, 4), order="F")
    T2 = t[16:].reshape((3, 5), order="F")
    m = len(X)
    Y = np.eye(3)[y - 1]
    a1 = np.c_[np.ones(m), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(m), sigmoid(z2)]
    h = sigmoid(a2 @ T2.T)
    return T1, T2, m, Y, a1, z2, a2, h


def cost(t):
    *_, m, Y, a1, z2, a2, h = parts(t)
    return np.sum(-Y * np.log(h) - (1 - Y) * np.log(1 - h)) / m


def _grad(t, scale):
    T1, T2, m, Y, a1, z2, a2, h = parts(t)
    d3 = h - Y
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    return np.concatenate([(d2.T @ a1 * scale(m)).ravel(order="F"),
                           (d3.T @ a2 * scale(m)).ravel(order="F")])


def grad(t):
    return _grad(t, lambda m: 1 / m)


def grad_without_m(t):
    return _grad(t, lambda m: 1)


def _to_course(t):
    # b1 W1 b2 W2, each W row-major: a packing no layout of the catalogue has
    T1 = np.c_[t[:4], t[4:16].reshape(4, 3)]
    T2 = np.c_[t[16:19], t[19:].reshape(3, 4)]
    return np.concatenate([T1.ravel(order="F"), T2.ravel(order="F")])


def cost_b_first(t):
    return cost(_to_course(t))


def grad_b_first(t):
    g = grad(_to_course(t))
    G1, G2 = g[:16].reshape((4, 4), order="F"), g[16:].reshape((3, 5), order="F")
    return np.concatenate([G1[:, 0], G1[:, 1:].ravel(), G2[:, 0], G2[:, 1:].ravel()])
'''
SPEC = "sizes=3,4,3 hidden=sigmoid output=sigmoid loss=binary_cross_entropy"


@pytest.fixture
def course(tmp_path):
    path = tmp_path / "ex4.py"
    path.write_text(COURSE_MODULE)
    return path


def doctor(*args):
    return main(["doctor", *map(str, args)])


def test_the_recognised_layout_names_the_coordinates_and_the_blocks(course, capsys):
    assert doctor(f"{course}:cost", f"{course}:grad_without_m", "--reference", SPEC) == 1
    out = capsys.readouterr().out
    assert "theta[" not in out
    assert "in layout course's arrays" in out and "Theta2[2, 0]" in out
    assert "Reference layout: course" in out and "labels 1-based" in out
    assert "mistake:missing-1/m" in out and "relative error" in out
    assert "Per block, mistake:missing-1/m" in out  # the per-block errors, not only promised


def test_json_reports_the_layout_and_the_reference_blocks(course, capsys):
    assert doctor(f"{course}:cost", f"{course}:grad_without_m", "--reference", SPEC, "--json") == 1
    result = json.loads(capsys.readouterr().out)
    layout = result["reference_layout"]
    assert layout["name"] == "course" and layout["labels"] == "1-based"
    assert [b["name"] for b in layout["blocks"]] == ["Theta1", "Theta2"]
    assert [b["name"] for b in result["blocks"]] == ["Theta1", "Theta2"]
    assert result["source"]["blocks_from"] == "reference layout"
    [finding] = result["reference"]
    assert finding["code"] == "mistake:missing-1/m"
    assert finding["evidence"]["gradient"]["block_errors_to_correct"].keys() == {"Theta1", "Theta2"}


def test_a_pinned_layout_and_labels_are_used(course, capsys):
    spec = SPEC + " layout=course labels=1-based"
    assert doctor(f"{course}:cost", f"{course}:grad", "--reference", spec) == ExitStatus.OK
    assert "(given in the spec)" in capsys.readouterr().out


def test_a_correct_gradient_in_an_unknown_layout_keeps_agree(course, capsys):
    # cost and gradient agree in a packing no layout has: AGREE, then one finding that says
    # the layout was not recognised and what to pass -- not two mismatches
    theta = course.parent / "theta.npy"
    np.save(theta, np.random.default_rng(1).uniform(-0.7, 0.7, 31))
    args = (f"{course}:cost_b_first", f"{course}:grad_b_first", "--theta", theta, "--reference", SPEC)
    assert doctor(*args) == ExitStatus.OK
    out = capsys.readouterr().out
    assert "AGREE" in out and "DISAGREE" not in out
    assert out.count("reference-layout-unrecognised") == 1
    assert "reference-mismatch" not in out and "reference-cost-mismatch" not in out
    assert "layout=" in out and "gradient of your cost" in out


def test_a_wrong_layout_in_the_spec_does_not_fail_a_correct_gradient(course, capsys):
    assert doctor(f"{course}:cost", f"{course}:grad", "--reference", SPEC + " layout=C") == ExitStatus.OK
    out = capsys.readouterr().out
    assert "reference-wrong-layout" in out and "pass layout=course" in out
    assert "Theta1" in out  # the blocks of the layout found, not of the one given


def test_unknown_layout_word_is_a_usage_error(course, capsys):
    assert doctor(f"{course}:cost", f"{course}:grad", "--reference", SPEC + " layout=coarse") == 2
    assert "did you mean 'course'" in capsys.readouterr().err
