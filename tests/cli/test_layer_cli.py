"""``gradcheck doctor --layer`` in-process: exit statuses, the report, JSON, one sentence per bad input."""
import json

import numpy as np
import pytest

from gradcheck.cli.layer import parse_inputs, parse_params
from gradcheck.cli.main import main
from gradcheck.errors import ConfigError, ExitStatus

MODULE = '''
import numpy as np


def affine_forward(x, w, b):
    return x.reshape(len(x), -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)


def affine_backward_db_not_summed(dout, cache):
    dx, dw, _ = affine_backward(dout, cache)
    return dx, dw, dout


def relu_loss(x, y):
    return float(np.maximum(x, 0).sum()), (x > 0).astype(float)


def broken_backward(dout, cache):
    raise ValueError("shapes do not align")


inputs = {"x": np.linspace(-1, 1, 12).reshape(3, 4), "w": np.ones((4, 2)), "b": np.zeros(2)}
'''


@pytest.fixture
def module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "layers.py").write_text(MODULE)
    return "layers.py"


def doctor(*args):
    return main(["doctor", *args])


def test_a_right_layer_agrees(module, capsys):
    status = doctor("--layer", f"{module}:affine_forward", f"{module}:affine_backward", "--inputs",
                    "x=4x5,w=5x3,b=3")
    out = capsys.readouterr().out
    assert status == ExitStatus.OK and "AGREE" in out and "Findings" not in out


def test_a_planted_mistake_is_named_with_its_fix(module, capsys):
    status = doctor("--layer", f"{module}:affine_forward", f"{module}:affine_backward_db_not_summed",
                    "--inputs", "x=4x2x3,w=6x5,b=5", "--reference", "affine")
    out = capsys.readouterr().out
    assert status == ExitStatus.CHECK_FAILED
    assert "shape-not-summed" in out and "mistake:affine-db-not-summed" in out and "db = dout.sum(axis=0)" in out


def test_json_holds_the_source_and_the_report(module, capsys):
    status = doctor("--layer", f"{module}:affine_forward", f"{module}:affine_backward_db_not_summed",
                    "--inputs", "x=4x5,w=5x3,b=3", "--json")
    data = json.loads(capsys.readouterr().out)
    assert status == ExitStatus.CHECK_FAILED and data["agree"] is False
    assert data["source"] == {"mode": "layer", "forward": f"{module}:affine_forward",
                              "backward": f"{module}:affine_backward_db_not_summed",
                              "inputs": "x=4x5,w=5x3,b=3", "params": None, "reference": None, "seed": 0}
    assert [i["returned_shape"] for i in data["inputs"]] == [[4, 5], [5, 3], [4, 3]]
    assert [d["code"] for d in data["diagnoses"]] == ["shape-not-summed"]


def test_the_modules_inputs_and_a_loss_with_its_gradient(module, capsys):
    assert doctor("--layer", f"{module}:affine_forward", f"{module}:affine_backward") == ExitStatus.OK
    capsys.readouterr()
    status = doctor("--layer", f"{module}:relu_loss", "--inputs", "x=3x4,y=3:int4", "--json")
    data = json.loads(capsys.readouterr().out)
    assert status == ExitStatus.OK and data["kind"] == "numpy-loss"
    assert data["inputs"][1] == {"name": "y", "shape": [3], "dtype": "int64", "differentiated": False,
                                 "returned_shape": None, "relative_error": None, "passed": None}


def test_quick_and_plot(module, tmp_path, capsys):
    assert doctor("--layer", f"{module}:affine_forward", f"{module}:affine_backward", "--inputs",
                  "x=4x5,w=5x3,b=3", "--quick") == ExitStatus.OK
    assert "direction 1" in capsys.readouterr().out
    plot = tmp_path / "layer.png"
    assert doctor("--layer", f"{module}:affine_forward", f"{module}:affine_backward", "--inputs",
                  "x=4x5,w=5x3,b=3", "--plot", str(plot)) == ExitStatus.OK
    assert plot.stat().st_size > 0


