"""Tests for gradcheck.data: loaders, validation, the sample cache, downloads, splits."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import socket
import threading

import numpy as np
import pytest
import scipy.io
from hypothesis import example, given, settings
from hypothesis import strategies as st

import gradcheck.data.download as download_module
from gradcheck.cli.common import _DownloadProgress
from gradcheck.data import datasets as data
from gradcheck.data.arrays import MAX_CLASSES, Dataset, one_hot, train_val_split
from gradcheck.data.datasets import download_mnist, load_dataset
from gradcheck.data.idx import read_idx
from gradcheck.errors import ConfigError, DataError

CANONICAL = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
VARIANT = {  # "test" instead of "t10k" and ".idx" instead of "-idx", as some archives have
    "train_images": "train-images.idx3-ubyte",
    "train_labels": "train-labels.idx1-ubyte",
    "test_images": "test-images.idx3-ubyte",
    "test_labels": "test-labels.idx1-ubyte",
}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def idx_bytes(array) -> bytes:
    """Encode a uint8 array as an IDX file."""
    array = np.asarray(array, dtype=np.uint8)
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return bytes([0, 0, 0x08, array.ndim]) + dims + array.tobytes()


def write_idx(path, array, gz=False):
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def write_idx_set(directory, *, gz=False, names=CANONICAL, n_train=12, n_test=6, shape=(4, 3)):
    """Write four small IDX files; return their arrays."""
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "train_labels": np.arange(n_train, dtype=np.uint8) % 3,
        "test_images": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "test_labels": np.arange(n_test, dtype=np.uint8) % 3,
    }
    directory.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        write_idx(directory / (names[key] + (".gz" if gz else "")), array, gz)
    return arrays


def write_csv(path, rows, header=None):
    lines = ([header] if header else []) + [",".join(str(v) for v in row) for row in rows]
    text = "\n".join(lines) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return path


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Keep every test away from the real cache and from a mirror set in the environment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("GRADCHECK_MNIST_MIRROR", raising=False)


# ---------------------------------------------------------------------------------------------
# the packaged sample
# ---------------------------------------------------------------------------------------------

def test_sample_loads_the_5000_real_digits(tmp_path):
    ds = load_dataset()
    assert (ds.name, ds.n_classes, ds.image_shape, ds.image_order) == (
        "mnist-sample", 10, (28, 28), "C")
    assert (ds.n_train, ds.n_test, ds.n_features) == (4000, 1000, 784)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0.0 == ds.X_train.min() and ds.X_train.max() == 1.0
    assert np.bincount(ds.y_train).tolist() == [400] * 10
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert ds.input_scale == (0.0, 255.0)
    assert not (tmp_path / "xdg").exists()  # read from the package, nothing cached


def test_a_damaged_packaged_sample_is_one_sentence(monkeypatch, tmp_path):
    import gradcheck.data.datasets as datasets

    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    monkeypatch.setattr(datasets.importlib.resources, "files", lambda package: tmp_path)
    monkeypatch.setattr(datasets, "SAMPLE_FILE", "broken.npz")
    with pytest.raises(DataError, match="broken.npz is missing or damaged .*reinstall gradcheck"):
        load_dataset()


def test_same_seed_same_split_other_seed_other_split():
    a = load_dataset(seed=3)
    b = load_dataset(seed=3)
    c = load_dataset(seed=4, test_fraction=0.1)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.y_test, c.y_test[:1000])
    assert np.bincount(c.y_test).tolist() == [50] * 10


def test_default_cache_dir_follows_xdg_and_ignores_a_relative_value(tmp_path, monkeypatch):
    assert data.default_cache_dir() == tmp_path / "xdg" / "gradcheck"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.default_cache_dir() == tmp_path / "home" / ".cache" / "gradcheck"


# ---------------------------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", [(5,), (3, 4, 2), (0, 28, 28)])
def test_read_idx_round_trip(tmp_path, gz, shape):
    array = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / "f-idx", array, gz))
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("names", [CANONICAL, VARIANT], ids=["canonical", "variant"])
def test_idx_directory_round_trip(tmp_path, gz, names):
    arrays = write_idx_set(tmp_path / "set", gz=gz, names=names)
    ds = load_dataset(tmp_path / "set")
    assert (ds.name, ds.n_classes, ds.image_shape) == ("set", 3, (4, 3))
    np.testing.assert_allclose(ds.X_train, arrays["train_images"].reshape(12, 12) / 255,
                               rtol=1e-6)
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    assert ds.X_test.dtype == np.float32 and ds.y_test.dtype == np.int64


@pytest.mark.parametrize("body, match", [
    (b"\x01\x02\x08\x03" + bytes(16), "0x01020803, not an IDX magic number"),
    (b"\x00\x00\x0d\x03" + bytes(16), "data type 0x0d"),
    (b"\x00\x00\x08\x00" + bytes(16), "declares 0 dimensions"),
    (b"\x00\x00", "too few for an IDX header"),
    (b"\x00\x00\x08\x03\x00\x00", "ends inside its IDX header"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_rejects_bad_headers(tmp_path, body, match, gz):
    path = tmp_path / "bad-idx"
    path.write_bytes(gzip.compress(body) if gz else body)
    with pytest.raises(DataError, match=match):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cut, match", [
    (-5, r"1200 bytes of data, but has 1195 bytes of data \(truncated\)"),
    (+7, r"1200 bytes of data, but has 1207 bytes of data \(too long\)"),
])
def test_read_idx_names_the_numbers_when_length_disagrees(tmp_path, gz, cut, match):
    raw = idx_bytes(np.ones((3, 20, 20)))
    raw = raw[:cut] if cut < 0 else raw + bytes(cut)
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(DataError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_does_not_trust_a_huge_header(tmp_path, gz):
    # 2**31 images of 28x28 declared in a few bytes: must fail before any allocation
    raw = bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(gzip.compress(raw + bytes(100)) if gz else raw + bytes(100))
    with pytest.raises(DataError, match="declares shape"):
        read_idx(path)


def test_read_idx_rejects_a_cut_gzip_stream(tmp_path):
    path = tmp_path / "cut-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(200)))[:-30])
    with pytest.raises(DataError, match="cut-idx1-ubyte.gz"):
        read_idx(path)


def test_image_and_label_counts_must_agree(tmp_path):
    write_idx_set(tmp_path)
    write_idx(tmp_path / CANONICAL["train_labels"], np.zeros(11))
    with pytest.raises(DataError, match="has 12 images but .* has 11 labels"):
        load_dataset(tmp_path)


def test_label_file_in_the_image_slot_is_refused(tmp_path):
    write_idx_set(tmp_path)
    write_idx(tmp_path / CANONICAL["test_images"], np.zeros(6))
    with pytest.raises(DataError, match="needs 0x00000803"):
        load_dataset(tmp_path)


def test_directory_missing_a_file_names_it(tmp_path):
    write_idx_set(tmp_path)
    (tmp_path / CANONICAL["test_labels"]).unlink()
    with pytest.raises(DataError, match="lacks t10k-labels-idx1-ubyte"):
        load_dataset(tmp_path)


def test_fashion_mnist_missing_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(DataError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


@pytest.mark.skipif(not data.FASHION_MNIST_DIR.is_dir(), reason="Fashion-MNIST not installed")
def test_fashion_mnist_from_the_system_package():
    ds = load_dataset("fashion-mnist")
    assert (ds.n_train, ds.n_test, ds.n_classes, ds.image_shape) == (60000, 10000, 10, (28, 28))
    assert np.bincount(ds.y_test).tolist() == [1000] * 10


# ---------------------------------------------------------------------------------------------
# .mat and CSV
# ---------------------------------------------------------------------------------------------

def test_mat_round_trip_maps_label_10_to_digit_0(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((50, 20, 20))
    images[0, 0, 0], images[0, -1, -1] = 0.0, 1.0  # pin the range so no rescaling happens
    # Coursera's layout: each row is an image unrolled column by column, y is a column 1..10
    X = np.stack([image.ravel(order="F") for image in images])
    y = np.repeat(np.arange(1, 11), 5).reshape(-1, 1)
    scipy.io.savemat(tmp_path / "ex3data1.mat", {"X": X, "y": y})
    ds = load_dataset(tmp_path / "ex3data1.mat", test_fraction=0.2)
    assert (ds.n_classes, ds.image_shape, ds.image_order) == (10, (20, 20), "F")
    assert (ds.n_train, ds.n_test) == (40, 10)
    assert np.bincount(ds.y_test).tolist() == [1] * 10
    # every test row shows upright as one of the original images, and label 10 became 0
    for row, label in zip(ds.images(ds.X_test), ds.y_test):
        matches = np.flatnonzero(np.abs(images - row).max(axis=(1, 2)) < 1e-6)
        assert len(matches) == 1 and (y[matches[0], 0] % 10) == label


def test_mat_with_a_zero_label_keeps_10(tmp_path):
    X = np.random.default_rng(0).random((22, 16))
    y = np.concatenate([np.arange(11), np.arange(11)])
    scipy.io.savemat(tmp_path / "m.mat", {"X": X, "y": y})
    ds = load_dataset(tmp_path / "m.mat", test_fraction=0.5)
    assert ds.n_classes == 11 and ds.image_shape is None


def test_mat_with_classes_1_to_k_becomes_0_to_k_minus_1(tmp_path):
    X = np.random.default_rng(0).random((30, 4))
    scipy.io.savemat(tmp_path / "k3.mat", {"X": X, "y": np.tile([1, 2, 3], 10)[:, None]})
    ds = load_dataset(tmp_path / "k3.mat", test_fraction=0.5)
    assert ds.n_classes == 3 and set(ds.y_train) | set(ds.y_test) == {0, 1, 2}


def test_labels_that_skip_a_class_are_refused(tmp_path):
    path = write_csv(tmp_path / "gap.csv", [[label, 0.5, 0.25] for label in [0, 2, 3] * 4])
    with pytest.raises(DataError, match=r"no sample has label 1; .* 0\.\.K-1 without gaps"):
        load_dataset(path)


def test_mat_without_y_names_what_it_has(tmp_path):
    scipy.io.savemat(tmp_path / "m.mat", {"X": np.ones((4, 4)), "labels": np.ones(4)})
    with pytest.raises(DataError, match="no variable y .*it has X, labels"):
        load_dataset(tmp_path / "m.mat")


def test_mat_rows_and_labels_must_agree(tmp_path):
    scipy.io.savemat(tmp_path / "m.mat", {"X": np.ones((4, 4)), "y": np.ones((3, 1))})
    with pytest.raises(DataError, match="4 rows in X but 3 labels"):
        load_dataset(tmp_path / "m.mat")


CSV_ROWS = [[k % 3] + [(7 * k + j) % 256 for j in range(64)] for k in range(30)]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
@pytest.mark.parametrize("header", [None, "label," + ",".join(f"p{j}" for j in range(64))])
def test_csv_round_trip(tmp_path, suffix, header):
    path = write_csv(tmp_path / f"digits{suffix}", CSV_ROWS, header)
    ds = load_dataset(path, test_fraction=0.2, seed=1)
    assert (ds.n_train, ds.n_test, ds.n_classes, ds.image_shape) == (24, 6, 3, (8, 8))
    table = np.array(CSV_ROWS)
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    # rows survive the split intact: pixels /255, each row with its own label
    pixels = (table[:, 1:] / 255).astype(np.float32)
    expected = {tuple(row.tolist()): label for row, label in zip(pixels, table[:, 0])}
    assert {tuple(row.tolist()): label for row, label in zip(X, y)} == expected


def test_csv_of_unit_floats_is_not_rescaled(tmp_path):
    path = write_csv(tmp_path / "u.csv", [[0, 0.0, 0.5], [1, 1.0, 0.25], [0, 0.5, 0.5],
                                          [1, 0.75, 0.0]])
    ds = load_dataset(path, test_fraction=0.5)
    assert sorted(np.concatenate([ds.X_train, ds.X_test])[:, 0].tolist()) == [0, .5, .75, 1]


@pytest.mark.parametrize("rows, match", [
    ([[0, 1, 2], [1, "nan", 3]], "NaN or infinite values .*line 2"),
    ([[0, 1, 2], [1, 2, "inf"]], "NaN or infinite values"),
    ([[0, 1, 2], [-1, 2, 3]], "label -1"),
    ([[0, 1, 2], [1.5, 2, 3]], "non-integer label 1.5 at line 2"),
    ([[0, 1, 2], [MAX_CLASSES, 2, 3]], f"at most {MAX_CLASSES}"),
    ([[0, 1, 2], [1, 2]], "cannot parse"),
    ([[0], [1]], "1 column"),
    ([[0, 1, 2], [1, 2, "x"]], "cannot parse"),
])
def test_bad_csv_is_a_data_error(tmp_path, rows, match):
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(DataError, match=match):
        load_dataset(path)


def test_header_only_csv_is_empty(tmp_path):
    path = write_csv(tmp_path / "empty.csv", [], header="label,a,b")
    with pytest.raises(DataError, match="no data rows"):
        load_dataset(path)


# ---------------------------------------------------------------------------------------------
# names, paths and arguments
# ---------------------------------------------------------------------------------------------

def test_unknown_name_suggests_the_nearest():
    with pytest.raises(DataError, match="unknown dataset 'mnsit'.*did you mean 'mnist'"):
        load_dataset("mnsit")


@pytest.mark.parametrize("path", ["no/such/dir", "missing.csv", "~/nope.mat"])
def test_missing_path_is_a_data_error(path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(path)


def test_unsupported_file_type(tmp_path):
    (tmp_path / "x.txt").write_text("1,2\n")
    with pytest.raises(DataError, match="not a supported dataset file"):
        load_dataset(tmp_path / "x.txt")


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, True, "0.2", float("nan")])
def test_bad_test_fraction_is_a_config_error(fraction):
    with pytest.raises(ConfigError, match="test_fraction"):
        load_dataset(test_fraction=fraction)


def test_name_of_the_wrong_type_is_a_config_error():
    with pytest.raises(ConfigError, match="name or a path"):
        load_dataset(42)


# ---------------------------------------------------------------------------------------------
# downloads against a local server
# ---------------------------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files quietly and records each requested path."""

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (root, base_url, requests)."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/", httpd.requests
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def publish_mnist(directory):
    """Write four tiny gzipped MNIST-like files; return {name: md5}."""
    directory.mkdir(parents=True, exist_ok=True)
    write_idx_set(directory, gz=True, shape=(28, 28), n_train=20, n_test=10)
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(directory.glob("*.gz"))}


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_download_succeeds_and_reports_progress(tmp_path, server):
    root, base, _ = server
    files = publish_mnist(root / "mnist")
    calls = []
    dest = download_mnist(tmp_path / "dest", mirrors=[base + "mnist"], files=files, timeout=5,
                          progress=lambda *args: calls.append(args))
    assert sorted(p.name for p in dest.iterdir()) == sorted(files)
    for name, md5 in files.items():
        assert hashlib.md5((dest / name).read_bytes()).hexdigest() == md5
        size = (dest / name).stat().st_size
        assert (name, size, size) in calls and (name, 0, size) in calls


