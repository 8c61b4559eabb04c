"""Inputs for a trained model: images, .npy arrays and CSV files turned into feature rows.

:func:`read_inputs` returns rows of ``n_features`` values in [0, 1], the scale every
gradcheck loader gives its training data.  Photos and scans of a digit are prepared the
way MNIST was: turned upright by their EXIF orientation, transparent backgrounds put on
white (light strokes on black), 16-bit pixels divided by 65535 and float pixels taken by
their range (0..1 or 0..255), grayscale, dark background (inverted if the background is
light), the digit cropped, scaled into the central 20/28 of the image and centred on its
centre of mass.  Every reader bounds its memory before allocating; problems (a corrupt
file included) raise :class:`~gradcheck.errors.DataError` naming the file.
"""
from __future__ import annotations

import io
import logging
import math
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

from gradcheck._files import read_numeric_npy
from gradcheck.data.arrays import PIXEL_SCALES
from gradcheck.data.background import remove_background
from gradcheck.data.csvfile import is_header
from gradcheck.errors import ConfigError, DataError

__all__ = ["read_inputs", "prepare_image", "predictions", "MAX_INPUT_BYTES", "MAX_IMAGE_PIXELS"]

MAX_INPUT_BYTES = 256 << 20     # .npy and CSV inputs; predicting needs far less
MAX_IMAGE_PIXELS = 40_000_000   # a 40-megapixel photo; decompression bombs are far larger
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_INK_FRACTION = 20 / 28         # MNIST digits fill a 20x20 box inside 28x28
_WIDE_MODES = ("I", "F", "I;16", "I;16B", "I;16L", "I;16N")  # Pillow's modes over 8 bits a pixel


