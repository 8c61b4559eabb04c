"""``gradcheck train / evaluate / predict / show`` in-process, on a small slice of the MNIST sample."""
import json

import numpy as np
import pytest

from gradcheck import Network
from gradcheck.cli.main import main
from gradcheck.data.datasets import load_dataset
from gradcheck.errors import ExitStatus


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """300 sample digits as a CSV (label first, pixels 0..255), like the loader reads."""
    ds = load_dataset("mnist-sample")
    X, y = ds.X_train[:300], ds.y_train[:300]
    path = tmp_path_factory.mktemp("data") / "digits.csv"
    table = np.hstack([y[:, None], np.rint(X * 255)]).astype(np.int64)
    np.savetxt(path, table, fmt="%d", delimiter=",")
    return path, X, y


@pytest.fixture(scope="module")
def model(digits, tmp_path_factory):
    """A model trained by the CLI on the CSV, and the JSON it printed."""
    out = tmp_path_factory.mktemp("model")
    argv = ["train", "--data", str(digits[0]), "--hidden", "16", "--epochs", "10",
            "--batch-size", "32", "--out", str(out / "m.npz"), "--plot", str(out / "curves.png"),
            "--json"]
    return out / "m.npz", _run(argv)


def _run(argv):
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    assert code == ExitStatus.OK, stderr.getvalue()
    return json.loads(stdout.getvalue())


def test_train_writes_a_model_and_reports_held_out_accuracy(model, digits):
    path, report = model
    assert path.exists() and (path.parent / "curves.png").stat().st_size > 1000
    assert len(report["history"]["epochs"]) == 10 and report["test"]["n_samples"] == 60
    assert 0.5 < report["test"]["accuracy"] <= 1  # 240 digits, 10 epochs: far above chance
    net = Network.load(path)
    assert net.sizes == (784, 16, 10) and net.theta.dtype == np.float32
    assert net.metadata == {"dataset": "digits.csv", "image_shape": [28, 28], "image_order": "C",
                            "data_path": str(digits[0].resolve()), "input_scale": [0.0, 255.0]}


def test_evaluate_agrees_with_train_and_draws_the_confusion_matrix(model, digits, tmp_path):
    path, report = model
    result = _run(["evaluate", str(path), "--data", str(digits[0]), "--json",
                   "--plot", str(tmp_path / "confusion.png")])
    assert result["accuracy"] == report["test"]["accuracy"]
    assert np.sum(result["confusion"]) == 60 and len(result["precision"]) == 10
    assert (tmp_path / "confusion.png").stat().st_size > 1000


def test_evaluate_table(model, digits, capsys):
    assert main(["evaluate", str(model[0]), "--data", str(digits[0])]) == 0
    out = capsys.readouterr().out
    result = _run(["evaluate", str(model[0]), "--data", str(digits[0]), "--json"])
    assert out.splitlines()[0] == (f"{model[0]} on the test split of digits.csv: accuracy "
                                   f"{result['accuracy']:.4f} on 60 samples, loss {result['loss']:.4f}")
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if "│" in line]
    per_class = [r for r in rows if len(r) == 4]
    assert per_class == [[str(k), str(int(np.sum(result["confusion"][k]))), f"{p:.4f}", f"{r:.4f}"]
                         for k, (p, r) in enumerate(zip(result["precision"], result["recall"]))]
    confusion = [r[1:] for r in rows if len(r) == 11]
    assert confusion == [[str(n) if n else "." for n in row] for row in result["confusion"]]


def test_predict_npy_csv_and_image_agree(model, digits, tmp_path):
    from PIL import Image

    path, (_, X, _) = model[0], digits
    np.save(tmp_path / "x.npy", X[:4])
    np.savetxt(tmp_path / "x.csv", np.rint(X[:4] * 255), fmt="%d", delimiter=",")
    Image.fromarray(np.rint(X[0].reshape(28, 28) * 255).astype(np.uint8)).save(tmp_path / "x.png")
    from_npy = _run(["predict", str(path), str(tmp_path / "x.npy"), "--json"])["predictions"]
    from_csv = _run(["predict", str(path), str(tmp_path / "x.csv"), "--json"])["predictions"]
    from_png = _run(["predict", str(path), str(tmp_path / "x.png"), "--json"])["predictions"]
    expected = Network.load(path).predict(X[:4]).tolist()
    assert [p["class"] for p in from_npy] == [p["class"] for p in from_csv] == expected
    assert from_png[0]["class"] == expected[0]
    proba = Network.load(path).predict_proba(X[:4])
    for row, p in zip(from_npy, proba):
        best = np.argsort(-p, kind="stable")[:3]
        assert [label for label, _ in row["top"]] == [str(k) for k in best]
        np.testing.assert_allclose([q for _, q in row["top"]], p[best], rtol=1e-6)


