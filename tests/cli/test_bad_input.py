"""Bad input through the command line: one sentence on stderr, its own exit status, no traceback.

Each case builds its files in ``tmp_path`` and runs ``gradcheck.cli.main`` in-process.  Cases
already pinned elsewhere (tests/test_train_cli.py BAD, test_cli.py, test_doctor_cli.py,
test_persist.py CRAFTED, the library-level loaders in test_data.py) are not repeated here.
"""
from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pytest

from gradcheck import Network
from gradcheck.cli.main import main
from gradcheck.errors import ExitStatus

# --- file builders ------------------------------------------------------------------------------


def _idx(array) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return bytes([0, 0, 0x08, array.ndim]) + dims + array.tobytes()


def idx_dir(t, gz=False, **replace):
    """Four small IDX files in ``t/idx``; ``replace`` maps a file key to the bytes to write."""
    rng = np.random.default_rng(0)
    files = {"train_images": _idx(rng.integers(0, 256, (12, 4, 3))),
             "train_labels": _idx(np.arange(12) % 3),
             "t10k_images": _idx(rng.integers(0, 256, (6, 4, 3))),
             "t10k_labels": _idx(np.arange(6) % 3)}
    assert set(replace) <= set(files)
    files.update(replace)
    d = t / "idx"
    d.mkdir()
    for key, raw in files.items():
        name = key.replace("_", "-") + ("-idx3-ubyte" if key.endswith("images") else "-idx1-ubyte")
        (d / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)
    return str(d)


def csv(t, text, name="data.csv"):
    (t / name).write_text(text)
    return str(t / name)


ROWS = "".join(f"{k % 3}," + ",".join(str((7 * k + j) % 256) for j in range(16)) + "\n"
               for k in range(30))


def model(t, sizes=(16, 4, 3)):
    Network(list(sizes), seed=0).save(t / "m.npz")
    return str(t / "m.npz")


def _binary_model(t):
    Network([16, 4, 1], output="sigmoid", loss="binary_cross_entropy", seed=0).save(t / "b.npz")
    return str(t / "b.npz")


def npy(t, array, name="a.npy"):
    np.save(t / name, array)
    return str(t / name)


def raw(t, name, content: bytes):
    (t / name).write_bytes(content)
    return str(t / name)


USER = '''
import sys
import numpy as np
theta = np.full(6, 0.1)
def cost(t): return float(np.sum(t ** 2))
def grad(t): return 2 * t
def cost_raises(t): raise ValueError("no data loaded")
def cost_vector(t): return t ** 2
def cost_nan(t): return float("nan")
def cost_exits(t): sys.exit(3)
def grad_none(t): return None
def grad_short(t): return 2 * t[:-1]
def grad_complex(t): return 2j * t
'''


def user(t):
    (t / "user.py").write_text(USER)
    return str(t / "user.py")


def doctor(t, cost, grad="grad", *extra):
    u = user(t)
    return ["doctor", f"{u}:{cost}", *([f"{u}:{grad}"] if grad else []), *extra]


# --- the cases: argv builder, exit status, key phrase of the sentence on stderr ---------------------

DATA, USAGE, MODEL, USER_CODE = ExitStatus.DATA, ExitStatus.USAGE, ExitStatus.MODEL, ExitStatus.USER_CODE
TRAIN = ["train", "--epochs", "1", "--hidden", "4", "--data"]