def read_inputs(path, n_features: int, image_shape=None, image_order: str = "C", input_scale=None):
    """Read samples to predict on.

    Parameters
    ----------
    path : str or path-like
        An image (PNG, JPEG, ...), a ``.npy`` array of shape (n_features,),
        (n_samples, n_features), (h, w) or (n_samples, h, w), or a CSV file with
        ``n_features`` numbers per line (or a label first, then ``n_features``).
    n_features : int
        The model's input width.
    image_shape : (int, int), optional
        The model's image shape; needed for image files unless ``n_features`` is square.
    image_order : {"C", "F"}
        How the model's rows hold an image's pixels.
    input_scale : (low, high), optional
        The scale the model's training data had (its ``input_scale`` metadata): values ``x``
        become ``(x - low) / (high - low)``, an image's pixels taken as 0..255.  Without
        one, or with a pixel scale (0, 1) or (0, 255), values in [0, 1] are kept and values
        in [0, 255] divided by 255.

    Returns
    -------
    X : ndarray, shape (n_samples, n_features), float64 in [0, 1] for image data
    notes : list of str
        What was done to the input (inverted, rescaled ...), for the user to see.
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        shape = _image_shape(n_features, image_shape, path)
        gray, read_notes = _read_image(path)
        image, image_notes = prepare_image(gray, shape)
        row = image.ravel(order="F" if image_order == "F" else "C")[None, :]
        if _trained_scale(input_scale) is not None:
            row = _scaled(255 * row, input_scale, image_notes)
        return row, read_notes + image_notes
    notes: list[str] = []
    if suffix == ".npy":
        X = _read_npy(path, n_features, image_order)
    elif suffix in (".csv", ".txt"):
        X = _read_csv(path, n_features, notes)
    else:
        raise DataError(f"{path} is not an image, .npy or .csv file; give one of those.")
    return _unit_range(X, path, notes, input_scale), notes


def _check_file(path: Path) -> None:
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a regular file"
        raise DataError(f"{path} {what}; give an image, .npy or .csv file to predict on.")
    if path.suffix.lower() not in IMAGE_SUFFIXES and path.stat().st_size > MAX_INPUT_BYTES:
        raise DataError(f"{path} has {path.stat().st_size} bytes, over the {MAX_INPUT_BYTES}-byte "
                        f"limit for prediction inputs; split it into smaller files.")


def _image_shape(n_features: int, image_shape, path: Path) -> tuple[int, int]:
    if image_shape is not None:
        return tuple(image_shape)
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise DataError(f"the model takes {n_features} features, not a square image, and records "
                        f"no image shape, so {path} cannot be turned into its input.")
    return side, side


# --- images -----------------------------------------------------------------------------

def _read_image(path: Path) -> tuple[np.ndarray, list[str]]:
    """Decode an image as grayscale floats in [0, 1], refusing huge ones before decoding."""
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError("reading images needs Pillow; install it with pip install 'gradcheck[image]'.") from None
    _quiet_pillow_log()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns on odd metadata; one sentence or nothing
        try:
            with Image.open(path) as im:
                _check_pixels(im.width, im.height, path)
                im.seek(0)  # the first frame of a GIF or TIFF
                return _to_gray(_upright(im), im.format, path)
        except DataError:
            raise
        except Image.DecompressionBombError:
            raise DataError(f"{path} declares more than {MAX_IMAGE_PIXELS} pixels; shrink the image first.") from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError,
                KeyError, TypeError, ZeroDivisionError, OverflowError) as exc:
            raise DataError(_undecodable(path, exc)) from exc


def _quiet_pillow_log() -> None:
    """Pillow logs some corrupt files (TIFF) before raising; with no handler Python prints those."""
    log = logging.getLogger("PIL")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())  # records still reach any handler the application set


def _check_pixels(width: int, height: int, path: Path) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(f"{path} is {width}x{height} pixels, over the "
                        f"{MAX_IMAGE_PIXELS}-pixel limit; shrink the image first.")


def _undecodable(path: Path, exc: BaseException) -> str:
    """One sentence for a file Pillow cannot identify or decode (corrupt, truncated, crafted)."""
    from PIL import UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return (f"cannot read {path} as an image (Pillow does not recognise its format, or its header "
                f"is corrupt); give a PNG or JPEG file.")
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:100].rstrip(".")
    return (f"{path} could not be decoded as an image ({reason}); the file is corrupt or truncated, "
            f"so re-save it as a PNG.")


def _upright(im):
    """Apply the EXIF orientation: phones store photos sideways and record the turn there."""
    from PIL import ImageOps

    if im.getexif().get(0x0112, 1) in (2, 3, 4, 5, 6, 7, 8):
        return ImageOps.exif_transpose(im)
    return im


def _to_gray(im, file_format, path: Path) -> tuple[np.ndarray, list[str]]:
    """Grayscale floats in [0, 1], transparent pixels put on a background (:func:`_on_background`)."""
    if im.mode in _WIDE_MODES:
        values = np.asarray(im, dtype=np.float64)
        gray, notes = _wide_to_unit(values, im.mode, file_format, path)
        key = im.info.get("transparency")  # a 16-bit PNG's transparent gray level
        if isinstance(key, (int, float)) and not isinstance(key, bool) and (values == key).any():
            return _on_background(gray, (values != key).astype(np.float64), notes)
        return gray, notes
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = _convert(im, "RGBA", path)  # applies palette alpha and tRNS colour keys too
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255
        gray = np.asarray(rgba.convert("L"), dtype=np.float64) / 255
        return _on_background(gray, alpha, [])
    return np.asarray(_convert(im, "L", path), dtype=np.float64) / 255, []


def _convert(im, mode: str, path: Path):
    try:
        return im.convert(mode)
    except ValueError:  # e.g. LAB has no direct conversion; RGB is the common ground
        pass
    try:
        return im.convert("RGB").convert(mode)
    except ValueError:
        raise DataError(f"{path} has pixel mode {im.mode}, which cannot be turned into grayscale; "
                        f"re-save it as an 8-bit grayscale or RGB PNG.") from None


def _on_background(gray: np.ndarray, alpha: np.ndarray, notes: list) -> tuple[np.ndarray, list[str]]:
    """Composite ``gray`` with opacity ``alpha`` (both (h, w) in [0, 1]) onto a plain background.

    Drawing apps and canvases save dark strokes on a transparent background whose hidden
    colour is arbitrary (often black): on white, as a viewer shows it, they are dark ink on
    light paper, which :func:`prepare_image` inverts.  Light strokes on a mostly transparent
    image would vanish on white, so those go on black.
    """
    if alpha.min() >= 1:
        return gray, notes
    if np.median(alpha) < 0.5 and np.sum(gray * alpha) > 0.5 * np.sum(alpha):
        return gray * alpha, notes + ["transparent background put on black (light strokes)"]
    return gray * alpha + (1 - alpha), notes + ["transparent background put on white"]


def _wide_to_unit(values: np.ndarray, mode: str, file_format, path: Path) -> tuple[np.ndarray, list[str]]:
    """Scale 16-bit, 32-bit integer and float pixels to [0, 1] by their bit depth or value range.

    16-bit files are divided by 65535 (Pillow opens 16-bit PNGs as mode I or I;16); other
    values by the loaders' rule: 0..1 as they are, 0..255 divided by 255 (0..65535 by 65535
    for integers); anything else is refused rather than guessed.
    """
    if not np.isfinite(values).all():
        raise DataError(f"{path} has NaN or infinite pixel values; re-save it as an 8-bit grayscale PNG.")
    lo, hi = float(values.min()), float(values.max())
    kind = "floating-point" if mode == "F" else "integer"
    if mode.startswith("I;16") or (mode == "I" and file_format == "PNG"):
        return values / 65535, ["divided by 65535 (16-bit pixels)"]
    if 0 <= lo and hi <= 1:
        return values, [f"{kind} pixel values taken as 0..1"]
    if 0 <= lo and hi <= 255:
        return values / 255, ["divided by 255 (pixel values 0..255)"]
    if mode == "I" and 0 <= lo and hi <= 65535:
        return values / 65535, ["divided by 65535 (pixel values 0..65535)"]
    ranges = "0..1, 0..255 or 0..65535" if mode == "I" else "0..1 or 0..255"
    raise DataError(f"{path} has {kind} pixel values from {lo:g} to {hi:g}, not {ranges}, so their "
                    f"brightness is unknown; re-save it as an 8-bit grayscale PNG.")


def prepare_image(gray: np.ndarray, shape) -> tuple[np.ndarray, list[str]]:
    """Turn a grayscale image in [0, 1] into an MNIST-style input of ``shape``.

    Light backgrounds are inverted (MNIST digits are white on black).  An image already
    of ``shape`` is used as it is; a larger one has its paper estimated and subtracted
    (:func:`~gradcheck.data.background.remove_background`: gray, unevenly lit or noisy
    paper becomes 0), is cropped to its strokes, scaled into the central 20/28 and centred
    on its centre of mass.

    Returns
    -------
    image : ndarray, shape ``shape``, values in [0, 1]
    notes : list of str
    """
    notes = []
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:
        gray, notes = 1.0 - gray, ["inverted (light background)"]
    if gray.shape == tuple(shape):
        return gray, notes
    ink, threshold, paper = remove_background(gray)
    strokes = ink > threshold
    if not strokes.any() or gray.max() - gray.min() < 0.05:
        raise DataError("the image is blank (no strokes darker or lighter than its background); "
                        "give an image of a digit.")
    if paper > 0.05:
        notes.append(f"paper background removed (up to {paper:.2f} after inverting)")
    rows, cols = np.flatnonzero(strokes.any(axis=1)), np.flatnonzero(strokes.any(axis=0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    notes.append(f"cropped to the strokes, scaled and centred into {shape[0]}x{shape[1]}")
    return _center(_fit_into(crop, shape), shape), notes


def _fit_into(crop: np.ndarray, shape) -> np.ndarray:
    """Resize ``crop`` (keeping its aspect) so its longer side fills 20/28 of ``shape``."""
    from PIL import Image

    box = _INK_FRACTION * min(shape)
    scale = box / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    resized = Image.fromarray(np.rint(crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.float64) / 255


def _center(digit: np.ndarray, shape) -> np.ndarray:
    """Paste ``digit`` into a black image of ``shape`` with its centre of mass in the middle."""
    from scipy.ndimage import center_of_mass

    out = np.zeros(shape)
    h, w = digit.shape
    cy, cx = center_of_mass(digit) if digit.sum() > 0 else ((h - 1) / 2, (w - 1) / 2)
    top = int(np.clip(round((shape[0] - 1) / 2 - cy), 0, shape[0] - h))
    left = int(np.clip(round((shape[1] - 1) / 2 - cx), 0, shape[1] - w))
    out[top:top + h, left:left + w] = digit
    return np.clip(out, 0, 1)


# --- arrays -----------------------------------------------------------------------------

def _read_npy(path: Path, n_features: int, order: str) -> np.ndarray:
    """Read a numeric .npy file (never unpickling, header checked first) as rows of ``n_features``."""

    return _as_rows(read_numeric_npy(path, DataError, MAX_INPUT_BYTES), n_features, path, order)


def _as_rows(X: np.ndarray, n_features: int, path: Path, order: str) -> np.ndarray:
    """Reshape one sample, a batch of rows, or a batch of images to (n, n_features)."""
    if X.ndim >= 2 and math.prod(X.shape[-2:]) == n_features and X.shape[-1] != n_features:
        X = X.reshape((*X.shape[:-2], n_features), order="F" if order == "F" else "C")  # images: flatten like the model
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != n_features or len(X) == 0:
        raise DataError(f"{path} has shape {X.shape} but the model takes {n_features} features "
                        f"per sample; give shape ({n_features},) or (n_samples, {n_features}).")
    return X


def _read_csv(path: Path, n_features: int, notes: list) -> np.ndarray:
    """Rows of ``n_features`` numbers; a leading label column and a header row are skipped
    (a header is a first line of mostly words: :func:`~gradcheck.data.csvfile.is_header`)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")  # -sig: Excel starts its UTF-8 CSVs with a BOM
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded); save it as "
                        f"a UTF-8 CSV.") from None
    first = text.split("\n", 1)[0].rstrip("\r")
    header = is_header(first)
    if header:
        notes.append(f"line 1 skipped as a header: {first[:80]!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns on no data; checked below
            table = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, skiprows=int(header))
    except ValueError as exc:
        raise DataError(f"cannot parse {path} as CSV ({exc}); give numbers separated by commas, "
                        f"one sample per line.") from exc
    if table.size == 0:
        raise DataError(f"{path} holds no numbers; give one sample of {n_features} numbers per line.")
    if table.shape[1] == n_features + 1:
        table = table[:, 1:]  # the training CSV layout: the label first
    return _as_rows(table, n_features, path, "C")


