"""``gradcheck doctor`` in-process: user modules from paths, pasted columns, exit codes, JSON."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from gradcheck.check.userinput import read_columns
from gradcheck.cli.doctor import parse_blocks, parse_reference
from gradcheck.cli.main import main
from gradcheck.errors import ExitStatus

REPORTS = Path(__file__).parent.parent / "fixtures" / "reports"

USER_MODULE = '''
import numpy as np
from gradcheck.nn.network import Network

rng = np.random.default_rng(0)
X = rng.standard_normal((6, 3))
y = rng.integers(0, 2, 6)
net = Network([3, 4, 2], hidden="sigmoid", output="softmax", loss="cross_entropy", seed=0)
objective = net.objective(X, y)
theta = net.theta.copy()


def cost(theta):
    return objective(theta)


def grad(theta):
    return objective.grad(theta)


def grad_flipped(theta):
    return -objective.grad(theta)


def grad_times_m(theta):
    return objective.grad(theta) * len(X)


def cost_nan(theta):
    return float("nan") if theta[0] > 0.3 else objective(theta)


def both(theta):
    return objective.loss_and_grad(theta)


def grad_one_entry_wrong(theta):
    g = objective.grad(theta)
    g[17] += 0.01  # W2[0, 1]
    return g
'''
BLOCKS = "W1=4x3,b1=4,W2=2x4,b2=2"


@pytest.fixture
def user(tmp_path):
    path = tmp_path / "mynet.py"
    path.write_text(USER_MODULE)
    return path


def doctor(*args):
    return main(["doctor", *map(str, args)])


def test_correct_gradient_agrees(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad", "--blocks", BLOCKS) == ExitStatus.OK
    out = capsys.readouterr().out
    assert re.search(r"^relative error \S+ \(tolerance 1e-06\): AGREE$", out, re.M) and "DISAGREE" not in out
    assert "Findings: none." in out
    verdicts = {m[0]: m[1] for m in re.findall(r"│ (W1|b1|W2|b2) .*│ (\w+)\s+│$", out, re.M)}
    assert verdicts == {"W1": "agree", "b1": "agree", "W2": "agree", "b2": "agree"}


def test_one_function_returning_cost_and_gradient(user, capsys):
    assert doctor(f"{user}:both") == ExitStatus.OK


def test_sign_flip_exits_1_with_the_finding_and_its_fix(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad_flipped", "--blocks", BLOCKS) == ExitStatus.CHECK_FAILED
    out = capsys.readouterr().out
    assert "DISAGREE" in out and "sign-flip" in out and "fix:" in out
    assert re.search(r"W2\[\d, \d\]", out)  # worst coordinates unravelled to block[row, col]


def test_scale_factor_named_as_m_from_the_module_data(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad_times_m", "--json") == ExitStatus.CHECK_FAILED
    result = json.loads(capsys.readouterr().out)
    [finding] = result["diagnoses"]
    assert finding["code"] == "scale-factor" and "m" in finding["evidence"]["meanings"]
    assert finding["evidence"]["k"] == pytest.approx(6, rel=1e-6)  # the module's X has 6 rows


def test_json_schema(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad_flipped", "--blocks", BLOCKS, "--json") == 1
    result = json.loads(capsys.readouterr().out)
    assert {"command", "agree", "source", "passed", "relative_error", "tolerance", "cost", "eps",
            "n_params", "n_mismatched", "n_excluded", "blocks", "worst", "diagnoses",
            "reference"} <= set(result)
    assert result["agree"] is False and result["source"]["mode"] == "functions"
    assert {"name", "shape", "order", "start", "relative_error"} <= set(result["blocks"][0])
    assert {"index", "block", "position", "label", "numerical", "analytic", "abs_diff"} <= set(result["worst"][0])
    assert set(result["diagnoses"][0]) == {"code", "message", "block", "indices", "positions", "evidence", "fix"}


def test_seeded_theta_needs_a_size(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad", "--seed", "3", "--blocks", BLOCKS) == ExitStatus.OK
    np.save(user.parent / "theta.npy", np.full(26, 0.1))
    assert doctor(f"{user}:cost", f"{user}:grad", "--theta", user.parent / "theta.npy") == ExitStatus.OK


def test_nan_cost_is_a_finding_not_a_crash(user, capsys):
    assert doctor(f"{user}:cost_nan", f"{user}:grad", "--theta", _theta_file(user, 0.3)) == 1
    out = capsys.readouterr().out
    assert "non-finite" in out and "+1e-06" in out


def _theta_file(user, first):
    theta = np.full(26, 0.05)
    theta[0] = first
    np.save(user.parent / "t.npy", theta)
    return user.parent / "t.npy"


@pytest.mark.parametrize("spec,message", [
    ("missing.py:cost", "cannot find missing.py"),
    ("{user}:cots", "defines no function 'cots'; did you mean 'cost'?"),
])
def test_user_code_errors_are_one_sentence(user, capsys, spec, message):
    assert doctor(spec.format(user=user), f"{user}:grad") == ExitStatus.USER_CODE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_module_that_raises_on_import(tmp_path, capsys):
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('no data file')\n")
    assert doctor(f"{bad}:cost") == ExitStatus.USER_CODE
    assert "importing" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    ([], "say what to check: FILE.py:COST FILE.py:GRAD, or --columns FILE."),
    (["a.py:f", "--columns", "x.txt"], "give either FILE.py:COST FILE.py:GRAD or --columns, not both."),
    (["a.py"], "'a.py' is not FILE.py:FUNCTION; write e.g. mynet.py:cost."),
    (["--columns", "x.txt", "--blocks", "Theta1"], "--blocks item 'Theta1' is not NAME=ROWSxCOLS")])
def test_usage_errors_exit_2(args, message, capsys):
    assert doctor(*args) == ExitStatus.USAGE
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_reference_mode_on_a_correct_gradient(user, capsys):
    spec = "sizes=3,4,2 hidden=sigmoid output=softmax loss=cross_entropy layout=C"
    assert doctor(f"{user}:cost", f"{user}:grad", "--reference", spec) == ExitStatus.OK
    out = capsys.readouterr().out
    assert "Reference comparison: the gradient (and cost) are the reference network's." in out
    assert "Reference layout: C" in out


def test_reference_mode_names_the_mistake(user, capsys):
    spec = "sizes=3,4,2 hidden=sigmoid output=softmax loss=cross_entropy layout=C"
    assert doctor(f"{user}:cost", f"{user}:grad_times_m", "--reference", spec, "--json") == 1
    result = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in result["reference"]] == ["mistake:missing-1/m"]
    assert result["reference"][0]["evidence"]["gradient"]["relative_error_to_mistake"] < 1e-9


# --- columns ------------------------------------------------------------------------------------

def test_columns_report_002(capsys):
    assert doctor("--columns", REPORTS / "report002.txt", "--blocks", "Theta1=5x4,Theta2=3x6",
                  "--json") == ExitStatus.CHECK_FAILED
    result = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in result["diagnoses"]] == ["unperturbed-coordinates", "sign-flip"]
    assert result["diagnoses"][0]["indices"] == [0] and result["diagnoses"][1]["block"] == "Theta2"
    assert result["source"]["analytic_first"] is True and result["source"]["order_from"] == "header"


def test_columns_report_002_explains_the_misleading_metric(capsys):
    assert doctor("--columns", REPORTS / "report002.txt", "--blocks", "Theta1=5x4,Theta2=3x6") == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "||a - n|| / ||a + n|| = 6.61" in out and "Theta1 agrees" in out


@pytest.mark.parametrize("name,expected", [("report000_sigmoid_softmax.txt", ["different-function"]),
                                           ("report000_tanh_softmax.txt", ["different-function"]),
                                           ("report000_sigmoid_sigmoid.txt", [])])
def test_columns_report_000(capsys, name, expected):
    status = doctor("--columns", REPORTS / name, "--json")
    result = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in result["diagnoses"]] == expected
    assert status == (ExitStatus.OK if not expected else ExitStatus.CHECK_FAILED)
    assert result["source"]["digits"] == 5 and result["tolerance"] == pytest.approx(1e-4)


def test_columns_with_parentheses_and_commas(capsys):
    status = doctor("--columns", REPORTS / "report002_answer.txt", "--blocks", "Theta1=5x4,Theta2=3x6", "--json")
    result = json.loads(capsys.readouterr().out)
    assert status == 1 and [d["code"] for d in result["diagnoses"]] == ["unperturbed-coordinates"]


def test_analytic_first_flag_and_npy_pair(tmp_path, capsys):
    n = np.array([0.5, -0.25, 0.125, 2.0])
    np.save(tmp_path / "n.npy", n)
    np.save(tmp_path / "a.npy", -n)
    assert doctor("--columns", tmp_path / "n.npy", tmp_path / "a.npy") == 1
    assert "sign-flip" in capsys.readouterr().out
    (tmp_path / "cols.txt").write_text("0.5 0.0\n0.5 0.5\n0.25 0.25\n")
    assert doctor("--columns", tmp_path / "cols.txt", "--analytic-first", "--json") == 1
    result = json.loads(capsys.readouterr().out)
    assert result["diagnoses"][0]["code"] == "unperturbed-coordinates"  # numerical is column 2


def test_read_columns_header_and_noise_lines(tmp_path):
    path = tmp_path / "paste.txt"
    path.write_text("my results:\nNumerical   Analytic\n1.0 2.0\nsome text\n3.0 6.0 <- look\n")
    numerical, analytic, info = read_columns(path)
    assert numerical.tolist() == [1.0, 3.0] and analytic.tolist() == [2.0, 6.0]
    assert info["order_from"] == "header" and info["analytic_first"] is False


def test_missing_columns_file_is_a_data_error(tmp_path, capsys):
    assert doctor("--columns", tmp_path / "nope.txt") == ExitStatus.DATA


def test_plot(tmp_path, capsys):
    png = tmp_path / "doctor.png"
    assert doctor("--columns", REPORTS / "report002.txt", "--blocks", "Theta1=5x4,Theta2=3x6",
                  "--plot", png) == 1
    assert png.stat().st_size > 1000


def test_parsers():
    assert parse_blocks("Theta1=25x401,Theta2=10x26") == {"Theta1": (25, 401), "Theta2": (10, 26)}
    spec = parse_reference("sizes=400,25,10 hidden=sigmoid l2=1 layout=course")
    assert spec == {"sizes": [400, 25, 10], "hidden": "sigmoid", "l2": 1.0, "layout": "course"}


def test_quick_agrees_on_a_correct_gradient(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad", "--quick", "--blocks", BLOCKS) == ExitStatus.OK
    out = capsys.readouterr().out
    assert re.search(r"^AGREE \(6 cost evaluations\)$", out, re.M) and "3 random unit directions" in out


def test_quick_locates_the_wrong_entry(user, capsys):
    args = (f"{user}:cost", f"{user}:grad_one_entry_wrong", "--quick", "--blocks", BLOCKS)
    assert doctor(*args) == ExitStatus.CHECK_FAILED
    assert "wrong coordinates (1): W2[0, 1]" in capsys.readouterr().out
    assert doctor(*args, "--json", "--directions", "5") == ExitStatus.CHECK_FAILED
    result = json.loads(capsys.readouterr().out)
    assert result["agree"] is False and result["source"]["mode"] == "quick"
    assert len(result["directions"]) == 5
    assert result["located"] == [{"index": 17, "label": "W2[0, 1]"}]


def test_full_check_names_the_isolated_entry(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad_one_entry_wrong", "--blocks", BLOCKS,
                  "--json") == ExitStatus.CHECK_FAILED
    [finding] = json.loads(capsys.readouterr().out)["diagnoses"]
    assert finding["code"] == "isolated-coordinates" and finding["indices"] == [17]


@pytest.mark.parametrize("extra,message", [
    (["--columns", "x.txt"], "give either"),
    (["--plot", "p.png"], "drop --quick"),
    (["--reference", "sizes=3,4,2"], "drop --quick"),
    (["--workers", "2"], "drop --quick"),
    (["--directions", "0"], "k must be a whole number of directions >= 1"),
])
def test_quick_usage_errors(user, capsys, extra, message):
    assert doctor(f"{user}:cost", f"{user}:grad", "--quick", *extra) == ExitStatus.USAGE
    assert message in capsys.readouterr().err


def test_workers_give_the_serial_report(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad_flipped", "--json") == 1
    serial = json.loads(capsys.readouterr().out)
    assert doctor(f"{user}:cost", f"{user}:grad_flipped", "--json", "--workers", "2") == 1
    parallel = json.loads(capsys.readouterr().out)
    assert parallel["evaluator"] == "central differences, 2 processes"
    assert parallel["worst"] == serial["worst"] and parallel["diagnoses"] == serial["diagnoses"]


def test_seed_takes_the_size_of_the_modules_theta(user, capsys):
    assert doctor(f"{user}:cost", f"{user}:grad", "--seed", "3", "--json") == ExitStatus.OK
    assert json.loads(capsys.readouterr().out)["source"]["theta"] == "seed 3"


def test_a_function_after_columns_is_a_usage_error(user, capsys, tmp_path):
    (tmp_path / "cols.txt").write_text("0.1 0.1\n0.2 0.2\n")
    assert doctor("--columns", tmp_path / "cols.txt", f"{user}:cost") == ExitStatus.USAGE
    assert "not both" in capsys.readouterr().err
