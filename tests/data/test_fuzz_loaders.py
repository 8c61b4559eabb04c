"""Fuzzing the loaders: random bytes, and random cuts and mutations of small valid files.

Every loader either returns a valid result or raises one of the library's own errors
(:class:`~gradcheck.errors.GradcheckError` subclasses); anything else -- a ValueError from
numpy, a BadZipFile, a MemoryError, an overflow RuntimeWarning -- fails the test.  Examples
are bounded (``max_examples``) so the whole file runs in a few seconds.

"""
from __future__ import annotations

import gzip
import io
import os
import zipfile

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck import Network
from gradcheck.check.userinput import load_npy, read_columns, read_xy
from gradcheck.data.arrays import Dataset
from gradcheck.data.datasets import load_dataset
from gradcheck.data.idx import read_idx
from gradcheck.data.inputs import read_inputs
from gradcheck.errors import DataError, GradcheckError
from gradcheck.nn.persist import CHECKPOINT_FORMAT, read_archive

# GRADCHECK_FUZZ_EXAMPLES=2000 for a deeper run by hand; 50 keeps the suite fast
FUZZ = settings(max_examples=int(os.environ.get("GRADCHECK_FUZZ_EXAMPLES", 50)), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- valid seeds to mutate ------------------------------------------------------------------------

def _idx(array) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return bytes([0, 0, 0x08, array.ndim]) + dims + array.tobytes()


_RNG = np.random.default_rng(0)
IDX_IMAGES = _idx(_RNG.integers(0, 256, (6, 4, 3)))
IDX_LABELS = _idx(np.arange(6) % 3)
CSV = ("label," + ",".join(f"p{j}" for j in range(6)) + "\n" + "".join(
    f"{k % 3}," + ",".join(str((7 * k + j) % 256) for j in range(6)) + "\n" for k in range(12))).encode()


def _mat_bytes(**options) -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"X": _RNG.random((12, 4)), "y": (np.arange(12) % 3 + 1).reshape(-1, 1),
                           "note": "made by the fuzz test"}, **options)
    return buf.getvalue()


def _model_bytes(tmp_dir) -> bytes:
    path = tmp_dir / "seed-model.npz"
    Network([4, 3, 2], seed=0).save(path, {"labels": ["a", "b"], "dataset": "fuzz"})
    return path.read_bytes()


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


MAT, MAT_COMPRESSED, MAT_V4 = _mat_bytes(), _mat_bytes(do_compression=True), _mat_bytes(format="4")
COLUMNS = b"Numerical   Analytic\n0.5 0.5\n(-0.0087, -0.0087)\n1e-3, 2d-3\n# comment\nnan inf\n"
XY = _npz_bytes(X=np.zeros((5, 2)), y=np.arange(5) % 2)
NPY = (lambda buf: (np.save(buf, np.arange(16.0).reshape(4, 4)), buf.getvalue())[1])(io.BytesIO())


@st.composite
def mutated(draw, seed: bytes):
    """``seed`` cut, with bytes flipped, overwritten, inserted or removed (one to three edits)."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["cut", "flip", "overwrite", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "cut":
            data = data[:at]
        elif op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(chunk)] = chunk
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 8))]
    return bytes(data)


def files(seed: bytes, gz: bool = False):
    """Random bytes, mutations of ``seed``, and (``gz``) both gzipped or the gzip mutated."""
    base = st.one_of(st.binary(max_size=300), mutated(seed))
    if not gz:
        return base
    return st.one_of(base.map(gzip.compress), mutated(gzip.compress(seed)))


def _own_error_or(fn, check=lambda result: None):
    try:
        result = fn()
    except GradcheckError:
        return
    check(result)


# --- IDX ------------------------------------------------------------------------------------------

@given(content=st.one_of(files(IDX_IMAGES), files(IDX_IMAGES, gz=True)))
@FUZZ
def test_read_idx_mutations(tmp_path, content):
    path = tmp_path / "f-idx3-ubyte"
    path.write_bytes(content)
    _own_error_or(lambda: read_idx(path), lambda a: _is_the_idx_content(a, content))


def _is_the_idx_content(a, content):
    """A read IDX array is exactly what the (gunzipped) bytes declare and hold."""
    raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    assert a.dtype == np.uint8 and raw[:4] == bytes([0, 0, 8, a.ndim])
    assert raw[4:4 + 4 * a.ndim] == b"".join(d.to_bytes(4, "big") for d in a.shape)
    assert raw[4 + 4 * a.ndim:] == a.tobytes()


@given(images=files(IDX_IMAGES, gz=True), labels=files(IDX_LABELS, gz=True))
@FUZZ
def test_idx_directory_mutations(tmp_path_factory, images, labels):
    d = tmp_path_factory.mktemp("idx")
    for name, raw in (("train-images-idx3-ubyte.gz", images), ("train-labels-idx1-ubyte.gz", labels),
                      ("t10k-images-idx3-ubyte", IDX_IMAGES), ("t10k-labels-idx1-ubyte", IDX_LABELS)):
        (d / name).write_bytes(raw)
    _own_error_or(lambda: load_dataset(d), lambda ds: _is_the_idx_pair(ds, images, labels))


def _is_the_idx_pair(ds, images, labels):
    """The training half is the mutated files' content, the test half the untouched files'."""
    assert isinstance(ds, Dataset) and ds.n_test == 6 and ds.image_shape == (4, 3)
    np.testing.assert_allclose(ds.X_test * 255, np.frombuffer(IDX_IMAGES[16:], np.uint8).reshape(6, 12), atol=1e-4)
    raw_images, raw_labels = (gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b for b in (images, labels))
    np.testing.assert_array_equal(ds.y_train, np.frombuffer(raw_labels[8:], np.uint8))
    np.testing.assert_allclose(ds.X_train * 255, np.frombuffer(raw_images[16:], np.uint8).reshape(ds.n_train, 12),
                               atol=1e-4)


# --- CSV and .mat -----------------------------------------------------------------------------------

@given(content=st.one_of(files(CSV, gz=True), files(CSV)), suffix=st.sampled_from([".csv", ".csv.gz"]))
@FUZZ
def test_csv_mutations(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("csv") / f"f{suffix}"
    path.write_bytes(content)
    _own_error_or(lambda: load_dataset(path), _valid_dataset)


@given(content=st.one_of(files(MAT), mutated(MAT_COMPRESSED), mutated(MAT_V4)))
@FUZZ
def test_mat_mutations(tmp_path_factory, content):
    """scipy's MAT reader crashed the interpreter on two of these (see data._check_mat5_structure)."""
    path = tmp_path_factory.mktemp("mat") / "f.mat"
    path.write_bytes(content)
    _own_error_or(lambda: load_dataset(path), _valid_dataset)


