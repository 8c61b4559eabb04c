"""What ``gradcheck predict`` reads: CSVs from Excel, transparent drawings, 16-bit and float
images, corrupt image files.

Each reader is tested through :func:`gradcheck.data.inputs.read_inputs` against the plain file it
should equal (an 8-bit opaque PNG, a CSV without a byte-order mark); the refusals also through
``gradcheck.cli.main``: one sentence on stderr, status 3, no traceback.
"""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys

import numpy as np
import pytest

from gradcheck import Network
from gradcheck.cli.main import main
from gradcheck.data.inputs import _wide_to_unit, read_inputs
from gradcheck.errors import DataError, ExitStatus, GradcheckError

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

ROW0, ROW1 = ",".join(["0"] * 16), ",".join(["255"] * 16)


def model16(t):
    Network([16, 4, 3], seed=0).save(t / "m16.npz")
    return str(t / "m16.npz")


def model784(t):
    meta = {"dataset": "mnist-sample", "image_shape": [28, 28], "image_order": "C"}
    Network([784, 4, 10], seed=0).save(t / "m784.npz", meta)
    return str(t / "m784.npz")


def refused(argv, capsys, phrase):
    """Run the CLI, expect status 3 and ``phrase`` in a one-line message; return the message."""
    assert main(argv) == ExitStatus.DATA
    out = capsys.readouterr()
    assert phrase in out.err and "Traceback" not in out.err + out.out
    assert out.err.strip().count("\n") == 0, out.err
    assert out.err.startswith("gradcheck predict: error: ")
    return out.err


