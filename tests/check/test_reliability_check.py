"""Reliability (issue 14), the checker and the doctor: hostile user code is one sentence with
status 5 (case 7), a correct network passes at inputs of 1e4 (case 11), ``--columns`` refuses
a FIFO and pasted infinities give a finding without numpy warnings.
"""
from __future__ import annotations

import json
import os
import threading
import warnings

import numpy as np
import pytest

import gradcheck
from cli_run import cli, one_sentence
from gradcheck import Network, check_network
from gradcheck.cli import main
from gradcheck.errors import ExitStatus

RAISES_IN_STR = """
class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("__str__ failed too")
"""


COST_CASES = {
    "__str__ raises": RAISES_IN_STR + "def cost(t): raise Unprintable()\n",
    "BaseException subclass": "class Stop(BaseException): pass\ndef cost(t): raise Stop('stop')\n",
    "GeneratorExit": "def cost(t): raise GeneratorExit('closed')\n",
    "SystemExit": "import sys\ndef cost(t): sys.exit('bye')\n",
}


IMPORT_CASES = {
    "__str__ raises": RAISES_IN_STR + "raise Unprintable()\n",
    "BaseException subclass": "class Stop(BaseException): pass\nraise Stop('at import')\n",
    "GeneratorExit": "raise GeneratorExit('at import')\n",
}


HEAD = "import numpy as np\ntheta = np.full(3, 0.5)\ndef grad(t): return 2 * t\n"


def _doctor(tmp_path, body, *extra):
    (tmp_path / "user.py").write_text(HEAD + body)
    if "def cost" not in body:
        (tmp_path / "user.py").write_text(HEAD + body + "def cost(t): return float(t @ t)\n")
    user = str(tmp_path / "user.py")
    return main(["doctor", f"{user}:cost", f"{user}:grad", *extra])


@pytest.mark.parametrize("mode", [[], ["--quick"]], ids=["full", "quick"])
@pytest.mark.parametrize("case", COST_CASES)
def test_hostile_exceptions_from_the_cost_are_one_sentence_with_status_5(tmp_path, capsys, case, mode):
    """Before: a traceback and status 1 (the RuntimeError of __str__, the BaseException)."""
    code = _doctor(tmp_path, COST_CASES[case], *mode)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == ExitStatus.USER_CODE, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "cost" in lines[0] and "raised" in lines[0]


@pytest.mark.parametrize("case", IMPORT_CASES)
def test_hostile_exceptions_at_import_are_one_sentence_with_status_5(tmp_path, capsys, case):
    code = _doctor(tmp_path, IMPORT_CASES[case])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == ExitStatus.USER_CODE, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "importing" in lines[0] and "user.py" in lines[0]


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "gelu", "softplus", "relu"])
def test_a_correct_network_passes_at_inputs_of_1e4(hidden):
    """Before: W1 failed with relative error 1e-5 (sigmoid) to 9e-5 (tanh) and the doctor said
    block-mismatch: a step of 1e-6 on a weight moves z by 1e-2 when the input is 1e4."""
    found = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        net = Network([4, 5, 3], hidden=hidden, seed=seed)
        X = 1e4 * rng.standard_normal((100, 4))
        report = check_network(net, X, rng.integers(0, 3, 100))
        if not report.passed or report.diagnoses:
            found.append((seed, report.summary(), [d.code for d in report.diagnoses]))
    assert not found, found


def test_per_coordinate_steps_give_the_same_numbers_in_both_evaluators():
    """The structure-aware evaluator takes check_network's per-coordinate steps exactly as the
    plain loop does (same rounded steps, same quotients)."""
    from gradcheck.check.fast import structured_gradient

    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], hidden="tanh", l2=0.5, seed=0)
    objective = net.objective(rng.standard_normal((9, 4)), rng.integers(0, 3, 9))
    steps = rng.uniform(1e-4, 1e-3, net.n_params)
    plain = gradcheck.numerical_gradient(objective, net.theta, steps)
    assert np.allclose(structured_gradient(objective, net.theta, steps), plain, rtol=1e-9, atol=1e-12)
    uniform = gradcheck.numerical_gradient(objective, net.theta, 1e-3)
    assert not np.allclose(plain, uniform, rtol=1e-9, atol=1e-12)  # the steps were used


def test_only_large_inputs_change_the_steps():
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], seed=0)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    assert check_network(net, X, y).steps is None
    X[:, 2] *= 1e4
    report = check_network(net, X, y)
    W1 = net.param_blocks()["W1"]
    steps = report.steps[W1.slice].reshape(W1.shape)
    assert np.all(steps[:, 2] < 1e-8) and np.all(np.delete(steps, 2, axis=1) == 1e-6)
    assert "steps down to" in report.evaluator and report.passed


def test_doctor_columns_refuses_a_fifo_instead_of_waiting_forever(tmp_path):
    fifo = tmp_path / "columns.txt"
    os.mkfifo(fifo)
    result = {}
    worker = threading.Thread(target=lambda: result.update(zip(("code", "out", "err"),
                                                               cli(["doctor", "--columns", fifo]))))
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader, then fail
        with open(fifo, "w") as fh:
            fh.write("1 1\n")
        worker.join()
        pytest.fail("doctor --columns waited for a writer on a FIFO")
    assert result["code"] == ExitStatus.DATA
    assert "not a regular file" in one_sentence(result["err"])


@pytest.mark.parametrize("pasted", ["1e999 1e999", "-1e999 1e999", "nan 1.0"])
def test_non_finite_pasted_columns_give_a_finding_and_no_numpy_warning(tmp_path, pasted):
    """Before: ``1e999 1e999`` printed RuntimeWarnings (invalid value in subtract) on stderr."""
    (tmp_path / "cols.txt").write_text(f"{pasted}\n0.5 0.5\n0.25 0.25\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = cli(["doctor", "--columns", tmp_path / "cols.txt", "--json"])
    assert code == ExitStatus.CHECK_FAILED, err
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert "Warning" not in err
    assert [d["code"] for d in json.loads(out)["diagnoses"]][:1] == ["non-finite"]

