import json

import pytest

from gradcheck.cli.main import main
from gradcheck.errors import ExitStatus


def test_matrix_json_every_accepted_pairing_below_1e_7(capsys):
    assert main(["matrix", "--json", "--hidden", "tanh,relu,softplus"]) == ExitStatus.OK
    out = json.loads(capsys.readouterr().out)
    checked = [r for r in out["rows"] if r["status"] != "refused"]
    assert len(checked) == 3 * 20 and all(r["relative_error"] < 1e-7 for r in checked)
    refused = [r for r in out["rows"] if r["status"] == "refused"]
    assert refused and all(r["reason"] for r in refused)


def test_matrix_table(capsys):
    assert main(["matrix", "--hidden", "sigmoid", "--output", "softmax,relu"]) == 0
    out = capsys.readouterr().out
    assert "softmax" in out and "a - y" in out and "Refused" in out


def test_check_prints_per_block_report(capsys):
    code = main(["check", "--sizes", "4,5,3", "--hidden", "tanh", "--output", "softmax",
                 "--loss", "cross_entropy", "--l2", "1.0"])
    out = capsys.readouterr().out
    assert code == ExitStatus.OK and "W1" in out and "b2" in out and "PASS" in out


def test_check_json(capsys):
    assert main(["check", "--hidden", "relu,tanh", "--sizes", "3,4,4,2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] and [b["name"] for b in out["blocks"]] == ["W1", "b1", "W2", "b2", "W3", "b3"]


@pytest.mark.parametrize("argv,message", [
    (["check", "--hidden", "tahn"], "did you mean 'tanh'"),
    (["check", "--output", "relu", "--loss", "bce"], "is refused"),
    (["check", "--l2", "-1"], "l2"),
    (["check", "--samples", "0"], "--samples"),
])
def test_usage_errors_exit_2_with_one_sentence(argv, message, capsys):
    assert main(argv) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_argparse_errors_exit_2(capsys):
    assert main(["check", "--sizes", "4"]) == ExitStatus.USAGE
    assert main(["no-such-command"]) == ExitStatus.USAGE
    assert main([]) == ExitStatus.USAGE


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "gradcheck", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("gradcheck ")