def _trained_scale(input_scale):
    """The model's scale when it is not a pixel scale (those keep the loaders' rule)."""
    if input_scale is None or tuple(input_scale) in PIXEL_SCALES:
        return None
    return float(input_scale[0]), float(input_scale[1])


def _scaled(X: np.ndarray, input_scale, notes: list) -> np.ndarray:
    low, high = _trained_scale(input_scale)
    notes.append(f"scaled as the training data: (x - {low:g}) / ({high:g} - {low:g})")
    return (X / 2 - low / 2) / (high / 2 - low / 2)  # halved: high - low may overflow


def _unit_range(X: np.ndarray, path: Path, notes: list, input_scale=None) -> np.ndarray:
    """Bring values to the model's scale: its training data's (``input_scale``), or by the
    loaders' rule, 0..1 as it is and 0..255 divided by 255."""
    X = np.asarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise DataError(f"{path} has NaN or infinite values; fill or drop those samples.")
    if _trained_scale(input_scale) is not None:
        return _scaled(X, input_scale, notes)
    lo, hi = float(X.min()), float(X.max())
    if 0 <= lo and hi <= 1:
        return X
    if 0 <= lo and hi <= 255:
        notes.append("divided by 255 (pixel values 0..255)")
        return X / 255
    raise DataError(f"{path} has values from {lo:g} to {hi:g}, but models take features in [0, 1] "
                    f"(or pixels 0..255); scale them as the training data were.")


# --- what the CLI prints ------------------------------------------------------------------

def predictions(net, X, top: int = 3, labels=None) -> list[dict]:
    """The predicted class and the ``top`` most probable classes of each row of ``X``.

    Returns
    -------
    list of dict
        ``{"index", "class", "label", "probability", "top": [[label, p], ...]}`` per row.
    """
    P = net.predict_proba(X)
    if P.shape[1] == 1:  # one sigmoid unit: p(class 1)
        P = np.hstack([1 - P, P])
    names = list(labels) if labels is not None else [str(i) for i in range(P.shape[1])]
    rows = []
    for i, p in enumerate(P):
        order = np.argsort(-p, kind="stable")[:top]
        rows.append({"index": i, "class": int(order[0]), "label": names[order[0]],
                     "probability": float(p[order[0]]),
                     "top": [[names[k], float(p[k])] for k in order]})
    return rows
