"""``gradcheck doctor`` on what users really write: odd return values, odd module names,
prints, extreme options, dying workers, rounded pastes, brackets in names.

Every refusal is one sentence on stderr with its documented exit status, never a traceback.
"""
import json
import sys

import numpy as np
import pytest

from gradcheck.check.doctor.detectors import check_arrays
from gradcheck.cli.main import main
from gradcheck.errors import ExitStatus

USER = '''
import os
import numpy as np

theta = np.full(6, 0.1)


class Unreadable:
    """Like a torch tensor that requires grad: NumPy cannot read it."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


def cost(t):
    return float(np.sum(t ** 2))


def grad(t):
    return 2 * t


def grad_per_layer(t):
    return [np.ones((2, 2)), np.ones(2)]


def grad_unreadable(t):
    return Unreadable()


def cost_unreadable(t):
    return Unreadable()


def cost_ragged(t):
    return [np.ones(2), 1.0]


def both_as_list(t):
    return [cost(t), grad(t)]


def both_empty(t):
    return ()


def cost_dies_when_perturbed(t):
    if not np.all(t == 0.1):
        os._exit(3)  # the worker process dies, as when the kernel kills it for memory
    return cost(t)


def cost_prints(t):
    print("cost called")
    return cost(t)


def grad_prints(t):
    print("grad called")
    return grad(t)
'''


@pytest.fixture
def user(tmp_path):
    path = tmp_path / "u.py"
    path.write_text(USER)
    return path


def doctor(*args):
    return main(["doctor", *map(str, args)])


def refused(capsys, status, phrase, got):
    """The run ended with ``status`` and one sentence on stderr holding ``phrase``."""
    out = capsys.readouterr()
    assert got == status, out.err
    assert phrase in out.err, out.err
    assert out.err.startswith("gradcheck doctor: error: ") and out.err.strip().count("\n") == 0
    assert "Traceback" not in out.err + out.out


# --- 1. values the user's code returns or defines ------------------------------------------

@pytest.mark.parametrize("functions,phrase", [
    (["cost", "grad_per_layer"], "returned a list of 2 items of different shapes ((2, 2), (2,)), "
                                 "not one vector; return one flat vector in theta's order, e.g. "
                                 "np.concatenate([g.ravel() for g in grads])"),
    (["cost", "grad_unreadable"], "u.py:grad_unreadable returned an Unreadable, which NumPy cannot read"),
    (["cost_unreadable", "grad"], "u.py:cost_unreadable returned an Unreadable, not one number"),
    (["cost_ragged", "grad"], "u.py:cost_ragged returned a list of 2 items, not one number"),
    (["both_as_list"], "returned a list of 2 items, not the tuple (J, grad)"),
    (["both_empty"], "returned an empty tuple, not the tuple (J, grad)"),
])
def test_unusable_return_values_name_the_function(user, capsys, functions, phrase):
    got = doctor(*(f"{user}:{name}" for name in functions))
    refused(capsys, ExitStatus.USER_CODE, phrase, got)


def test_unusable_values_are_refused_in_quick_mode_too(user, capsys):
    got = doctor(f"{user}:cost", f"{user}:grad_per_layer", "--quick")
    refused(capsys, ExitStatus.USER_CODE, "return one flat vector", got)


def test_torch_tensors_that_require_grad_are_detached(tmp_path, capsys):
    pytest.importorskip("torch")
    path = tmp_path / "t.py"
    path.write_text("import numpy as np, torch\ntheta = np.full(4, 0.3)\n"
                    "def cost(t):\n    return (torch.tensor(t, requires_grad=True) ** 2).sum()\n"
                    "def grad(t):\n    return 2 * torch.tensor(t, requires_grad=True)\n"
                    "def grad_flipped(t):\n    return -grad(t)\n")
    assert doctor(f"{path}:cost", f"{path}:grad") == ExitStatus.OK
    out = capsys.readouterr().out
    assert out.rstrip().endswith("Findings: none.") and ": AGREE\n" in out and "DISAGREE" not in out
    assert doctor(f"{path}:cost", f"{path}:grad_flipped", "--json") == ExitStatus.CHECK_FAILED
    assert [d["code"] for d in json.loads(capsys.readouterr().out)["diagnoses"]] == ["sign-flip"]