def test_predict_a_photo_of_a_dark_digit_on_white_paper(model, digits, tmp_path, capsys):
    from PIL import Image

    digit = digits[1][0].reshape(28, 28)
    paper = 1 - np.kron(digit, np.ones((5, 4)))  # larger, stretched, inverted
    Image.fromarray(np.rint(np.pad(paper, 20, constant_values=1) * 255).astype(np.uint8)).save(tmp_path / "p.jpg")
    assert main(["predict", str(model[0]), str(tmp_path / "p.jpg")]) == 0
    out = capsys.readouterr().out
    photo = tmp_path / "p.jpg"
    assert f"note: {photo} inverted (light background)\n" in out
    assert f"note: {photo} cropped to the strokes, scaled and centred into 28x28\n" in out


def test_show_describes_and_draws_the_hidden_units(model, tmp_path):
    info = _run(["show", str(model[0]), "--plot", str(tmp_path / "w.png"), "--json"])
    assert info["sizes"] == [784, 16, 10] and info["n_params"] == 784 * 16 + 16 + 16 * 10 + 10
    assert (tmp_path / "w.png").stat().st_size > 1000


def test_train_defaults_run_on_the_embedded_sample():
    report = _run(["train", "--epochs", "1", "--hidden", "8", "--json"])
    assert report["data"] == "mnist-sample" and report["test"]["n_samples"] == 1000
    assert report["network"]["hidden"] == ["relu"] and report["network"]["dtype"] == "float32"


def test_checkpoint_and_resume_from_the_command_line(digits, tmp_path):
    common = ["train", "--data", str(digits[0]), "--hidden", "8", "--epochs", "4",
              "--batch-size", "64", "--checkpoint-every", "2", "--checkpoint", str(tmp_path / "ck.npz"),
              "--json"]
    _run(common + ["--out", str(tmp_path / "straight.npz")])
    resumed = _run(common + ["--resume", str(tmp_path / "ck.npz"), "--out", str(tmp_path / "resumed.npz")])
    assert len(resumed["history"]["epochs"]) == 4
    straight, again = Network.load(tmp_path / "straight.npz"), Network.load(tmp_path / "resumed.npz")
    assert np.array_equal(straight.theta, again.theta)


def _small_model(tmp_path, sizes):
    path = tmp_path / "small.npz"
    Network(sizes, seed=0).save(path)
    return str(path)


def _csv(tmp_path, n_features, labels):
    path = tmp_path / "other.csv"
    rng = np.random.default_rng(0)
    np.savetxt(path, np.hstack([np.array(labels)[:, None], rng.integers(0, 256, (len(labels), n_features))]),
               fmt="%d", delimiter=",")
    return str(path)


BAD = {
    "zero epochs": (lambda t, d: ["train", "--epochs", "0"], ExitStatus.USAGE, "--epochs must be an integer > 0"),
    "negative lr": (lambda t, d: ["train", "--lr", "-1"], ExitStatus.USAGE, "--lr must be a number > 0"),
    "zero lr": (lambda t, d: ["train", "--lr", "0"], ExitStatus.USAGE, "--lr must be a number > 0"),
    "zero batch": (lambda t, d: ["train", "--batch-size", "0"], ExitStatus.USAGE,
                   "--batch-size must be an integer > 0 and at most 2147483647, got 0"),
    "val fraction": (lambda t, d: ["train", "--val-fraction", "1.5"], ExitStatus.USAGE,
                     "--val-fraction must be in [0, 1), got 1.5"),
    "patience without validation": (lambda t, d: ["train", "--patience", "2", "--val-fraction", "0"],
                                    ExitStatus.USAGE, "--patience watches the validation loss; give --val-fraction"),
    "unknown optimizer": (lambda t, d: ["train", "--optimizer", "adma"], ExitStatus.USAGE, "did you mean 'adam'"),
    "unknown activation": (lambda t, d: ["train", "--activation", "rleu"], ExitStatus.USAGE, "did you mean 'relu'"),
    "missing data": (lambda t, d: ["train", "--data", str(t / "none.csv")], ExitStatus.DATA, "does not exist"),
    "diverging": (lambda t, d: ["train", "--data", str(d), "--hidden", "8", "--epochs", "2",
                                "--optimizer", "sgd", "--lr", "1e30"], ExitStatus.NUMERICAL, "learning rate"),
    "missing model": (lambda t, d: ["evaluate", str(t / "none.npz")], ExitStatus.MODEL, "does not exist"),
    "wrong feature count": (lambda t, d: ["evaluate", _small_model(t, [64, 4, 10]), "--data", str(d)],
                            ExitStatus.MODEL, "takes 64 features per sample but digits.csv has 784"),
    "labels out of range": (lambda t, d: ["evaluate", _small_model(t, [16, 4, 3]), "--data",
                                          _csv(t, 16, [0, 1, 2, 3, 4] * 4)], ExitStatus.MODEL,
                            "small.npz tells 3 classes apart but other.csv has 5"),
    "missing input": (lambda t, d: ["predict", _small_model(t, [784, 4, 10]), str(t / "none.png")],
                      ExitStatus.DATA, "does not exist"),
    "wrong input shape": (lambda t, d: ["predict", _small_model(t, [784, 4, 10]), _npy(t, (3, 100))],
                          ExitStatus.DATA, "the model takes 784 features"),
    "not an image": (lambda t, d: ["predict", _small_model(t, [784, 4, 10]), _text(t, "x.png")],
                     ExitStatus.DATA, "cannot read"),
    "resume from a model": (lambda t, d: ["train", "--data", str(d), "--resume", _small_model(t, [784, 4, 10])],
                            ExitStatus.MODEL, "it is a model, not a checkpoint"),
    "show without image shape": (lambda t, d: ["show", _small_model(t, [10, 4, 2]), "--plot", str(t / "w.png")],
                                 ExitStatus.MODEL, "cannot be drawn as images"),
}


