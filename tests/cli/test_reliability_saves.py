"""Reliability (issue 14), data loss: what the user saved is never lost or replaced by something
that cannot be used, and a checkpoint is validated like a model before any work is done.

Cases 1-4 of the issue; the command line runs in-process through ``gradcheck.cli.main``.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import tempfile

import numpy as np
import pytest

from cli_run import cli, one_sentence
from gradcheck import Network
from gradcheck.errors import ExitStatus


@pytest.fixture
def data(tmp_path):
    """60 rows of 16 features (0..255) and 3 classes, label first."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.integers(0, 256, (60, 16))
    path = tmp_path / "small.csv"
    np.savetxt(path, np.hstack([y[:, None], X]), fmt="%d", delimiter=",")
    return path


def train_args(data, *extra):
    return ["train", "--data", data, "--hidden", "4", "--epochs", "4", "--batch-size", "16", *extra]


@pytest.fixture
def checkpoint(data, tmp_path):
    """A real checkpoint written after epoch 2 of 4, and a good model of the same run."""
    ck, model = tmp_path / "ck.npz", tmp_path / "model.npz"
    code, _, err = cli(train_args(data, "--checkpoint-every", "2", "--checkpoint", ck, "--out", model))
    assert code == ExitStatus.OK, err
    return ck, model


def rewrite(src, dst, header=None, arrays=None):
    """Copy an archive written by gradcheck, changing header keys and filling arrays.

    ``header`` maps a dotted key path to a new value; ``arrays`` maps a member name to the
    value every element gets.  Written uncompressed, as gradcheck writes.
    """
    with np.load(src) as z:
        members = {k: z[k].copy() for k in z.files}
    doc = json.loads(members.pop("header").tobytes())
    for path, value in (header or {}).items():
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value
    for name, value in (arrays or {}).items():
        members[name][...] = value
    with open(dst, "wb") as fh:
        np.savez(fh, header=np.frombuffer(json.dumps(doc).encode(), np.uint8), **members)
    return dst


@pytest.mark.parametrize("member", ["theta", "best_theta", "optimizer.m"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_resuming_non_finite_weights_is_refused_and_the_model_kept(checkpoint, data, tmp_path,
                                                                    member, value):
    """Before: NaN theta overwrote the good model at --out (status 6); NaN best weights were
    restored at the end and saved as an unloadable model with status 0."""
    ck, model = checkpoint
    before = model.read_bytes()
    # best_loss 0: no later epoch beats the saved best, so its weights would be restored
    bad = rewrite(ck, tmp_path / "bad.npz", header={"best_loss": 0.0}, arrays={member: value})
    code, _, err = cli(train_args(data, "--checkpoint-every", "2", "--checkpoint", tmp_path / "ck2.npz",
                                  "--resume", bad, "--out", model))
    line = one_sentence(err)
    assert code == ExitStatus.MODEL, line
    assert "bad.npz" in line and member in line and "NaN or infinite" in line
    assert model.read_bytes() == before
    assert not (tmp_path / "ck2.npz").exists()


def _fifo(path):
    os.mkfifo(path)


def _symlink(path):
    target = path.parent / "target.bin"
    target.write_bytes(b"someone's file")
    path.symlink_to(target)


def _device(path):
    # a private /dev/null: if it were replaced, only this test's copy would be
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))


@pytest.mark.parametrize("flag", ["--out", "--checkpoint", "--plot"])
@pytest.mark.parametrize("make", [_fifo, _symlink, _device], ids=["fifo", "symlink", "device"])
def test_an_output_that_exists_and_is_not_a_regular_file_is_refused_before_training(
        data, tmp_path, flag, make):
    if make is _device and os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    target = tmp_path / ("out.png" if flag == "--plot" else "out.npz")
    make(target)
    kind = os.lstat(target).st_mode
    extra = ["--checkpoint-every", "1"] if flag == "--checkpoint" else []
    code, out, err = cli(train_args(data, flag, target, *extra))
    line = one_sentence(err)
    assert code == ExitStatus.USAGE, line
    assert flag in line and "not a regular file" in line
    assert os.lstat(target).st_mode == kind  # still the FIFO, link or device it was
    assert "epoch" not in out  # refused before training
    if make is _symlink:
        assert (tmp_path / "target.bin").read_bytes() == b"someone's file"


def _failing_replace(monkeypatch, name):
    """Make the rename that completes a save to ``name`` fail as on a full disk."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.path.basename(os.fspath(dst)) == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_a_full_disk_while_saving_out_keeps_the_weights_elsewhere(data, tmp_path, monkeypatch):
    """Before: status 4 and the trained weights lost."""
    out = tmp_path / "model.npz"
    (tmp_path / "spare").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "spare"))  # where the weights go
    _failing_replace(monkeypatch, "model.npz")
    code, _, err = cli(train_args(data, "--out", out))
    line = err.strip().splitlines()[-1]
    assert code == ExitStatus.OUTPUT, err
    assert "model.npz" in line and "No space left on device" in line
    rescued = [p for p in (tmp_path / "spare").iterdir() if p.suffix == ".npz"]
    assert len(rescued) == 1 and str(rescued[0]) in line
    net = Network.load(rescued[0])
    assert net.sizes == (16, 4, 3) and np.all(np.isfinite(net.theta))
    assert not out.exists() and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_failed_checkpoint_write_is_a_warning_and_training_goes_on(data, tmp_path, monkeypatch):
    """Before: the failed checkpoint aborted the run."""
    _failing_replace(monkeypatch, "ck.npz")
    code, out, err = cli(train_args(data, "--checkpoint-every", "1", "--checkpoint", tmp_path / "ck.npz",
                                    "--out", tmp_path / "m.npz"))
    assert code == ExitStatus.OK, err
    assert "warning" in err and "ck.npz" in err and "No space left on device" in err
    assert "Traceback" not in err
    assert Network.load(tmp_path / "m.npz").sizes == (16, 4, 3)
    assert "held-out test accuracy" in out


@pytest.mark.parametrize("header, phrase", [
    ({"rng.state.state": 2 ** 400}, "random generator state"),
    ({"rng.state.state": -5}, "random generator state"),
    ({"rng.state.inc": "x"}, "random generator state"),
    ({"history.best_epoch": 9}, "best epoch 9"),
    ({"history.best_epoch": 0}, "best epoch 0"),
    ({"epoch": 3}, "epoch"),
])
def test_a_checkpoint_header_out_of_range_is_refused_in_one_sentence(checkpoint, data, tmp_path,
                                                                       header, phrase):
    """Before: RNG states gave an OverflowError traceback; a best epoch beyond the history an
    IndexError at the end of the run."""
    ck, model = checkpoint
    before = model.read_bytes()
    bad = rewrite(ck, tmp_path / "bad.npz", header={"best_loss": 0.0, **header})
    code, _, err = cli(train_args(data, "--checkpoint-every", "2", "--checkpoint", tmp_path / "ck2.npz",
                                  "--resume", bad, "--out", model))
    line = one_sentence(err)
    assert code == ExitStatus.MODEL, line
    assert "bad.npz" in line and phrase in line
    assert model.read_bytes() == before