@pytest.mark.parametrize("theta,phrase", [
    ("[np.ones((2, 2)), np.ones(2)]", "defines theta as a list of 2 items"),
    ("'abc'", "defines theta as a str"),
    ("{'a': 1}", "defines theta as a dict"),
    ("lambda t: t", "defines theta as a function"),
    ("np.full(6, 0.1 + 1j)", "defines theta as complex numbers"),
    ("[]", "defines theta as an empty array"),
])
def test_unusable_module_theta(tmp_path, capsys, theta, phrase):
    path = tmp_path / "m.py"
    path.write_text(f"import numpy as np\ntheta = {theta}\n"
                    "def cost(t): return float(np.sum(t ** 2))\ndef grad(t): return 2 * t\n")
    refused(capsys, ExitStatus.USER_CODE, phrase, doctor(f"{path}:cost", f"{path}:grad"))


@pytest.mark.parametrize("X,phrase", [("5", "is the number 5"), ("np.float64(3.0)", "is the number 3.0"),
                                      ("[]", "is an empty list"),
                                      ("['a', 'b']", "not an array of numbers")])
def test_unusable_module_data(tmp_path, capsys, X, phrase):
    path = tmp_path / "m.py"
    path.write_text(f"import numpy as np\ntheta = np.full(6, 0.1)\nX = {X}\n"
                    "def cost(t): return float(np.sum(t ** 2))\ndef grad(t): return 2 * t\n")
    refused(capsys, ExitStatus.USER_CODE, phrase, doctor(f"{path}:cost", f"{path}:grad"))


# --- 2. --json keeps the user's prints off stdout -------------------------------------------

@pytest.mark.parametrize("extra", [[], ["--quick"]])
def test_json_stdout_holds_only_the_report_when_user_code_prints(user, capsys, extra):
    module = user.parent / "loud.py"
    module.write_text('print("importing loud")\n' + USER)
    got = doctor(f"{module}:cost_prints", f"{module}:grad_prints", "--json", *extra)
    out = capsys.readouterr()
    assert got == ExitStatus.OK
    assert json.loads(out.out)["agree"] is True
    assert "importing loud" in out.err and "cost called" in out.err and "grad called" in out.err


def test_prints_still_reach_stdout_without_json(user, capsys):
    assert doctor(f"{user}:cost_prints", f"{user}:grad") == ExitStatus.OK
    assert "cost called" in capsys.readouterr().out


# --- 3. --eps is checked in every mode --------------------------------------------------------