def _npy(tmp_path, shape):
    np.save(tmp_path / "bad.npy", np.zeros(shape))
    return str(tmp_path / "bad.npy")


def _text(tmp_path, name):
    (tmp_path / name).write_text("not an image")
    return str(tmp_path / name)


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gives_one_sentence_and_its_exit_status(case, digits, tmp_path, capsys):
    make_argv, status, message = BAD[case]
    assert main(make_argv(tmp_path, digits[0])) == status
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.strip().count("\n") == 0, err


def test_train_allow_unsafe_trains_a_refused_pairing_and_the_model_keeps_it(digits, tmp_path):
    out = tmp_path / "unsafe.npz"
    argv = ["train", "--data", str(digits[0]), "--hidden", "8", "--epochs", "1",
            "--output", "relu", "--loss", "binary_cross_entropy", "--out", str(out), "--json"]
    assert main(argv) == ExitStatus.USAGE  # refused without the flag
    report = _run(argv + ["--allow-unsafe"])
    assert report["network"]["allow_unsafe"] is True
    assert Network.load(out).allow_unsafe
    assert _run(["evaluate", str(out), "--data", str(digits[0]), "--json"])["n_samples"] == 60


@pytest.mark.parametrize("interrupted", [False, True])
def test_the_summary_says_weights_were_restored_only_when_they_were(digits, capsys, interrupted):
    """fit restores the best epoch's weights at the end of a run, but keeps those of the
    moment of Ctrl-C (tests/test_train.py); the summary line must say which."""
    from argparse import Namespace
    from types import SimpleNamespace

    from gradcheck.cli.train import _report_training
    from gradcheck.train.evaluation import evaluate
    from gradcheck.train.history import EpochRecord, History

    _, X, y = digits
    net = Network([784, 8, 10], seed=0)
    records = [EpochRecord(e, 2.0, 0.5, val, 0.5, 0.1, 1.0) for e, val in ((1, 2.1), (2, 1.9), (3, 2.3))]
    history = History(records, best_epoch=2, interrupted=interrupted)
    args = Namespace(json=False, patience=None, out=None, plot=None)
    _report_training(args, SimpleNamespace(name="digits"), net, history, evaluate(net, X, y), 1.0)
    out = capsys.readouterr().out
    assert "best validation epoch 2" in out
    assert ("(weights restored)" in out) is not interrupted
    assert ("interrupted after 3 complete epochs" in out) is interrupted


def test_evaluate_without_data_finds_the_training_file_from_any_directory(model, tmp_path, monkeypatch,
                                                                         capsys):
    path, report = model
    assert Network.load(path).metadata["data_path"].endswith("digits.csv")
    monkeypatch.chdir(tmp_path)  # elsewhere, with an unrelated digits.csv beside it
    (tmp_path / "digits.csv").write_text("0,1\n1,0\n")
    assert _run(["evaluate", str(path), "--json"])["accuracy"] == report["test"]["accuracy"]


@pytest.mark.parametrize("metadata, phrase", [
    ({"dataset": "digits.csv", "data_path": "/nonexistent/digits.csv"}, "which is not there any more"),
    ({"dataset": "digits.csv"}, "does not say where that file is"),  # saved before paths were kept
])
def test_evaluate_without_data_refuses_a_file_it_cannot_find(metadata, phrase, tmp_path, monkeypatch,
                                                             capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits.csv").write_text("0,1\n1,0\n")  # same name, other data: never used
    Network([784, 4, 10], seed=0).save(tmp_path / "m.npz", metadata)
    assert main(["evaluate", str(tmp_path / "m.npz")]) == ExitStatus.DATA
    err = capsys.readouterr().err
    assert phrase in err and "give the data with --data" in err
