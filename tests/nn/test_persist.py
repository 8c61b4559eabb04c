"""Model files: round trips, crafted files refused (library and CLI), kill during save."""
import io
import json
import os
import pathlib
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

from gradcheck import Network
from gradcheck.cli.main import main
from gradcheck.errors import ConfigError, ExitStatus, ModelFileError
from gradcheck.nn.activations import leaky_relu
from gradcheck.nn.persist import FORMAT_VERSION, model_header


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_keeps_weights_architecture_and_predictions(dtype, tmp_path, rng):
    net = Network([6, 5, 4, 3], hidden=["leaky_relu:0.2", "tanh"], output="softmax",
                  l2=0.25, reduction="sum", dtype=dtype, seed=3)
    meta = {"labels": ["a", "b", "c"], "dataset": "toy"}
    net.save(tmp_path / "m.npz", metadata=meta)
    loaded = Network.load(tmp_path / "m.npz")
    X = rng.standard_normal((7, 6))
    assert loaded.config() == net.config() and loaded.theta.dtype == dtype
    assert np.array_equal(loaded.theta, net.theta)
    assert np.array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert loaded.hidden[0].params == {"slope": 0.2} and loaded.metadata == meta


def test_leaky_relu_slope_survives_at_full_precision(tmp_path):
    net = Network([3, 4, 2], hidden=leaky_relu(0.123456789), seed=0)
    net.save(tmp_path / "m.npz")
    assert Network.load(tmp_path / "m.npz").hidden[0].params == {"slope": 0.123456789}


def test_loaded_network_keeps_its_metadata_when_saved_again(tmp_path):
    net = Network([4, 3, 2], seed=0)
    net.save(tmp_path / "a.npz", metadata={"image_shape": (2, 2), "image_order": "F"})
    again = Network.load(tmp_path / "a.npz")
    again.save(tmp_path / "b.npz")
    assert Network.load(tmp_path / "b.npz").metadata == {"image_shape": [2, 2], "image_order": "F"}


@pytest.mark.parametrize("metadata,message", [
    ({"labels": ["a"]}, "one per output"),
    ({"image_shape": [3, 3]}, "height * width == 4"),
    ({"colour": "red"}, "is not one of"),
])
def test_bad_metadata_is_refused_on_save(metadata, message, tmp_path):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Network([4, 3, 2]).save(tmp_path / "m.npz", metadata=metadata)


# --- crafted files ------------------------------------------------------------------------

def _header(net, **changes):
    header = model_header(net)
    header.update(changes)
    return header


def _write(path, header, arrays, compression=zipfile.ZIP_STORED):
    """A zip like np.savez writes, with whatever header and arrays the test wants."""
    members = {"header": np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays}
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, array in members.items():
            buf = io.BytesIO()
            np.save(buf, array, allow_pickle=True)
            zf.writestr(f"{name}.npy", buf.getvalue())


class _Payload:
    """Unpickling this would create a marker file: the test checks that it never appears."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _npy_header_only(shape, dtype="<f8"):
    """A .npy prefix that declares ``shape`` followed by no data at all."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _crafted(kind, path, marker):
    net = Network([4, 3, 2], seed=0)
    theta = {"theta": net.theta}
    if kind == "pickled objects":
        _write(path, _header(net), {"theta": np.array([_Payload(marker)], dtype=object)})
    elif kind == "absurd shape":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("header.npy", _npy_bytes(_header(net, sizes=[1 << 20, 1 << 20, 10])))
            zf.writestr("theta.npy", _npy_header_only((((1 << 20) + 1) * (1 << 20) + 10 * ((1 << 20) + 1),)))
    elif kind == "huge sizes":
        _write(path, _header(net, sizes=[10 ** 9, 10]), theta)
    elif kind == "dtype disagrees":
        _write(path, _header(net, dtype="float32"), theta)
    elif kind == "wrong theta length":
        _write(path, _header(net), {"theta": np.zeros(net.n_params + 1)})
    elif kind == "unknown version":
        _write(path, _header(net, version=FORMAT_VERSION + 1), theta)
    elif kind == "not a zip":
        path.write_bytes(b"this is not a model\n" * 10)
    elif kind == "empty file":
        path.write_bytes(b"")
    elif kind == "compressed member":
        _write(path, _header(net), theta, compression=zipfile.ZIP_DEFLATED)
    elif kind == "no header":
        np.savez(path, theta=net.theta)
    elif kind == "extra member":
        _write(path, _header(net), {**theta, "evil": np.zeros(3)})
    elif kind == "bad json":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("header.npy", _npy_array(np.frombuffer(b"{not json", np.uint8)))
    elif kind == "unknown activation":
        _write(path, _header(net, hidden=["tanhh"]), theta)
    elif kind == "NaN weights":
        _write(path, _header(net), {"theta": np.full(net.n_params, np.nan)})
    elif kind == "truncated":
        net.save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "checkpoint, not model":
        _write(path, _header(net, format="gradcheck-checkpoint"), theta)