CASES = {
    # IDX directories
    "idx bad magic": (lambda t: TRAIN + [idx_dir(t, train_images=b"\x12\x34\x08\x03" + bytes(20))],
                      DATA, "not an IDX magic number"),
    "idx truncated": (lambda t: TRAIN + [idx_dir(t, train_images=_idx(np.ones((12, 4, 3)))[:-5])],
                      DATA, "(truncated); download the file again"),
    "idx too long": (lambda t: TRAIN + [idx_dir(t, t10k_labels=_idx(np.arange(6) % 3) + b"\0")],
                     DATA, "(too long)"),
    "idx.gz truncated": (lambda t: TRAIN + [idx_dir(t, gz=True, train_images=_idx(np.ones((12, 4, 3)))[:-5])],
                         DATA, "(truncated); download the file again"),
    "idx.gz cut stream": (lambda t: TRAIN + [_cut_gz(t)], DATA, "check that the file is complete"),
    "idx images and labels differ": (lambda t: TRAIN + [idx_dir(t, train_labels=_idx(np.zeros(11)))],
                                     DATA, "has 12 images but"),
    "idx labels in the image slot": (lambda t: TRAIN + [idx_dir(t, t10k_images=_idx(np.zeros(6)))],
                                     DATA, "needs 0x00000803"),
    "idx image sizes differ": (lambda t: TRAIN + [idx_dir(t, t10k_images=_idx(np.zeros((6, 3, 3))))],
                               DATA, "both sets need the same image size"),
    # CSV files
    "csv NaN": (lambda t: TRAIN + [csv(t, ROWS + "1," + ",".join(["nan"] * 16) + "\n")],
                DATA, "NaN or infinite values (first at line 31)"),
    "csv Inf": (lambda t: TRAIN + [csv(t, ROWS + "1,inf" + ",1" * 15 + "\n")], DATA, "NaN or infinite values"),
    "csv negative label": (lambda t: TRAIN + [csv(t, ROWS + "-1" + ",1" * 16 + "\n")], DATA, "the label -1 at line 31"),
    "csv label not whole": (lambda t: TRAIN + [csv(t, ROWS + "2.5" + ",1" * 16 + "\n")], DATA, "non-integer label 2.5"),
    "csv header only": (lambda t: TRAIN + [csv(t, "label,a,b\n")], DATA, "has no data rows"),
    "csv empty file": (lambda t: TRAIN + [csv(t, "")], DATA, "has no data rows"),
    "csv ragged": (lambda t: TRAIN + [csv(t, "0,1,2\n1,3\n")], DATA, "cannot parse"),
    "csv not utf-8": (lambda t: TRAIN + [raw(t, "x.csv", b"0,1\xff,2\n")], DATA, "is not UTF-8"),
    "csv one row": (lambda t: TRAIN + [csv(t, "0,1,2\n")], DATA,
                    "holds 1 sample; a single file is split into a training and a held-out test part"),
    "csv too few to validate": (lambda t: TRAIN + [csv(t, "0,1,2\n1,3,4\n")], DATA, "--val-fraction 0"),
    "mat not a mat file": (lambda t: TRAIN + [raw(t, "x.mat", b"MATLAB 5.0 but not really")], DATA,
                           "cannot read"),
    "mat with an unknown data type": (lambda t: TRAIN + [_mat(t, {176: 76})], DATA,
                                      "not a valid MAT file (unknown data type 76"),
    "mat complex flag without imaginary part": (lambda t: TRAIN + [_mat(t, {145: 0x08})], DATA,
                                                "X holds complex numbers"),
    "mat X sparse": (lambda t: TRAIN + [_mat(t, {}, X=__import__("scipy.sparse").sparse.eye(12, 4).tocsc())],
                     DATA, "X is a sparse matrix, not a numeric matrix"),
    "mat X cell array": (lambda t: TRAIN + [_mat(t, {}, X=np.array([[1, "a"]], dtype=object))],
                         DATA, "X is a cell array"),
    "unknown dataset name": (lambda t: ["train", "--data", "fashoin-mnist"], DATA, "did you mean 'fashion-mnist'"),
    # a saved model and data that do not fit
    "evaluate on too few features": (lambda t: ["evaluate", model(t), "--data", csv(t, "0,1,2\n1,2,3\n2,3,4\n")],
                                     MODEL, "takes 16 features per sample but data.csv has 2"),
    "predict csv of the wrong width": (lambda t: ["predict", model(t), csv(t, "1,2,3\n", "x.csv")],
                                       DATA, "the model takes 16 features per sample"),
    "predict NaN input": (lambda t: ["predict", model(t), npy(t, np.full((2, 16), np.nan))], DATA, "NaN"),
    "predict object array": (lambda t: ["predict", model(t), npy(t, np.array([{}], dtype=object))],
                             DATA, "holds object values"),
    "model is not an npz": (lambda t: ["evaluate", raw(t, "m.npz", b"hello")], MODEL, "not a gradcheck model file"),
    "model is a directory": (lambda t: ["show", str(t)], MODEL, "is not a regular file"),
    "model does not exist": (lambda t: ["predict", str(t / "none.npz"), npy(t, np.zeros(16))], MODEL,
                             "does not exist"),
    # `check` and `matrix`: sizes, names, pairings, hyperparameters
    "check sizes and hidden disagree": (lambda t: ["check", "--sizes", "4,5,3", "--hidden", "relu,tanh"],
                                        USAGE, "2 hidden activations given for 1 hidden layers"),
    "check one softmax output": (lambda t: ["check", "--sizes", "4,5,1"], USAGE, "softmax over one output unit"),
    "check unknown output": (lambda t: ["check", "--output", "softmx"], USAGE, "did you mean 'softmax'"),
    "check unknown loss": (lambda t: ["check", "--loss", "cross_entropi"], USAGE, "did you mean 'cross_entropy'"),
    "check zero eps": (lambda t: ["check", "--eps", "0"], USAGE, "eps must be in (0, 1)"),
    "check NaN l2": (lambda t: ["check", "--l2", "nan"], USAGE, "finite number >= 0"),
    "check kinks everywhere": (lambda t: ["check", "--hidden", "relu", "--sizes", "50,500,3", "--samples", "50"],
                               USAGE, "use fewer samples or narrower layers"),
    "matrix unknown loss": (lambda t: ["matrix", "--loss", "mse2"], USAGE, "did you mean 'mse'"),
    "matrix zero samples": (lambda t: ["matrix", "--samples", "0"], USAGE,
                            "--samples must be a whole number from 1 to"),
    # `train`: names, pairings, hyperparameters, outputs
    "train refused pairing": (lambda t: ["train", "--output", "relu", "--loss", "bce"], USAGE, "is refused"),
    "train unknown loss": (lambda t: ["train", "--loss", "crossentropy"], USAGE, "did you mean 'cross_entropy'"),
    "train negative epochs": (lambda t: ["train", "--epochs", "-1"], USAGE, "--epochs must be an integer > 0"),
    "train NaN lr": (lambda t: ["train", "--lr", "nan"], USAGE, "--lr must be a number > 0"),
    "train negative l2": (lambda t: ["train", "--l2", "-1", "--epochs", "1", "--hidden", "4"], USAGE,
                          "l2 (lambda) must be a finite number >= 0"),
    "train zero checkpoint-every": (lambda t: ["train", "--checkpoint-every", "0"], USAGE,
                                    "--checkpoint-every must be an integer > 0 and at most 2147483647, got 0"),
    "train too large to allocate": (lambda t: ["train", "--hidden", "1000000000", "--epochs", "1"], USAGE,
                                    "GB of memory but"),
    "train unwritable --out": (lambda t: ["train", "--out", "/proc/gradcheck/m.npz"], USAGE,
                               "--out /proc/gradcheck/m.npz cannot be written"),
    "train --out is a directory": (lambda t: ["train", "--out", str(t)], USAGE, "is a directory"),
    "train unwritable --checkpoint": (lambda t: ["train", "--checkpoint-every", "1", "--checkpoint",
                                                 "/proc/gradcheck/c.npz"], USAGE, "--checkpoint /proc"),
    "train plot format": (lambda t: ["train", "--plot", str(t / "curves.xyz")], USAGE, "image format"),
    "train epochs beyond 64 bits": (lambda t: ["train", "--epochs", "99999999999999999999"], USAGE,
                                    "--epochs must be an integer > 0 and at most 2147483647"),
    "train --out over the data": (lambda t: ["train", "--data", csv(t, ROWS), "--out", str(t / "data.csv")],
                                  USAGE, "is the same file as --data"),
    "train --plot over --out": (lambda t: ["train", "--out", str(t / "m.png"), "--plot", str(t / "m.png")],
                                USAGE, "m.png is the same file as --out"),
    "train --lr with cg": (lambda t: ["train", "--data", csv(t, ROWS), "--optimizer", "cg", "--lr", "0.1"],
                           USAGE, "--lr does not apply to --optimizer cg, a full-batch method"),
    "train --resume with lbfgs": (lambda t: ["train", "--data", csv(t, ROWS), "--optimizer", "lbfgs",
                                             "--resume", str(t / "c.npz")], USAGE, "--resume does not apply"),
    "evaluate a binary model on 3 classes": (lambda t: ["evaluate", _binary_model(t), "--data", csv(t, ROWS)],
                                             MODEL, "b.npz tells 2 classes apart but data.csv has 3"),
    "check samples beyond 64 bits": (lambda t: ["check", "--samples", "99999999999999999999"], USAGE,
                                     "--samples must be a whole number from 1 to 2147483647"),
    "check samples beyond memory": (lambda t: ["check", "--samples", "2000000000"], USAGE,
                                    "GB of memory but"),
    "predict --top beyond 64 bits": (lambda t: ["predict", model(t), npy(t, np.zeros((2, 16))), "--top",
                                                "99999999999999999999"], USAGE, "--top must be an integer > 0"),
    # the doctor: theta, the user's functions, columns, reference
    "doctor theta of the wrong length": (lambda t: doctor(t, "cost", "grad", "--theta", npy(t, np.zeros(4))),
                                         USAGE, "has 4 values but the module's theta has 6"),
    "doctor theta and blocks disagree": (lambda t: doctor(t, "cost", "grad", "--blocks", "W=2x2"),
                                         USAGE, "cover 4 parameters but theta has 6"),
    "doctor complex theta": (lambda t: doctor(t, "cost", "grad", "--theta", npy(t, np.ones(6) * 1j)),
                             DATA, "holds complex128 values"),
    "doctor theta declaring a huge shape": (lambda t: doctor(t, "cost", "grad", "--theta", _huge_npy(t)),
                                            DATA, "the file is truncated or crafted"),
    "doctor cost raises": (lambda t: doctor(t, "cost_raises"), USER_CODE,
                           "the cost function raised ValueError: no data loaded"),
    "doctor cost returns a vector": (lambda t: doctor(t, "cost_vector"), USER_CODE, "not one number"),
    "doctor cost calls sys.exit": (lambda t: doctor(t, "cost_exits"), USER_CODE,
                                   "the cost function raised SystemExit"),
    "doctor gradient returns None": (lambda t: doctor(t, "cost", "grad_none"), USER_CODE,
                                     "the gradient function returned None"),
    "doctor gradient too short": (lambda t: doctor(t, "cost", "grad_short"), USER_CODE,
                                  "the gradient has 5 values but theta has 6"),
    "doctor complex gradient": (lambda t: doctor(t, "cost", "grad_complex"), USER_CODE, "complex numbers"),
    "doctor name is not a function": (lambda t: doctor(t, "theta"), USER_CODE,
                                      "defines 'theta' as a ndarray, not a function"),
    "doctor module is a directory": (lambda t: ["doctor", f"{t}:cost"], USER_CODE, "cannot find"),
    "doctor module is not Python": (lambda t: ["doctor", f"{raw(t, 'x.txt', b'x = 1')}:f"], USER_CODE,
                                    "it is not a Python file"),
    "doctor module with a syntax error": (lambda t: ["doctor", f"{raw(t, 'bad.py', b'def f(:')}:f"],
                                          USER_CODE, "raised SyntaxError"),
    "doctor zero samples": (lambda t: doctor(t, "cost", "grad", "--samples", "0"), USAGE, "--samples"),
    "doctor reference of the wrong size": (lambda t: doctor(t, "cost", "grad", "--reference", "sizes=3,4,2",
                                                            "--data", _xy(t)), USAGE,
                                           "theta has 6 values but the reference network"),
    "doctor reference data with NaN": (lambda t: doctor(t, "cost", "grad", "--reference", "sizes=2,2",
                                                        "--data", _xy(t, np.nan)), DATA, "NaN or infinite"),
    "doctor reference data missing y": (lambda t: doctor(t, "cost", "grad", "--reference", "sizes=2,2",
                                                         "--data", _x_only(t)), DATA, "has no array y"),
    "doctor columns of strings": (lambda t: ["doctor", "--columns", npy(t, np.array(["a"]), "n.npy"),
                                             npy(t, np.array(["b"]), "a.npy")], DATA, "holds <U1 values"),
    "doctor columns of unequal length": (lambda t: ["doctor", "--columns", npy(t, np.ones(3), "n.npy"),
                                                    npy(t, np.ones(4), "a.npy")], USAGE, "have 3 and 4 values"),
    "doctor columns without numbers": (lambda t: ["doctor", "--columns", csv(t, "no numbers here\n", "c.txt")],
                                       DATA, "holds no lines of two numbers"),
    "doctor unwritable plot": (lambda t: ["doctor", "--columns", csv(t, "1 1\n2 2\n", "c.txt"),
                                          "--plot", "/proc/gradcheck/x.png"], USAGE,
                               "--plot /proc/gradcheck/x.png cannot be written"),
    "show unwritable plot": (lambda t: ["show", model(t), "--plot", "/proc/gradcheck/w.png"], USAGE,
                             "cannot write the plot /proc/gradcheck/w.png"),
}

