"""Reliability (issue 14), the command line: sizes that are not numbers, control characters in
user text, ``train`` in a pipe and the model it keeps without ``--out``, ``evaluate --plot``,
an offline ``--data mnist``.
"""
from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from cli_run import cli
from gradcheck import Network
from gradcheck.cli import main
from gradcheck.errors import ExitStatus


@pytest.fixture
def small_csv(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.integers(0, 256, (60, 16))
    np.savetxt(tmp_path / "small.csv", np.hstack([y[:, None], X]), fmt="%d", delimiter=",")
    return tmp_path / "small.csv"


@pytest.mark.parametrize("argv, bad", [
    (["check", "--sizes", "4,x,3"], "4,x,3"),
    (["check", "--sizes", "4,,3"], "4,,3"),
    (["matrix", "--sizes", "4x5x"], "4x5x"),
    (["train", "--hidden", "16,x"], "16,x"),
])
def test_sizes_on_the_command_line_are_refused_when_a_part_is_not_a_number(argv, bad, capsys):
    """Before: ``--sizes 4,x,3`` built [4, 3]."""
    assert main(argv) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert bad in err and "Traceback" not in err


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_user_text_is_printed_with_control_characters_escaped(tmp_path):
    """Metadata, file names and exception text can carry terminal escape sequences."""
    Network([4, 3, 2], seed=0).save(tmp_path / "m.npz", {"dataset": "digits\x1b]0;owned\x07\x1b[2J"})
    code, out, err = cli(["show", tmp_path / "m.npz"])
    assert code == ExitStatus.OK and not CONTROL.search(out + err) and "\\x1b" in out, out
    code, out, err = cli(["show", tmp_path / "no\x1b[31mpe.npz"])
    assert code == ExitStatus.MODEL and not CONTROL.search(out + err) and "\\x1b" in err, err
    (tmp_path / "user.py").write_text("import numpy as np\ntheta = np.zeros(2)\n"
                                      "def cost(t): raise ValueError('bad\\x1b[2J\\r')\n"
                                      "def grad(t): return t\n")
    code, out, err = cli(["doctor", f"{tmp_path / 'user.py'}:cost", f"{tmp_path / 'user.py'}:grad"])
    assert code == ExitStatus.USER_CODE and not CONTROL.search(out + err) and "\\x1b" in err, err


def test_train_prints_one_line_per_epoch_when_not_on_a_terminal(small_csv, tmp_path, capsys):
    """Before: nothing until the end when stderr is not a terminal."""
    assert main(["train", "--data", str(small_csv), "--hidden", "4", "--epochs", "3",
                 "--out", str(tmp_path / "m.npz")]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1].rstrip(":") for line in lines] == ["1/3", "2/3", "3/3"], err
    assert all("loss" in line for line in lines)


def test_train_without_out_keeps_a_model_and_never_overwrites_one(small_csv, tmp_path, monkeypatch):
    """Before: the default run kept no model, so evaluate/predict had nothing to read."""
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(["train", "--data", small_csv, "--hidden", "4", "--epochs", "2"])
    assert code == ExitStatus.OK, err
    assert (tmp_path / "model.npz").is_file() and "model.npz" in out
    first = (tmp_path / "model.npz").read_bytes()
    assert cli(["evaluate", "model.npz"])[0] == ExitStatus.OK
    code, out, err = cli(["train", "--data", small_csv, "--hidden", "4", "--epochs", "2", "--seed", "1"])
    assert code == ExitStatus.OK, err
    assert (tmp_path / "model.npz").read_bytes() == first
    second = [p for p in os.listdir(tmp_path) if p.startswith("model") and p != "model.npz"]
    assert len(second) == 1 and second[0] in out, (os.listdir(tmp_path), out)
    code, out, _ = cli(["train", "--data", small_csv, "--hidden", "4", "--epochs", "1", "--json"])
    assert json.loads(out)["model"] not in ("model.npz", second[0], None)


def test_offline_mnist_tells_the_command_line_user_about_data_dir(tmp_path, monkeypatch):
    """Before: "pass a directory of IDX files to load_dataset", which CLI users cannot do."""
    import gradcheck.data.download as download

    monkeypatch.setattr(download, "MNIST_MIRRORS", ("http://127.0.0.1:9/",))
    monkeypatch.delenv("GRADCHECK_MNIST_MIRROR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code, _, err = cli(["train", "--data", "mnist", "--epochs", "1"])
    assert code == ExitStatus.DATA
    assert "--data DIR" in err


def test_evaluate_plot_says_where_it_drew(small_csv, tmp_path):
    code, _, err = cli(["train", "--data", small_csv, "--hidden", "4", "--epochs", "1",
                        "--out", tmp_path / "m.npz"])
    assert code == 0, err
    code, out, err = cli(["evaluate", tmp_path / "m.npz", "--plot", tmp_path / "c.png"])
    assert code == 0 and str(tmp_path / "c.png") in out, out