def _valid_dataset(ds):
    assert isinstance(ds, Dataset)
    for X in (ds.X_train, ds.X_test):
        assert X.dtype == np.float32 and np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1
    assert ds.y_train.min() >= 0 and max(ds.y_train.max(), ds.y_test.max()) < ds.n_classes


# --- models and checkpoints ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_seed(tmp_path_factory):
    return _model_bytes(tmp_path_factory.mktemp("model"))


@given(data=st.data())
@FUZZ
def test_model_mutations(tmp_path_factory, model_seed, data):
    content = data.draw(files(model_seed))
    path = tmp_path_factory.mktemp("m") / "m.npz"
    path.write_bytes(content)
    _own_error_or(lambda: Network.load(path), lambda net: np.isfinite(net.theta).all() or pytest.fail("NaN"))
    _own_error_or(lambda: read_archive(path, CHECKPOINT_FORMAT, lambda h: {"theta": "float64"}))


@given(data=st.data())
@FUZZ
def test_model_member_mutations(tmp_path_factory, model_seed, data):
    """Mutate one member inside an otherwise valid zip, so the zip layer does not catch it first."""
    with zipfile.ZipFile(io.BytesIO(model_seed)) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    name = data.draw(st.sampled_from(sorted(members)))
    members[name] = data.draw(mutated(members[name]))
    path = tmp_path_factory.mktemp("m") / "m.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for member, raw in members.items():
            zf.writestr(member, raw)
    _own_error_or(lambda: Network.load(path), lambda net: np.isfinite(net.theta).all() or pytest.fail("NaN"))


# --- the doctor's inputs and predict's ------------------------------------------------------------------

@given(content=st.one_of(files(COLUMNS), st.text(alphabet="0123456789.,-+eEdD()[]; \n\tnaif#", max_size=120)
                         .map(str.encode)))
@FUZZ
def test_columns_text_mutations(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("cols") / "paste.txt"
    path.write_bytes(content)
    _own_error_or(lambda: read_columns(path), lambda r: r[0].shape == r[1].shape or pytest.fail("shapes"))


@given(content=files(NPY))
@FUZZ
def test_npy_mutations(tmp_path_factory, content):
    """The doctor's --theta / --columns .npy reader and predict's .npy and CSV inputs."""
    d = tmp_path_factory.mktemp("npy")
    (d / "a.npy").write_bytes(content)
    (d / "a.csv").write_bytes(content)
    _own_error_or(lambda: load_npy(d / "a.npy"), _real_vector)
    for name in ("a.npy", "a.csv"):
        _own_error_or(lambda name=name: read_inputs(d / name, 16), _sixteen_features)


def _real_vector(v):
    assert isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "biuf", (v.dtype, v.shape)


def _sixteen_features(result):
    X, notes = result
    assert X.ndim == 2 and X.shape[1] == 16 and len(X) >= 1 and isinstance(notes, list), X.shape


@given(content=files(XY))
@FUZZ
def test_doctor_data_npz_mutations(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("xy") / "xy.npz"
    path.write_bytes(content)
    _own_error_or(lambda: read_xy(path), _two_real_arrays)


def _two_real_arrays(xy):
    assert len(xy) == 2 and all(isinstance(a, np.ndarray) and a.dtype.kind in "biuf" for a in xy), xy


def test_a_packaged_sample_of_an_unsupported_zip_version_is_one_sentence(tmp_path, monkeypatch):
    """zipfile raises NotImplementedError (not BadZipFile) for 'zip file version 6.4'."""
    import importlib.resources

    import gradcheck.data.datasets as datasets

    raw = bytearray((importlib.resources.files("gradcheck.data") / datasets.SAMPLE_FILE).read_bytes())
    at = raw.find(b"PK\x01\x02")  # the first central-directory record
    raw[at + 6] = 64  # "version needed to extract": 6.4
    (tmp_path / "sample.npz").write_bytes(bytes(raw))
    monkeypatch.setattr(datasets.importlib.resources, "files", lambda package: tmp_path)
    monkeypatch.setattr(datasets, "SAMPLE_FILE", "sample.npz")
    with pytest.raises(DataError, match="is missing or damaged"):
        load_dataset("mnist-sample")