# argparse refuses these itself: its usage, then one sentence naming the argument
ARGPARSE = {
    "check zero width": (["check", "--sizes", "0,5,3"], "sizes needs at least two widths from 1 to"),
    "train zero hidden width": (["train", "--hidden", "16,0"], "hidden sizes must be integers from 1 to"),
    "train negative seed": (["train", "--seed", "-1"], "a seed must be a non-negative integer"),
    "check negative seed": (["check", "--seed", "-1"], "a seed must be a non-negative integer"),
    "doctor reference not KEY=VALUE": (["doctor", "x.py:f", "--reference", "sizes"], "is not KEY=VALUE"),
    "doctor reference sizes not numbers": (["doctor", "x.py:f", "--reference", "sizes=a"],
                                           "not a valid value for sizes"),
    "doctor unknown reference key": (["doctor", "x.py:f", "--reference", "sizes=2,2 outptu=softmax"],
                                     "did you mean 'output'"),
    "doctor blocks not NAME=SHAPE": (["doctor", "x.py:f", "--blocks", "Theta1"], "is not NAME=ROWSxCOLS"),
}


def _mat(t, patch: dict, **variables):
    """A .mat file of X (12x4 ones) and y, with bytes at the given offsets replaced.

    scipy's compiled reader crashed the interpreter on both patches in CASES (found by
    tests/test_fuzz_loaders.py); X's array flags sit at byte 144 and its data tag at 176.
    """
    import scipy.io

    path = t / "data.mat"
    scipy.io.savemat(path, {"X": np.ones((12, 4)), "y": np.arange(12) % 3, **variables})
    raw = bytearray(path.read_bytes())
    for offset, value in patch.items():
        raw[offset] = value
    path.write_bytes(bytes(raw))
    return str(path)


