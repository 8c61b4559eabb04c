"""Inputs for a trained model: images, .npy arrays and CSV files turned into feature rows.

:func:`read_inputs` returns rows of ``n_features`` values in [0, 1], the scale every
gradcheck loader gives its training data.  Photos and scans of a digit are prepared the
way MNIST was: grayscale, dark background (inverted if the background is light), the
digit cropped, scaled into the central 20/28 of the image and centred on its centre of
mass.  Every reader bounds its memory before allocating; problems raise
:class:`~gradcheck.errors.DataError` naming the file.
"""
from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np

from .errors import ConfigError, DataError

__all__ = ["read_inputs", "prepare_image", "predictions", "MAX_INPUT_BYTES", "MAX_IMAGE_PIXELS"]

MAX_INPUT_BYTES = 256 << 20     # .npy and CSV inputs; predicting needs far less
MAX_IMAGE_PIXELS = 40_000_000   # a 40-megapixel photo; decompression bombs are far larger
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_INK_FRACTION = 20 / 28         # MNIST digits fill a 20x20 box inside 28x28


def read_inputs(path, n_features: int, image_shape=None, image_order: str = "C"):
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
        image, notes = prepare_image(_read_image(path), shape)
        return image.ravel(order=image_order)[None, :], notes
    if suffix == ".npy":
        X, notes = _read_npy(path, n_features, image_order), []
    elif suffix in (".csv", ".txt"):
        X, notes = _read_csv(path, n_features), []
    else:
        raise DataError(f"{path} is not an image, .npy or .csv file; give one of those.")
    return _unit_range(X, path, notes), notes


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

def _read_image(path: Path) -> np.ndarray:
    """Decode an image as grayscale floats in [0, 1], refusing huge ones before decoding."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ConfigError("reading images needs Pillow; install it with pip install 'gradcheck[image]'.")
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise DataError(f"{path} is {im.width}x{im.height} pixels, over the "
                                f"{MAX_IMAGE_PIXELS}-pixel limit; shrink the image first.")
            im.seek(0)  # the first frame of a GIF or TIFF
            gray = np.asarray(im.convert("L"), dtype=np.float64) / 255
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read {path} as an image ({exc}); give a PNG or JPEG file.")
    return gray


def prepare_image(gray: np.ndarray, shape) -> tuple[np.ndarray, list[str]]:
    """Turn a grayscale image in [0, 1] into an MNIST-style input of ``shape``.

    Light backgrounds are inverted (MNIST digits are white on black).  An image already
    of ``shape`` is used as it is; a larger one is cropped to its ink, scaled into the
    central 20/28 and centred on its centre of mass.

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
    ink = gray > 0.2 * gray.max() if gray.max() > 0 else np.zeros(gray.shape, bool)
    if not ink.any():
        raise DataError("the image is blank (no strokes darker or lighter than its background); "
                        "give an image of a digit.")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    notes.append(f"cropped to the strokes, scaled and centred into {shape[0]}x{shape[1]}")
    return _center(_fit_into(crop, shape), shape), notes


def _fit_into(crop: np.ndarray, shape) -> np.ndarray:
    """Resize ``crop`` (keeping its aspect) so its longer side fills 20/28 of ``shape``."""
    from PIL import Image

    box = _INK_FRACTION * min(shape)
    scale = box / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    resized = Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
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
    from ._files import read_numeric_npy

    return _as_rows(read_numeric_npy(path, DataError, MAX_INPUT_BYTES), n_features, path, order)


def _as_rows(X: np.ndarray, n_features: int, path: Path, order: str) -> np.ndarray:
    """Reshape one sample, a batch of rows, or a batch of images to (n, n_features)."""
    if X.ndim >= 2 and math.prod(X.shape[-2:]) == n_features and X.shape[-1] != n_features:
        X = X.reshape(*X.shape[:-2], n_features, order=order)  # images: flatten like the model
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != n_features or len(X) == 0:
        raise DataError(f"{path} has shape {X.shape} but the model takes {n_features} features "
                        f"per sample; give shape ({n_features},) or (n_samples, {n_features}).")
    return X


def _read_csv(path: Path, n_features: int) -> np.ndarray:
    """Rows of ``n_features`` numbers; a leading label column and a header row are skipped."""
    text = path.read_bytes()
    first = text.split(b"\n", 1)[0].decode("utf-8", "replace")
    header = any(not _is_number(cell) for cell in first.split(","))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns on no data; checked below
            table = np.loadtxt(io.BytesIO(text), delimiter=",", ndmin=2, skiprows=int(header))
    except ValueError as exc:
        raise DataError(f"cannot parse {path} as CSV ({exc}); give numbers separated by commas, "
                        f"one sample per line.")
    if table.size == 0:
        raise DataError(f"{path} holds no numbers; give one sample of {n_features} numbers per line.")
    if table.shape[1] == n_features + 1:
        table = table[:, 1:]  # the training CSV layout: the label first
    return _as_rows(table, n_features, path, "C")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _unit_range(X: np.ndarray, path: Path, notes: list) -> np.ndarray:
    """Bring values to [0, 1] by the loaders' rule: 0..255 is divided by 255."""
    X = np.asarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise DataError(f"{path} has NaN or infinite values; fill or drop those samples.")
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