def test_bad_checksum_tries_every_mirror_and_leaves_nothing(tmp_path, server):
    root, base, requests = server
    files = publish_mnist(root / "a")
    shutil.copytree(root / "a", root / "b")
    name = "train-labels-idx1-ubyte.gz"
    wrong = dict(files, **{name: "0" * 32})
    with pytest.raises(DataError) as info:
        download_mnist(tmp_path / "dest", mirrors=[base + "a", base + "b"], files=wrong,
                       timeout=5)
    message = str(info.value)
    assert name in message and "0" * 32 in message and files[name] in message
    assert f"/a/{name}" in requests and f"/b/{name}" in requests
    assert name not in {p.name for p in (tmp_path / "dest").iterdir()}
    assert not [p for p in (tmp_path / "dest").iterdir() if p.name.startswith(".")]


def test_unreachable_and_missing_mirrors_fall_through_to_a_good_one(tmp_path, server):
    root, base, _ = server
    files = publish_mnist(root / "good")
    dest = download_mnist(tmp_path / "dest", files=files, timeout=5,
                          mirrors=[closed_port_url(), base + "empty/", base + "good/"])
    assert sorted(p.name for p in dest.iterdir()) == sorted(files)


def test_environment_mirror_is_tried_first(tmp_path, server, monkeypatch):
    root, base, requests = server
    files = publish_mnist(root / "env")
    monkeypatch.setenv("GRADCHECK_MNIST_MIRROR", base + "env")
    download_mnist(tmp_path / "dest", mirrors=[closed_port_url()], files=files, timeout=5)
    assert len(requests) == 4 and all(r.startswith("/env/") for r in requests)