def _cut_gz(t):
    d = idx_dir(t, gz=True)
    path = t / "idx" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-12])
    return d


def _huge_npy(t):
    """A .npy header declaring 10**11 float64 values, followed by a few bytes."""
    path = t / "huge.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 11,)})
        fh.write(bytes(64))
    return str(path)


def _xy(t, fill=0.0):
    np.savez(t / "xy.npz", X=np.full((5, 2), fill), y=np.arange(5) % 2)
    return str(t / "xy.npz")


def _x_only(t):
    np.savez(t / "x.npz", X=np.zeros((5, 2)))
    return str(t / "x.npz")


@pytest.fixture(autouse=True)
def _no_stray_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # checkpoint.npz and friends land here, not in the repository


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_sentence_with_its_exit_status(case, tmp_path, capsys):
    make_argv, status, phrase = CASES[case]
    argv = make_argv(tmp_path)
    assert main(argv) == status, capsys.readouterr().err
    out = capsys.readouterr()
    assert phrase in out.err
    assert "Traceback" not in out.err + out.out
    assert out.err.strip().count("\n") == 0, out.err  # one sentence, one line
    assert out.err.startswith(f"gradcheck {argv[0]}: error: ")


@pytest.mark.parametrize("case", ARGPARSE)
def test_bad_argument_is_refused_by_the_parser(case, capsys):
    argv, phrase = ARGPARSE[case]
    assert main(argv) == ExitStatus.USAGE
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert phrase in last and "Traceback" not in err