def _npy_array(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npy_bytes(header):
    return _npy_array(np.frombuffer(json.dumps(header).encode(), np.uint8))


CRAFTED = {
    "pickled objects": "Python objects",
    "absurd shape": "truncated or crafted",
    "huge sizes": "declares sizes",
    "dtype disagrees": "header and arrays disagree",
    "wrong theta length": "header and arrays disagree",
    "unknown version": "upgrade gradcheck",
    "not a zip": "not a gradcheck model file",
    "empty file": "not a gradcheck model file",
    "compressed member": "compressed",
    "no header": "no header.npy",
    "extra member": "unexpected member",
    "bad json": "not valid JSON",
    "unknown activation": "did you mean 'tanh'",
    "NaN weights": "NaN or infinite weights",
    "truncated": "not a gradcheck model file",
    "checkpoint, not model": "training checkpoint",
}


@pytest.mark.parametrize("kind", CRAFTED)
def test_crafted_file_is_refused_without_executing_anything(kind, tmp_path, capsys):
    path, marker = tmp_path / "model.npz", tmp_path / "executed"
    _crafted(kind, path, marker)
    with pytest.raises(ModelFileError, match=re.escape(CRAFTED[kind])):
        Network.load(path)
    assert main(["show", str(path)]) == ExitStatus.MODEL
    err = capsys.readouterr().err
    assert CRAFTED[kind] in err and err.count("\n") == 1 and "Traceback" not in err
    assert not marker.exists(), "unpickling ran code from the file"


def test_declared_shape_that_disagrees_with_the_header_is_refused_before_reading(tmp_path):
    net = Network([4, 3, 2])
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("header.npy", _npy_bytes(_header(net)))
        zf.writestr("theta.npy", _npy_header_only((10 ** 12,)))
    with pytest.raises(ModelFileError, match="header and arrays disagree"):
        Network.load(path)


def test_missing_model_file(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nope.npz")]) == ExitStatus.MODEL
    assert "does not exist" in capsys.readouterr().err


# --- kill during save ---------------------------------------------------------------------

_SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    from gradcheck import Network

    path, ready = sys.argv[1], sys.argv[2]
    net = Network([784, 1024, 10], dtype=np.float64, seed=0)  # ~6.5 MB per save
    value = 0.0
    while True:
        value += 1.0
        net.theta[...] = value
        net.save(path)
        if value == 1.0:
            open(ready, "w").close()
""")


def test_killing_a_saving_process_leaves_the_old_or_the_new_file(tmp_path):
    script, path, ready = tmp_path / "saver.py", tmp_path / "model.npz", tmp_path / "ready"
    script.write_text(_SAVER)
    kill_after = np.random.default_rng(7).uniform(0.0, 0.2, size=5)
    for delay in kill_after:
        ready.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(ready)])
        try:
            deadline = time.monotonic() + 60
            while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.01)
            assert ready.exists(), "the saving process never finished its first save"
            time.sleep(delay)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        theta = Network.load(path).theta
        assert theta[0] >= 1 and np.all(theta == theta[0]), "a torn file was loaded"


def test_saved_files_get_the_usual_mode_and_keep_an_existing_one(tmp_path):
    old = os.umask(0o022)
    try:
        net = Network([3, 2, 2], seed=0)
        net.save(tmp_path / "m.npz")
        assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o644  # not mkstemp's 0600
        os.chmod(tmp_path / "m.npz", 0o640)
        net.save(tmp_path / "m.npz")
        assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o640
    finally:
        os.umask(old)
