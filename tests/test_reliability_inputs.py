"""Reliability (issue 14): data and model files that gave tracebacks, crashes or silent wrong
answers, and inputs that used unbounded resources.

Cases 5, 6, 8, 9, 10 and 12 of the issue and its "Resources" bullets, one test each; the
command line runs in-process through ``gradcheck.cli.main``, anything that could crash the
interpreter or needs its own memory figures in a subprocess.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import warnings
import zlib

import numpy as np
import pytest

from gradcheck import Network
from gradcheck.cli import main
from gradcheck.errors import ExitStatus

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def cli(argv):
    """Run the command line in-process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


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


# --- 5. an IDX directory without images --------------------------------------------------------

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


# --- 6. Network.load_mat on crafted files --------------------------------------------------------

_LOAD_MAT = """
    import resource, sys
    from gradcheck import Network
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        Network.load_mat(sys.argv[1])
        print("loaded")
    except Exception as exc:
        print("refused", getattr(exc, "exit_status", None), exc)
    print("grown_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
"""


def _patched_mat(tmp_path, offset, value):
    """Theta1 3x5 and Theta2 2x4 saved by savemat, one byte changed.  Theta1's array flags
    sit at byte 144 (the complex flag is 0x08 of byte 145), its dimensions at 160, its name
    at 176 and its data tag at 184."""
    Network([4, 3, 2], seed=0).save_mat(tmp_path / "w.mat")
    raw = bytearray((tmp_path / "w.mat").read_bytes())
    raw[offset] = value
    (tmp_path / "bad.mat").write_bytes(bytes(raw))
    return tmp_path / "bad.mat"


def _inflating_mat(path, rows, cols):
    """A MAT 5 file whose one compressed variable, Theta1, inflates to rows x cols doubles of 0,
    written in pieces so the test itself never holds the inflated bytes."""
    body = bytearray()
    body += (6).to_bytes(4, "little") + (8).to_bytes(4, "little") + (6).to_bytes(8, "little")
    body += (5).to_bytes(4, "little") + (8).to_bytes(4, "little")
    body += rows.to_bytes(4, "little") + cols.to_bytes(4, "little")
    body += (1 | 6 << 16).to_bytes(4, "little") + b"Theta1\0\0"
    nbytes = 8 * rows * cols
    body += (9).to_bytes(4, "little") + nbytes.to_bytes(4, "little")
    head = (14).to_bytes(4, "little") + (len(body) + nbytes).to_bytes(4, "little") + bytes(body)
    z = zlib.compressobj(9)
    parts = [z.compress(head)]
    zeros = bytes(1 << 20)
    for _ in range(nbytes >> 20):
        parts.append(z.compress(zeros))
    parts.append(z.compress(bytes(nbytes & ((1 << 20) - 1))) + z.flush())
    stream = b"".join(parts)
    header = b"MATLAB 5.0 MAT-file, crafted".ljust(116, b" ") + bytes(8) + b"\x00\x01IM"
    path.write_bytes(header + (15).to_bytes(4, "little") + len(stream).to_bytes(4, "little") + stream)
    return path


@pytest.mark.parametrize("offset, value, phrase", [
    (145, 0x08, "complex"),          # the complex flag without an imaginary part: a segfault
    (184, 76, "unknown data type"),  # an undefined data type
    (176, ord("L"), "skip a number"),  # Lheta1: Theta2 without Theta1
    (160, 0xFF, "declares"),         # dimensions that disagree with the data
])
def test_load_mat_checks_the_file_before_scipy_reads_it(tmp_path, offset, value, phrase):
    """Before: a segmentation fault inside scipy.io.loadmat (status -11)."""
    proc = run_python(_LOAD_MAT, _patched_mat(tmp_path, offset, value))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("refused 4 ") and phrase in proc.stdout, proc.stdout


def test_load_mat_bounds_the_memory_a_small_file_can_claim(tmp_path):
    """Before: a 779 KB file used 2.4 GB; here 320 MB of zeros packed into about 300 KB."""
    path = _inflating_mat(tmp_path / "bomb.mat", 10_000, 4_001)
    assert path.stat().st_size < 1_000_000
    proc = run_python(_LOAD_MAT, path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("refused 4 "), proc.stdout
    grown_mb = int(proc.stdout.split("grown_kb")[1]) / 1024
    assert grown_mb < 32, f"memory grew by {grown_mb:.0f} MB refusing a {path.stat().st_size} byte file"


# --- 8. the input scale a model was trained with ---------------------------------------------------

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


# --- 9. CSV header detection ---------------------------------------------------------------------

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


# --- 10. sizes and header values of the wrong type -----------------------------------------------

@pytest.mark.parametrize("sizes", [[8, 2.5, 3], [8, True, 3], [8, "4", 3], [8, None, 3], [8, 4.0, 3]])
def test_network_sizes_must_be_integers(sizes):
    """Before: 2.5 became 2, True became 1 and "4" became 4 without a word."""
    with pytest.raises(Exception) as info:
        Network(sizes)
    assert getattr(info.value, "exit_status", None) == ExitStatus.USAGE
    assert repr(sizes[1]) in str(info.value)


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


@pytest.mark.parametrize("key, value", [("l2", True), ("l2", "1"), ("sizes", [3, True, 2]),
                                        ("sizes", [3, 2.0, 2])])
def test_a_model_header_value_of_the_wrong_type_is_refused(tmp_path, key, value, capsys):
    """Before: ``"l2": true`` was read as 1.0."""
    Network([3, 2, 2], seed=0).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        header, theta = json.loads(z["header"].tobytes()), z["theta"].copy()
    header[key] = value
    with open(tmp_path / "bad.npz", "wb") as fh:
        np.savez(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8), theta=theta)
    assert main(["show", str(tmp_path / "bad.npz")]) == ExitStatus.MODEL
    line = one_sentence(capsys.readouterr().err)
    assert repr(key) in line or key in line


# --- 12. a model evaluated on data it was not trained on ------------------------------------------

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


# --- resources --------------------------------------------------------------------------------------

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