def test_nan_cost_is_a_finding_not_a_crash(tmp_path, capsys):
    assert main(doctor(tmp_path, "cost_nan")) == ExitStatus.CHECK_FAILED
    out = capsys.readouterr()
    assert out.err == "" and "non-finite" in out.out and "cost itself is nan" in out.out


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_prints_the_traceback_and_keeps_the_status(where, tmp_path, capsys):
    argv = ["train", "--lr", "0"]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    assert main(argv) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "--lr must be a number > 0" in err


def test_debug_shows_the_users_error_with_its_cause(tmp_path, capsys):
    assert main(["--debug", *doctor(tmp_path, "cost_raises")]) == ExitStatus.USER_CODE
    err = capsys.readouterr().err
    assert "ValueError" in err and "The above exception was the direct cause" in err


def test_debug_prints_the_traceback_from_the_console_script(tmp_path):
    script = "from gradcheck.cli import console_main; console_main()"
    plain = subprocess.run([sys.executable, "-c", script, "check", "--eps", "0"], capture_output=True, text=True)
    debug = subprocess.run([sys.executable, "-c", script, "--debug", "check", "--eps", "0"],
                           capture_output=True, text=True)
    assert plain.returncode == ExitStatus.USAGE and "Traceback" not in plain.stderr
    assert debug.returncode == ExitStatus.USAGE and "Traceback (most recent call last)" in debug.stderr
    assert "ConfigError: eps must be in (0, 1)" in debug.stderr


