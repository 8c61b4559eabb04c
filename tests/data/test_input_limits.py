"""The readers bound their memory: files over the limits are refused before they are read."""
import numpy as np
import pytest
import scipy.io

from gradcheck.check import userinput
from gradcheck.data import inputs as predict
from gradcheck.data import reading
from gradcheck.data.datasets import load_dataset
from gradcheck.data.inputs import read_inputs
from gradcheck.errors import DataError


def _csv(path, rows=40):
    rng = np.random.default_rng(0)
    table = np.column_stack([np.arange(rows) % 2, rng.random((rows, 4))])
    np.savetxt(path, table, delimiter=",", fmt="%.6f")
    return path


@pytest.mark.parametrize("name", ["d.csv", "d.mat"])
def test_dataset_files_over_the_limit_are_refused(name, tmp_path, monkeypatch):
    path = tmp_path / name
    if name.endswith(".csv"):
        _csv(path)
    else:
        scipy.io.savemat(path, {"X": np.random.default_rng(0).random((40, 4)),
                                "y": (np.arange(40) % 2)[:, None]})
    assert load_dataset(path).n_classes == 2  # fine under the real limit
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 256)
    with pytest.raises(DataError, match="256"):
        load_dataset(path)


def test_gzip_that_inflates_past_the_limit_is_refused(tmp_path, monkeypatch):
    import gzip

    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(b"0,0.5\n" * 100_000))  # 600 kB from about 1 kB
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 10_000)
    with pytest.raises(DataError, match="10000"):
        load_dataset(path)


def test_prediction_inputs_over_the_limit_are_refused(tmp_path, monkeypatch):
    csv = _csv(tmp_path / "x.csv")
    np.save(tmp_path / "x.npy", np.zeros((50, 4)))
    monkeypatch.setattr(predict, "MAX_INPUT_BYTES", 100)
    for path in (csv, tmp_path / "x.npy"):
        with pytest.raises(DataError, match="100-byte limit"):
            read_inputs(path, 4)


def test_images_over_the_pixel_limit_are_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import Image

    Image.new("L", (300, 200)).save(tmp_path / "photo.png")
    monkeypatch.setattr(predict, "MAX_IMAGE_PIXELS", 50_000)
    with pytest.raises(DataError, match="300x200 pixels, over the 50000-pixel limit"):
        read_inputs(tmp_path / "photo.png", 784, (28, 28))


def test_doctor_columns_over_the_limit_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "cols.txt"
    path.write_text("0.1 0.1\n" * 100)
    monkeypatch.setattr(userinput, "MAX_INPUT_BYTES", 64)
    with pytest.raises(DataError, match="64-byte limit"):
        userinput.read_columns(path)