def test_all_mirrors_down_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="by hand into .*dest.*or give load_dataset a directory of IDX files instead"):
        download_mnist(tmp_path / "dest", mirrors=[closed_port_url()], timeout=5)


def test_intact_files_are_not_downloaded_again(tmp_path, server):
    root, base, requests = server
    files = publish_mnist(root / "m")
    shutil.copytree(root / "m", tmp_path / "dest")
    download_mnist(tmp_path / "dest", mirrors=[base + "m"], files=files, timeout=5)
    assert requests == []


def test_load_mnist_downloads_into_the_cache_once(tmp_path, server, monkeypatch):
    root, base, requests = server
    files = publish_mnist(root / "m")
    monkeypatch.setattr(download_module, "MNIST_FILES", files)
    monkeypatch.setattr(download_module, "MNIST_MIRRORS", (base + "m/",))
    ds = load_dataset("mnist", cache_dir=tmp_path / "cache")
    assert (ds.name, ds.n_train, ds.n_test, ds.n_classes) == ("mnist", 20, 10, 10)
    load_dataset("mnist", cache_dir=tmp_path / "cache")
    assert len(requests) == 4


def test_load_mnist_without_download_says_how(tmp_path):
    with pytest.raises(DataError, match="download=True"):
        load_dataset("mnist", cache_dir=tmp_path, download=False)