@pytest.fixture
def columns(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("".join(f"{x:.6e} {x:.6e}\n" for x in np.linspace(-1, 1, 12)))
    return path


@pytest.mark.parametrize("eps", ["0", "nan", "inf", "-1", "1"])
@pytest.mark.parametrize("mode", ["columns", "columns-json", "functions", "quick"])
def test_eps_out_of_range_is_a_usage_error_in_every_mode(user, columns, capsys, eps, mode):
    args = {"columns": ["--columns", columns], "columns-json": ["--columns", columns, "--json"],
            "functions": [f"{user}:cost", f"{user}:grad"],
            "quick": [f"{user}:cost", f"{user}:grad", "--quick"]}[mode]
    got = doctor(*args, "--eps", eps)
    refused(capsys, ExitStatus.USAGE, "--eps must be in (0, 1)", got)


# --- 4. integer options too large ---------------------------------------------------------------

@pytest.mark.parametrize("extra,phrase", [
    (["--quick", "--directions", "99999999999999999999"],
     "--directions must be a whole number from 1 to 1000"),
    (["--quick", "--directions", "1001"], "run without --quick to check every coordinate"),
    (["--workers", "99999999999999999999"], "--workers must be a whole number from 1 to"),
    (["--workers", "0"], "per CPU"),
    (["--workers", "-3"], "per CPU"),
])
def test_integer_options_out_of_range(user, capsys, extra, phrase):
    refused(capsys, ExitStatus.USAGE, phrase, doctor(f"{user}:cost", f"{user}:grad", *extra))


# --- 5. a --workers process that dies -----------------------------------------------------------

@pytest.mark.skipif(sys.platform == "win32", reason="os._exit in a spawned worker")
def test_a_worker_process_that_dies_is_the_users_code(user, capsys):
    got = doctor(f"{user}:cost_dies_when_perturbed", f"{user}:grad", "--workers", "2")
    refused(capsys, ExitStatus.USER_CODE, "a worker process died while evaluating the cost", got)


# --- 6. pasted columns: rounding widens each coordinate's rule, a real mistake still fails ------

# numerical, analytic: what a correct gradient looks like printed to 4 significant digits
PASTED = [(0.1234, 0.1235), (-0.5678, -0.5678), (0.9012, 0.9012), (0.004321, 0.004322),
          (-2.468, -2.469)]


@pytest.mark.parametrize("change,status,codes", [
    (lambda n, a: (n, a), ExitStatus.OK, []),
    (lambda n, a: (n, -a), ExitStatus.CHECK_FAILED, ["sign-flip"]),
    (lambda n, a: (n, 2 * a), ExitStatus.CHECK_FAILED, ["scale-factor"]),
])
def test_four_digit_paste_rounding_agrees_but_mistakes_fail(tmp_path, capsys, change, status,
                                                            codes):
    path = tmp_path / "paste.txt"
    path.write_text("Numerical  Analytic\n" + "".join(f"{n:.4g} {a:.4g}\n" for n, a in
                                                      (change(n, a) for n, a in PASTED)))
    assert doctor("--columns", path, "--json") == status
    result = json.loads(capsys.readouterr().out)
    assert result["source"]["digits"] == 4
    assert [d["code"] for d in result["diagnoses"]] == codes


def test_one_wrong_coordinate_in_a_four_digit_paste_is_named(tmp_path, capsys):
    rows = PASTED * 4
    rows[7] = (rows[7][0], rows[7][1] * 1.01)  # 1 % off: ten times the rounding of 4 digits
    path = tmp_path / "paste.txt"
    path.write_text("".join(f"{n:.4g} {a:.4g}\n" for n, a in rows))
    assert doctor("--columns", path, "--json") == ExitStatus.CHECK_FAILED
    [finding] = json.loads(capsys.readouterr().out)["diagnoses"]
    assert finding["code"] == "isolated-coordinates" and finding["indices"] == [7]


def test_rounding_widens_the_coordinate_rule_by_the_printed_precision():
    numerical, analytic = np.array([0.1234, -0.5678, 0.9012]), np.array([0.1235, -0.5678, 0.9012])
    assert not check_arrays(numerical, analytic, tol=1e-3).passed  # 1e-4 per coordinate alone
    assert check_arrays(numerical, analytic, tol=1e-3, rounding=1e-3).passed
    assert not check_arrays(numerical, analytic * 1.003, tol=1e-2, rounding=1e-3).passed


# --- 7. names with rich markup are printed as text --------------------------------------------

@pytest.mark.parametrize("name", ["[/x]", "[bold]", "a[b]"])
def test_block_names_with_brackets_are_text(tmp_path, capsys, name):
    path = tmp_path / "c.txt"  # block "ok" agrees, the bracketed one is sign-flipped
    path.write_text("".join(f"{x:.6e} {x if i < 6 else -x:.6e}\n"
                            for i, x in enumerate(np.linspace(0.1, 1.2, 12))))
    assert doctor("--columns", path, "--blocks", f"ok=2x3,{name}=2x3") == ExitStatus.CHECK_FAILED
    out = capsys.readouterr()
    assert "Traceback" not in out.err and out.err == ""
    assert f"│ {name} " in out.out and f"sign-flip ({name})" in out.out