def strokes(size, draw_on, ink):
    """A 7-like figure drawn with ``ink`` on ``draw_on`` (an image of ``size`` x ``size``)."""
    draw = ImageDraw.Draw(draw_on)
    n = size
    draw.line([(0.25 * n, 0.2 * n), (0.75 * n, 0.2 * n), (0.4 * n, 0.85 * n)], fill=ink,
              width=max(2, n // 12))
    return draw_on


def save(image, path, **kwargs):
    image.save(path, **kwargs)
    return path


# --- 1. CSV with a UTF-8 byte-order mark ----------------------------------------------------------

@pytest.mark.parametrize("header", ["", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\n"], ids=["no header", "header"])
def test_csv_with_a_byte_order_mark_keeps_its_first_row(header, tmp_path):
    text = header + ROW0 + "\n" + ROW1 + "\r\n"
    (tmp_path / "plain.csv").write_text(text, encoding="utf-8")
    (tmp_path / "bom.csv").write_text(text, encoding="utf-8-sig")  # what Excel writes
    X, notes = read_inputs(tmp_path / "bom.csv", 16)
    assert X.shape == (2, 16), "the BOM made the first row look like a header"
    assert np.array_equal(X, read_inputs(tmp_path / "plain.csv", 16)[0])
    assert np.array_equal(X, np.repeat([[0.0], [1.0]], 16, axis=1))


def test_predict_gives_one_prediction_per_row_of_a_bom_csv(tmp_path, capsys):
    (tmp_path / "bom2.csv").write_bytes(b"\xef\xbb\xbf" + f"{ROW0}\n{ROW1}\n".encode())
    assert main(["predict", model16(tmp_path), str(tmp_path / "bom2.csv"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["predictions"]) == 2


def test_csv_that_is_not_utf8_is_refused(tmp_path, capsys):
    (tmp_path / "latin.csv").write_bytes(ROW0.encode() + b"\n1,2\xe9\n")
    refused(["predict", model16(tmp_path), str(tmp_path / "latin.csv")], capsys, "is not UTF-8 text")


# --- 2. transparent backgrounds ------------------------------------------------------------------

def _transparent(size, how):
    """Black strokes on a transparent background, stored the ways drawing apps store them."""
    rgba = strokes(size, Image.new("RGBA", (size, size), (0, 0, 0, 0)), (0, 0, 0, 255))
    if how == "RGBA":
        return rgba, {}
    if how == "LA":
        return rgba.convert("LA"), {}
    # a palette image whose entry 0 is transparent (GIF, small PNGs)
    p = Image.new("P", (size, size), 0)
    p.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    p.paste(1, mask=rgba.getchannel("A"))
    return p, {"transparency": 0}


@pytest.mark.parametrize("size", [28, 200])
@pytest.mark.parametrize("how, suffix", [("RGBA", ".png"), ("LA", ".png"), ("P", ".png"), ("P", ".gif")])
def test_transparent_drawing_reads_like_the_same_drawing_on_white(size, how, suffix, tmp_path):
    image, options = _transparent(size, how)
    drawing = save(image, tmp_path / f"canvas{suffix}", **options)
    on_white = save(strokes(size, Image.new("L", (size, size), 255), 0), tmp_path / "paper.png")
    X, notes = read_inputs(drawing, 784, (28, 28))
    expected, _ = read_inputs(on_white, 784, (28, 28))
    assert expected.max() == 1.0 and expected.min() == 0.0  # the strokes are there, white on black
    assert np.array_equal(X, expected), f"{how} {suffix}: transparency was not put on white"
    assert notes[:2] == ["transparent background put on white", "inverted (light background)"]


def test_partly_transparent_edges_are_composited_like_paint_on_white(tmp_path):
    rgba = np.zeros((28, 28, 4), np.uint8)  # black everywhere, hidden by alpha 0
    rgba[5:20, 12:15, 3] = 255
    rgba[5:20, 11, 3] = 128  # an anti-aliased edge: half-covered black
    gray = np.full((28, 28), 255, np.uint8)
    gray[5:20, 12:15], gray[5:20, 11] = 0, 127  # the same edge on white paper
    X, _ = read_inputs(save(Image.fromarray(rgba), tmp_path / "a.png"), 784, (28, 28))
    expected, _ = read_inputs(save(Image.fromarray(gray), tmp_path / "b.png"), 784, (28, 28))
    assert np.allclose(X, expected, rtol=0, atol=1e-12)


def test_light_strokes_on_a_transparent_background_are_put_on_black(tmp_path):
    rgba = strokes(200, Image.new("RGBA", (200, 200), (0, 0, 0, 0)), (255, 255, 255, 255))
    on_black = strokes(200, Image.new("L", (200, 200), 0), 255)
    X, notes = read_inputs(save(rgba, tmp_path / "dark-mode.png"), 784, (28, 28))
    expected, _ = read_inputs(save(on_black, tmp_path / "black.png"), 784, (28, 28))
    assert np.array_equal(X, expected) and notes[0] == "transparent background put on black (light strokes)"


def test_opaque_rgba_is_read_as_it_is(tmp_path):
    rgb = strokes(28, Image.new("RGB", (28, 28), (255, 255, 255)), (0, 0, 0))
    X, notes = read_inputs(save(rgb.convert("RGBA"), tmp_path / "a.png"), 784, (28, 28))
    assert np.array_equal(X, read_inputs(save(rgb, tmp_path / "b.png"), 784, (28, 28))[0])
    assert not any("transparent" in note for note in notes)


def test_predict_on_a_transparent_28x28_drawing_is_not_an_all_zero_input(tmp_path, capsys):
    image, _ = _transparent(28, "RGBA")
    save(image, tmp_path / "canvas.png")
    assert main(["predict", model784(tmp_path), str(tmp_path / "canvas.png"), "--json"]) == 0
    assert "transparent background put on white" in json.loads(capsys.readouterr().out)["notes"]


# --- EXIF orientation (phone photos) ---------------------------------------------------------------

def test_exif_orientation_is_applied(tmp_path):
    upright = strokes(28, Image.new("L", (28, 28), 255), 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": the camera was held upright
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    X, _ = read_inputs(save(stored, tmp_path / "phone.png", exif=exif), 784, (28, 28))
    expected, _ = read_inputs(save(upright, tmp_path / "upright.png"), 784, (28, 28))
    assert np.array_equal(X, expected)


# --- 3. 16-bit, 32-bit integer and float images --------------------------------------------------

@pytest.fixture
def digit8():
    """A 28x28 8-bit digit-like image with every gray level from 0 to 255 in it."""
    pixels = np.zeros((28, 28), np.uint8)
    pixels[4:24, 4:24] = np.arange(400).reshape(20, 20) % 256
    return pixels


@pytest.mark.parametrize("kind", ["F 0..1", "F 0..255", "I;16 png", "I;16 tiff", "I 0..255 tiff"])
def test_wide_images_read_like_the_8_bit_image(kind, digit8, tmp_path):
    values = {"F 0..1": (digit8 / 255).astype(np.float32), "F 0..255": digit8.astype(np.float32),
              "I;16 png": digit8.astype(np.uint16) * 257, "I;16 tiff": digit8.astype(np.uint16) * 257,
              "I 0..255 tiff": digit8.astype(np.int32)}[kind]
    path = save(Image.fromarray(values), tmp_path / ("x.png" if "png" in kind else "x.tif"))
    X, notes = read_inputs(path, 784, (28, 28))
    expected, _ = read_inputs(save(Image.fromarray(digit8), tmp_path / "x8.png"), 784, (28, 28))
    assert np.allclose(X, expected, rtol=0, atol=1e-6), f"{kind} was not scaled to 0..1"
    scale = {"F 0..1": "floating-point pixel values taken as 0..1", "F 0..255": "divided by 255 (pixel values 0..255)",
             "I;16 png": "divided by 65535 (16-bit pixels)", "I;16 tiff": "divided by 65535 (16-bit pixels)",
             "I 0..255 tiff": "divided by 255 (pixel values 0..255)"}[kind]
    assert notes[0] == scale, "the scale chosen for a wide image must be shown"


def test_16_bit_png_read_as_mode_i_by_older_pillow_is_divided_by_65535():
    values = np.array([[0.0, 200.0], [32768.0, 65535.0]])
    gray, notes = _wide_to_unit(values, "I", "PNG", "x.png")
    assert np.array_equal(gray, values / 65535) and notes == ["divided by 65535 (16-bit pixels)"]
    gray, _ = _wide_to_unit(values, "I", "TIFF", "x.tif")
    assert np.array_equal(gray, values / 65535)


@pytest.mark.parametrize("values, phrase", [
    (np.linspace(-1, 1, 784), "floating-point pixel values from -1 to 1, not 0..1 or 0..255"),
    (np.linspace(0, 1000, 784), "floating-point pixel values from 0 to 1000"),
    (np.r_[np.zeros(783), np.nan], "NaN or infinite pixel values"),
], ids=["negative", "over 255", "NaN"])
def test_float_images_of_unknown_scale_are_refused(values, phrase, tmp_path, capsys):
    save(Image.fromarray(values.reshape(28, 28).astype(np.float32)), tmp_path / "f.tif")
    refused(["predict", model784(tmp_path), str(tmp_path / "f.tif")], capsys, phrase)


def test_32_bit_integer_images_beyond_16_bits_are_refused(tmp_path):
    save(Image.fromarray(np.arange(784, dtype=np.int32).reshape(28, 28) * 1000), tmp_path / "i.tif")
    with pytest.raises(DataError, match="integer pixel values from 0 to 783000, not 0..1, 0..255 or 0..65535"):
        read_inputs(tmp_path / "i.tif", 784, (28, 28))


# --- 4. corrupt image files ------------------------------------------------------------------------

def _png_bytes():
    b = io.BytesIO()
    strokes(28, Image.new("L", (28, 28), 255), 0).save(b, "PNG")
    return bytearray(b.getvalue())


def _bad_idat_length():
    raw = _png_bytes()
    i = raw.index(b"IDAT") - 4
    raw[i:i + 4] = struct.pack(">I", 1)
    return bytes(raw)


CORRUPT = {
    "IDAT length 1": (_bad_idat_length, "could not be decoded as an image"),
    "truncated": (lambda: bytes(_png_bytes()[:60]), "could not be decoded as an image"),
    "not an image": (lambda: b"hello, I am text", "as an image (Pillow does not recognise its format"),
    "empty": (lambda: b"", "as an image (Pillow does not recognise its format"),
}


@pytest.mark.parametrize("case", CORRUPT)
def test_corrupt_png_is_one_sentence_and_status_3(case, tmp_path, capsys):
    make, phrase = CORRUPT[case]
    (tmp_path / "broken.png").write_bytes(make())
    err = refused(["predict", model784(tmp_path), str(tmp_path / "broken.png")], capsys, phrase)
    assert "give a PNG" in err or "re-save it as a PNG" in err


def _seeds():
    rgba, _ = _transparent(24, "RGBA")
    images = [("PNG", ".png", rgba), ("GIF", ".gif", rgba.convert("P")), ("JPEG", ".jpg", rgba.convert("RGB")),
              ("TIFF", ".tif", Image.fromarray(np.linspace(0, 1, 576, dtype=np.float32).reshape(24, 24))),
              ("PNG", ".png", Image.fromarray(np.arange(576, dtype=np.uint16).reshape(24, 24) * 100)),
              ("BMP", ".bmp", rgba.convert("RGB"))]
    out = []
    for fmt, suffix, image in images:
        b = io.BytesIO()
        image.save(b, fmt)
        out.append((suffix, b.getvalue()))
    return out


def _png_chunk_starts(raw):
    starts, i = [], 8
    while i + 8 <= len(raw):
        starts.append(i)
        i += 12 + struct.unpack(">I", raw[i:i + 4])[0]
    return starts


def test_mutated_image_files_give_gradcheck_errors_only(tmp_path):
    """Cuts and overwrites of small valid files (PNG chunk lengths too): read, or refused with DataError."""
    rng = np.random.default_rng(0)
    seeds = _seeds()
    for k in range(240):
        suffix, raw = seeds[k % len(seeds)]
        raw = bytearray(raw)
        if suffix == ".png":
            i = int(rng.choice(_png_chunk_starts(raw)))
            raw[i:i + 4] = struct.pack(">I", int(rng.integers(0, 2 * len(raw))))
        for _ in range(int(rng.integers(0, 3))):
            i = int(rng.integers(0, max(1, len(raw))))
            if rng.random() < 0.3:
                del raw[i:]
            else:
                raw[i:i + 4] = rng.integers(0, 256, 4).astype(np.uint8).tobytes()
        (tmp_path / f"m{suffix}").write_bytes(bytes(raw))
        try:
            X, _ = read_inputs(tmp_path / f"m{suffix}", 784, (28, 28))
        except GradcheckError:
            continue
        assert X.shape == (1, 784) and np.all((X >= 0) & (X <= 1)), f"mutation {k} of {suffix}"


def test_pillow_log_records_do_not_reach_stderr(tmp_path):
    """Pillow logs a TIFF with absurd samples per pixel before refusing it; only our sentence shows."""
    b = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 255, 255)).save(b, "TIFF")
    raw = bytearray(b.getvalue())
    ifd = struct.unpack("<I", raw[4:8])[0]
    for k in range(struct.unpack("<H", raw[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * k
        if struct.unpack("<H", raw[entry:entry + 2])[0] == 277:  # SamplesPerPixel
            raw[entry + 8:entry + 10] = struct.pack("<H", 9999)
    (tmp_path / "spp.tif").write_bytes(bytes(raw))
    run = subprocess.run([sys.executable, "-m", "gradcheck", "predict", model784(tmp_path),
                          str(tmp_path / "spp.tif")], capture_output=True, text=True, timeout=60)
    assert run.returncode == ExitStatus.DATA
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert "as an image (Pillow does not recognise its format" in run.stderr, run.stderr