# ---------------------------------------------------------------------------------------------
# train_val_split, one_hot, Dataset
# ---------------------------------------------------------------------------------------------

def test_split_is_stratified_and_loses_nothing():
    y = np.repeat([0, 1, 2, 3, 4], [50, 30, 20, 2, 1])
    X = np.arange(len(y))  # each sample is its own index, to track where it went
    X_a, y_a, X_b, y_b = train_val_split(X, y, 0.2, seed=0)
    assert sorted(np.concatenate([X_a, X_b]).tolist()) == X.tolist()
    np.testing.assert_array_equal(y[X_a], y_a)
    assert len(X_b) == 21  # round(0.2 * 103)
    assert np.bincount(y_b, minlength=5)[:4].tolist() == [10, 6, 4, 1]
    assert set(y_a) >= {0, 1, 2, 3}


def test_split_pinned_example_and_seeding():
    y = np.array([0] * 5 + [1] * 5)
    X_a, y_a, X_b, y_b = train_val_split(np.arange(10), y, 0.4, seed=7)
    assert np.bincount(y_b).tolist() == [2, 2] and np.bincount(y_a).tolist() == [3, 3]
    again = train_val_split(np.arange(10), y, 0.4, seed=7)
    np.testing.assert_array_equal(X_b, again[2])
    others = {tuple(train_val_split(np.arange(10), y, 0.4, seed=s)[2]) for s in range(10)}
    assert len(others) > 1


