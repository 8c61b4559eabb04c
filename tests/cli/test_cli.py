import json

import pytest

import gradcheck
from gradcheck.check.gradient import check_network
from gradcheck.check.matrix import draw_problem, pairing_matrix
from gradcheck.cli.main import main
from gradcheck.errors import ExitStatus
from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.losses import LOSSES, pair


def test_matrix_json_every_accepted_pairing_below_1e_7(capsys):
    assert main(["matrix", "--json", "--hidden", "tanh,relu,softplus"]) == ExitStatus.OK
    out = json.loads(capsys.readouterr().out)
    checked = [r for r in out["rows"] if r["status"] != "refused"]
    accepted = {(o, loss) for o in ACTIVATIONS for loss in LOSSES if pair(o, loss).status != "refused"}
    assert {(r["hidden"], r["output"], r["loss"]) for r in checked} == {
        (h, o, loss) for h in ("tanh", "relu", "softplus") for o, loss in accepted}
    assert len(checked) == 3 * len(accepted) and all(r["relative_error"] < 1e-7 for r in checked)
    refused = [r for r in out["rows"] if r["status"] == "refused"]
    assert refused and all(r["reason"] for r in refused)


def _table_rows(out):
    """The cells of every row of the rich tables in ``out`` (header rows included)."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if "│" in line]


def test_matrix_table(capsys):
    assert main(["matrix", "--hidden", "sigmoid", "--output", "softmax,relu"]) == 0
    rows = {tuple(cells[:2]): cells[2:] for cells in _table_rows(capsys.readouterr().out)}
    expected = pairing_matrix(hidden=["sigmoid"], outputs=["softmax", "relu"])
    for r in expected:
        p = pair(r.output, r.loss)
        if r.status == "refused":
            assert rows[(r.output, r.loss)] == [p.reason]
        else:
            assert rows[(r.output, r.loss)] == [r.status, p.delta_formula, f"{r.relative_error:.2e}", "1/1"]
    assert rows[("softmax", "cross_entropy")][:2] == ["fused", "a - y"]
    assert rows[("relu", "cross_entropy")] == ["relu outputs can exceed 1 (up to inf), so they are not probabilities"]


def test_check_prints_per_block_report(capsys):
    code = main(["check", "--sizes", "4,5,3", "--hidden", "tanh", "--output", "softmax",
                 "--loss", "cross_entropy", "--l2", "1.0"])
    out = capsys.readouterr().out
    net, X, Y, _ = draw_problem([4, 5, 3], "tanh", "softmax", "cross_entropy", 7, 0, l2=1.0)
    report = check_network(net, X, Y)
    assert code == ExitStatus.OK and out.startswith(repr(net))
    shapes = {"W1": "5x4", "b1": "5", "W2": "3x5", "b2": "3"}
    printed = {cells[0]: cells[1:] for cells in _table_rows(out) if cells[0] in shapes}
    assert printed == {name: [shapes[name], f"{err:.2e}"] for name, err in report.block_errors.items()}
    assert f"relative error {report.relative_error:.2e} (tolerance 1e-06" in out and out.rstrip().endswith("PASS")


def test_check_json(capsys):
    assert main(["check", "--hidden", "relu,tanh", "--sizes", "3,4,4,2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] and [b["name"] for b in out["blocks"]] == ["W1", "b1", "W2", "b2", "W3", "b3"]


@pytest.mark.parametrize("argv,message", [
    (["check", "--hidden", "tahn"], "did you mean 'tanh'"),
    (["check", "--output", "relu", "--loss", "bce"], "is refused"),
    (["check", "--l2", "-1"], "l2 (lambda) must be a finite number >= 0, got -1.0"),
    (["check", "--samples", "0"], "--samples must be a whole number from 1 to 2147483647, got 0"),
])
def test_usage_errors_exit_2_with_one_sentence(argv, message, capsys):
    assert main(argv) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_argparse_errors_exit_2(capsys):
    assert main(["check", "--sizes", "4"]) == ExitStatus.USAGE
    assert "sizes needs at least two widths from 1 to 2147483647, got '4'" in capsys.readouterr().err
    assert main(["no-such-command"]) == ExitStatus.USAGE
    assert "invalid choice: 'no-such-command'" in capsys.readouterr().err
    assert main([]) == ExitStatus.USAGE
    assert capsys.readouterr().out.startswith("usage: gradcheck")  # the help, on stdout


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "gradcheck", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"gradcheck {gradcheck.__version__}"