def test_a_torch_function_from_the_command_line(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fn.py").write_text(
        "import torch\n\nclass Tanh(torch.autograd.Function):\n"
        "    @staticmethod\n    def forward(ctx, x):\n        t = torch.tanh(x)\n"
        "        ctx.save_for_backward(t)\n        return t\n\n"
        "    @staticmethod\n    def backward(ctx, g):\n        (t,) = ctx.saved_tensors\n"
        "        return g * (1 - t ** 2)\n")
    assert doctor("--layer", "fn.py:Tanh", "--inputs", "x=4x5", "--reference", "tanh") == ExitStatus.OK
    capsys.readouterr()
    assert doctor("--layer", "fn.py:Tanh", "--inputs", "x=4x5:float32", "--json") == ExitStatus.CHECK_FAILED
    [finding] = json.loads(capsys.readouterr().out)["diagnoses"]
    assert finding["code"] == "low-precision" and "x.double()" in finding["message"]


@pytest.mark.parametrize("args, status, words", [
    (["--inputs", "x=4y5"], ExitStatus.USAGE, "is not SHAPE[:KIND]"),
    (["--inputs", "x=4x5,x=3"], ExitStatus.USAGE, "twice"),
    (["--inputs", "x=4x5,w=5x3,b=3", "--params", "{stride: 1}"], ExitStatus.USAGE, "not valid JSON"),
    (["--inputs", "x=4x5,w=5x3,b=3", "--params", "[1]"], ExitStatus.USAGE, "JSON object"),
    (["--inputs", "x=4x5,w=5x3,b=3", "--reference", "afine"], ExitStatus.USAGE, "did you mean 'affine'"),
    (["--inputs", "x=4x5,w=5x3,b=3", "--reference", "sizes=3,2"], ExitStatus.USAGE, "reference layer"),
    (["--inputs", "x=4x5,w=5x3,b=3", "--blocks", "W=2x2"], ExitStatus.USAGE, "--blocks"),
    (["--inputs", "x=4x5,w=5x3,b=3", "--quick", "--reference", "affine"], ExitStatus.USAGE, "drop --quick"),
    (["--inputs", "x=4x5,w=5x3,b=missing.npy"], ExitStatus.DATA, "missing.npy does not exist"),
    (["--inputs", "x=4x5,w=5x4,b=3"], ExitStatus.USER_CODE, "affine_forward raised ValueError"),
    (["--inputs", "x=4x5,w=5x3,b=3", "--eps", "2"], ExitStatus.USAGE, "--eps must be in (0, 1)"),
])
def test_bad_input_is_one_sentence_with_its_status(module, capsys, args, status, words):
    assert doctor("--layer", f"{module}:affine_forward", f"{module}:affine_backward", *args) == status
    err = capsys.readouterr().err.strip()
    assert words in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_missing_and_failing_functions_are_user_code_errors(module, capsys):
    assert doctor("--layer", f"{module}:affine_forwrd", f"{module}:affine_backward", "--inputs",
                  "x=3") == ExitStatus.USER_CODE
    assert "did you mean 'affine_forward'" in capsys.readouterr().err
    assert doctor("--layer", f"{module}:affine_forward", f"{module}:broken_backward") == ExitStatus.USER_CODE
    assert "broken_backward raised ValueError: shapes do not align" in capsys.readouterr().err


def test_layer_options_without_layer_are_refused(module, capsys):
    assert doctor(f"{module}:affine_forward", "--inputs", "x=3") == ExitStatus.USAGE
    assert "belong to --layer" in capsys.readouterr().err


def test_inputs_are_seeded_and_typed():
    a, b = parse_inputs("x=2x3,y=4:int3,m=2x3:bool,h=2:float32", 7), parse_inputs("x=2x3", 7)
    np.testing.assert_array_equal(a["x"], b["x"])
    assert a["y"].dtype.kind == "i" and a["y"].max() < 3 and a["m"].dtype == bool
    assert a["h"].dtype == np.float32
    with pytest.raises(ConfigError, match="1 to 10,000,000"):
        parse_inputs("x=0x3", 0)
    assert parse_params('{"stride": 2, "pad": 1}') == {"stride": 2, "pad": 1}