@given(counts=st.lists(st.integers(1, 30), min_size=1, max_size=8),
       fraction=st.floats(0.01, 0.99), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_split_properties(counts, fraction, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    if len(y) < 2:
        return
    X_a, y_a, X_b, y_b = train_val_split(np.arange(len(y)), y, fraction, seed=seed)
    assert sorted(np.concatenate([X_a, X_b]).tolist()) == list(range(len(y)))
    assert len(X_a) > 0 and len(X_b) > 0
    for label, count in enumerate(counts):
        if count >= 2:
            assert label in y_a and label in y_b, f"class {label} ({count}) not on both sides"


@pytest.mark.parametrize("fraction", [0, 1, 2.0, None])
def test_split_fraction_out_of_range(fraction):
    with pytest.raises(ConfigError, match="fraction"):
        train_val_split(np.zeros((4, 2)), np.zeros(4), fraction)


def test_split_rejects_mismatched_or_tiny_input():
    with pytest.raises(DataError, match="one label per row"):
        train_val_split(np.zeros((4, 2)), np.zeros(3), 0.5)
    with pytest.raises(DataError, match="at least 2"):
        train_val_split(np.zeros((1, 2)), np.zeros(1), 0.5)


def test_one_hot_pinned():
    np.testing.assert_array_equal(one_hot([2, 0, 1]), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    Y = one_hot(np.array([1.0, 3.0]), n_classes=5, dtype=np.float32)
    assert Y.dtype == np.float32 and Y.shape == (2, 5) and Y[1, 3] == 1 and Y.sum() == 2
    assert one_hot([], n_classes=3).shape == (0, 3)


@pytest.mark.parametrize("y, n_classes, error, match", [
    ([0, 3], 3, DataError, r"label 3 .*\[0, 3\)"),
    ([0, -1], None, DataError, "label -1"),
    ([0.5], None, DataError, "non-integer"),
    ([[0, 1]], None, DataError, "1-D"),
    (["a"], None, DataError, "integer class indices"),
    ([0], 0, ConfigError, "n_classes"),
    ([0], 2.0, ConfigError, "n_classes"),
])
def test_one_hot_validates(y, n_classes, error, match):
    with pytest.raises(error, match=match):
        one_hot(y, n_classes)


def _tiny(**overrides):
    args = dict(X_train=np.zeros((4, 4)), y_train=[0, 1, 0, 1], X_test=np.ones((2, 4)),
                y_test=[1, 0], name="tiny", n_classes=2, image_shape=(2, 2))
    return Dataset(**{**args, **overrides})


def test_dataset_converts_and_describes_itself():
    ds = _tiny()
    assert ds.X_train.dtype == np.float32 and ds.y_test.dtype == np.int64
    assert repr(ds) == ("Dataset(name='tiny', train=4x4, test=2x4, n_classes=2, "
                        "image_shape=(2, 2), image_order='C')")


def test_dataset_images_honour_the_order():
    row = np.array([[1, 2, 3, 4]])
    np.testing.assert_array_equal(_tiny().images(row)[0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(_tiny(image_order="F").images(row)[0], [[1, 3], [2, 4]])
    with pytest.raises(ConfigError, match="not image data"):
        _tiny(image_shape=None).images()


@pytest.mark.parametrize("overrides, error, match", [
    ({"X_train": np.full((4, 4), np.nan)}, DataError, "NaN"),
    ({"X_train": np.full((4, 4), 1e300)}, DataError, "float32 range"),
    ({"X_test": np.zeros((0, 4)), "y_test": []}, DataError, "non-empty"),
    ({"y_train": [0, 1, 0]}, DataError, "4 samples but 3 labels"),
    ({"y_train": [0, 1, 0, 2]}, DataError, r"\[0, 2\)"),
    ({"X_test": np.ones((2, 5))}, DataError, "4 features in train but 5"),
    ({"image_shape": (3, 2)}, ConfigError, "image_shape"),
    ({"image_order": "A"}, ConfigError, "image_order"),
    ({"n_classes": 0}, ConfigError, "n_classes"),
])
def test_dataset_validates(overrides, error, match):
    with pytest.raises(error, match=match):
        _tiny(**overrides)


# ---------------------------------------------------------------------------------------------
# fuzzing: random bytes are a DataError or a valid result, never a crash
# ---------------------------------------------------------------------------------------------

_idx_like = st.builds(lambda ndim, rest: bytes([0, 0, 8, ndim]) + rest,
                      st.integers(0, 5), st.binary(max_size=64))
_random_files = st.one_of(st.binary(max_size=200), _idx_like,
                          _idx_like.map(gzip.compress), st.binary(max_size=200).map(gzip.compress))


_valid_idx = st.lists(st.integers(0, 3), min_size=1, max_size=4).flatmap(
    lambda shape: st.binary(min_size=int(np.prod(shape)), max_size=int(np.prod(shape))).map(
        lambda data: bytes([0, 0, 8, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape) + data))


def _idx_oracle(content):
    """What read_idx must return for ``content``, decoded here by the IDX spec; None if invalid."""
    if content[:2] == b"\x1f\x8b":
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, ValueError):
            return None
    if len(content) < 4 or content[:3] != b"\0\0\x08" or not 1 <= content[3] <= 4:
        return None
    ndim = content[3]
    if len(content) < 4 + 4 * ndim:
        return None
    shape = tuple(int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = content[4 + 4 * ndim:]
    return np.frombuffer(data, np.uint8).reshape(shape) if len(data) == np.prod(shape) else None


@given(content=_random_files | _valid_idx | _valid_idx.map(gzip.compress))
@example(content=b"\0\0\x08\0\x07")  # 0 dimensions with one byte: a scalar is not an IDX file
@example(content=b"\0\0\x08\x05" + bytes(20) + b"\x07")  # 5 dimensions of 0 and 1 byte
@example(content=gzip.compress(b"\0\0\x08\x01\0\0\0\x02ab")[:-4])  # gzip without its size
@settings(max_examples=80, deadline=None)
def test_read_idx_on_random_bytes(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "f-idx3-ubyte"
    path.write_bytes(content)
    expected = _idx_oracle(content)
    if expected is None:
        with pytest.raises(DataError, match="f-idx3-ubyte"):
            read_idx(path)
    else:
        out = read_idx(path)
        assert out.dtype == np.uint8 and out.shape == expected.shape
        np.testing.assert_array_equal(out, expected)


@given(content=_random_files | st.text(alphabet="0123456789,.-\nnaxe ", max_size=80)
       .map(str.encode),
       name=st.sampled_from(["f.csv", "f.csv.gz", "f.mat", CANONICAL["train_images"]]))
@settings(max_examples=50, deadline=None)
@pytest.mark.filterwarnings("ignore::UserWarning")  # scipy warns about odd MAT headers
def test_load_dataset_on_random_bytes(tmp_path_factory, content, name):
    directory = tmp_path_factory.mktemp("fuzz")
    if name == CANONICAL["train_images"]:  # a random file inside an otherwise good IDX set
        write_idx_set(directory)
    (directory / name).write_bytes(content)
    target = directory if name == CANONICAL["train_images"] else directory / name
    try:
        ds = load_dataset(target)
    except DataError as exc:  # a refusal names the file it refuses
        assert name in str(exc) or str(directory) in str(exc), str(exc)
        return
    assert isinstance(ds, Dataset) and ds.n_train + ds.n_test >= 2
    for X in (ds.X_train, ds.X_test):
        assert X.dtype == np.float32 and np.isfinite(X).all() and 0 <= X.min() and X.max() <= 1
    assert 0 <= min(ds.y_train.min(), ds.y_test.min()) and max(ds.y_train.max(), ds.y_test.max()) < ds.n_classes


def test_train_downloads_mnist_with_a_progress_bar_per_file(tmp_path, server, monkeypatch, capsys):
    """The CLI's download progress: one task per file, each finished at its size; then
    ``gradcheck train --data mnist`` trains on the cached files without asking again."""
    from gradcheck.cli.main import main

    root, base, requests = server
    files = publish_mnist(root / "m")
    monkeypatch.setattr(download_module, "MNIST_FILES", files)
    monkeypatch.setattr(download_module, "MNIST_MIRRORS", (base + "m/",))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with _DownloadProgress(quiet=True) as progress:
        load_dataset("mnist", progress=progress)
    assert sorted(progress.tasks) == sorted(files)
    for task in progress.progress.tasks:
        assert task.total is not None and task.completed == task.total > 0
    assert main(["train", "--data", "mnist", "--epochs", "1", "--hidden", "4", "--val-fraction", "0",
                 "--json"]) == 0
    assert len(requests) == 4  # the second load came from the cache