def test_the_data_file_is_not_overwritten_by_a_refused_out(tmp_path):
    data = csv(tmp_path, ROWS)
    assert main(["train", "--data", data, "--epochs", "1", "--out", data]) == ExitStatus.USAGE
    assert (tmp_path / "data.csv").read_text() == ROWS


def _console_script(*argv, **kwargs):
    script = "from gradcheck.cli import console_main; console_main()"
    return subprocess.Popen([sys.executable, "-c", script, *argv], stderr=subprocess.PIPE, text=True,
                            **kwargs)


@pytest.mark.parametrize("argv", [["matrix", "--json"], ["check"]])
def test_a_closed_pipe_ends_quietly_with_status_141(argv):
    """``gradcheck ... | head``: the reader went away; no traceback, the shell's SIGPIPE status."""
    proc = _console_script(*argv, stdout=subprocess.PIPE)
    proc.stdout.close()  # before the command writes anything
    err = proc.stderr.read()
    assert proc.wait() == ExitStatus.OUTPUT_CLOSED == 141
    assert err == ""


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_for_stdout_is_one_sentence_and_status_7():
    with open("/dev/full", "w") as full:
        proc = _console_script("check", "--json", stdout=full)
        err = proc.stderr.read()
        assert proc.wait() == ExitStatus.OUTPUT == 7
    assert err.startswith("gradcheck check: error: could not write the output (No space left on device)")
    assert "Traceback" not in err and err.strip().count("\n") == 0


def test_json_writes_non_finite_numbers_as_null(capsys):
    """An overflowing noise allowance (eps 1e-300) and cost: null in strict JSON, not a crash."""
    import json

    status = main(["check", "--eps", "1e-300", "--l2", "1e30", "--json"])
    out = capsys.readouterr()
    assert status == ExitStatus.CHECK_FAILED and "Traceback" not in out.err
    report = json.loads(out.out)  # strict: NaN and Infinity would not parse as JSON values
    assert report["noise"] is None and report["eps"] == 1e-300
    # the gradient is the library's own: the failure is the step, and the doctor says so
    assert [d["code"] for d in report["diagnoses"]] == ["step-size"]


def test_labels_and_names_with_brackets_print_as_text(tmp_path, capsys):
    """rich markup in the user's labels and file names: '[/]' would crash, '[x]' vanish."""
    path = tmp_path / "model[v2].npz"
    Network([16, 4, 3], seed=0).save(path, {"labels": ["[/]", "cat [domestic]", "c"]})
    x = npy(tmp_path, np.zeros((2, 16)))
    assert main(["show", str(path)]) == ExitStatus.OK
    assert main(["predict", str(path), x]) == ExitStatus.OK
    assert main(["evaluate", str(path), "--data", csv(tmp_path, ROWS)]) == ExitStatus.OK
    out = capsys.readouterr()
    assert "model[v2].npz" in out.out and "cat [domestic]" in out.out and "Traceback" not in out.err


def test_dollar_signs_in_names_are_text_in_plots(tmp_path):
    """matplotlib reads $...$ as TeX; a file named a$b_$c.csv must not fail the finished run."""
    from gradcheck.plots import confusion_matrix

    out = confusion_matrix(np.eye(3, dtype=int), tmp_path / "c.png", ["a$b_$c", "$", "x"],
                           title="run$1_$x.npz on a$b_$c.csv")
    assert out.stat().st_size > 1000


def test_a_refused_run_leaves_no_directories_for_its_outputs(tmp_path):
    argv = ["train", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "new" / "sub" / "m.npz")]
    assert main(argv) == DATA
    assert not (tmp_path / "new").exists()
