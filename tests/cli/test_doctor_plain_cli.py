"""``gradcheck doctor FILE.py:cost FILE.py:grad`` with nothing else: the blocks from the module,
the parts the findings speak of, and a module that modifies its data."""
import json

import pytest

from gradcheck.cli.main import main
from gradcheck.errors import ExitStatus

# an Octave port: Theta1 and Theta2 unrolled column-major; grad_scaled forgets the 1/m of layer 2
MODULE = '''
import numpy as np

rng = np.random.default_rng(3)
X = rng.standard_normal((8, 3))
y = rng.integers(0, 2, 8)
Theta1 = rng.uniform(-0.5, 0.5, (4, 4))
Theta2 = rng.uniform(-0.5, 0.5, (2, 5))
theta = np.concatenate([Theta1.ravel(order="F"), Theta2.ravel(order="F")])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def parts(t):
    T1 = t[:16].reshape((4, 4), order="F")
    T2 = t[16:].reshape((2, 5), order="F")
    a1 = np.c_[np.ones(8), X]
    z2 = a1 @ T1.T
    a2 = np.c_[np.ones(8), sigmoid(z2)]
    return T1, T2, a1, z2, a2, sigmoid(a2 @ T2.T), np.eye(2)[y]


def cost(t):
    *_, h, Y = parts(t)
    return -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / 8


def _grad(t, m2):
    T1, T2, a1, z2, a2, h, Y = parts(t)
    d3 = h - Y
    d2 = (d3 @ T2[:, 1:]) * sigmoid(z2) * (1 - sigmoid(z2))
    return np.concatenate([(d2.T @ a1 / 8).ravel(order="F"), (d3.T @ a2 / m2).ravel(order="F")])


def grad(t):
    return _grad(t, 8)


def grad_scaled(t):
    return _grad(t, 1)


def cost_scaling_X(t):
    X[:] = X / 2  # in place: the module's data halves on every call
    return cost(t)
'''


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "ex4.py"
    path.write_text(MODULE)
    return path


def doctor(*args):
    return main(["doctor", *map(str, args)])


def test_the_modules_arrays_name_the_coordinates_and_the_parts(module, capsys):
    assert doctor(f"{module}:cost", f"{module}:grad_scaled") == ExitStatus.CHECK_FAILED
    out = capsys.readouterr().out
    assert "theta[" not in out and "Theta2[" in out
    assert "blocks from the module's arrays Theta1, Theta2 (their values are theta's, unrolled F)" in out
    assert "Per part" in out and "a = 8 n" in out
    assert "scale-factor (Theta2)" in out and "k ≈ m" in out


def test_json_says_where_the_blocks_came_from(module, capsys):
    assert doctor(f"{module}:cost", f"{module}:grad_scaled", "--json") == ExitStatus.CHECK_FAILED
    result = json.loads(capsys.readouterr().out)
    assert result["source"]["blocks_from"].startswith("the module's arrays Theta1, Theta2")
    assert [b["name"] for b in result["blocks"]] == ["Theta1", "Theta2"]
    [finding] = result["diagnoses"]
    assert finding["code"] == "scale-factor" and finding["block"] == "Theta2"
    assert finding["evidence"]["parts"][0]["formula"] == "a = 8 n"


def test_a_cost_that_modifies_the_modules_data_fails_with_that_finding(module, capsys):
    assert doctor(f"{module}:cost_scaling_X", f"{module}:grad", "--json") == ExitStatus.CHECK_FAILED
    result = json.loads(capsys.readouterr().out)
    assert not result["agree"] and [d["code"] for d in result["diagnoses"]] == ["argument-modified"]
    assert "the module's X (every entry, multiplied by 0.5 (divided by 2))" in result["diagnoses"][0]["message"]


def test_a_right_gradient_agrees_with_no_finding(module, capsys):
    assert doctor(f"{module}:cost", f"{module}:grad", "--json") == ExitStatus.OK
    result = json.loads(capsys.readouterr().out)
    assert result["agree"] and result["diagnoses"] == []


QUICK_MODULE = '''
import numpy as np

rng = np.random.default_rng(1)
X = rng.random((6, 4))
Theta1 = rng.uniform(-0.5, 0.5, (5, 5))
Theta2 = rng.uniform(-0.5, 0.5, (3, 6))
theta = np.concatenate([Theta1.ravel(), Theta2.ravel()])


def cost(t):
    T1, T2 = t[:25].reshape(5, 5), t[25:].reshape(3, 6)
    h = np.tanh(np.c_[np.ones(6), X] @ T1.T)
    return 0.5 * np.sum((np.c_[np.ones(6), h] @ T2.T) ** 2)


def grad(t):
    T1, T2 = t[:25].reshape(5, 5), t[25:].reshape(3, 6)
    a1 = np.c_[np.ones(6), X]
    h = np.tanh(a1 @ T1.T)
    a2 = np.c_[np.ones(6), h]
    out = a2 @ T2.T
    d1 = (out @ T2)[:, 1:] * (1 - h ** 2)
    return np.concatenate([(d1.T @ a1).ravel(), -(out.T @ a2).ravel()])  # layer 2 negated
'''


def test_quick_mode_names_coordinates_by_the_module_s_arrays(tmp_path, capsys):
    path = tmp_path / "net.py"
    path.write_text(QUICK_MODULE)
    assert main(["doctor", f"{path}:cost", f"{path}:grad", "--quick", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["source"]["blocks_from"].startswith("the module's arrays Theta1, Theta2")
    assert {c["label"].split("[")[0] for c in result["located"]} == {"Theta2"}
