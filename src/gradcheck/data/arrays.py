"""A :class:`Dataset` and the checks that turn raw arrays into one: features in
[0, 1], labels 0..K-1, a stratified test split."""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradcheck.errors import ConfigError, DataError

#: Most classes a file may imply when ``n_classes`` is inferred from its largest label.
MAX_CLASSES = 1000


# ---------------------------------------------------------------------------------------------
# The dataset object
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train/test pair of feature matrices and integer labels.

    Attributes
    ----------
    X_train : ndarray, shape (n_train, n_features), float32
    y_train : ndarray, shape (n_train,), int64
        Class indices in ``[0, n_classes)``.
    X_test : ndarray, shape (n_test, n_features), float32
    y_test : ndarray, shape (n_test,), int64
    name : str
        Registered name (``"mnist"``) or the file or directory name it was read from.
    n_classes : int
    image_shape : tuple of int or None
        ``(height, width)`` of one row seen as an image; None for non-image data.
    image_order : {'C', 'F'}
        How an image's pixels are laid out in a row: ``'C'`` row by row (IDX, CSV), ``'F'``
        column by column (MATLAB/Octave ``.mat`` files).  :meth:`images` applies it.
    input_scale : (float, float) or None
        ``(low, high)``: the features are the file's values ``x`` as ``(x - low) / (high -
        low)``; ``(0, 255)`` for pixels, ``(0, 1)`` for values already in [0, 1].  A model
        keeps it, so its inputs are scaled the same way later.  None when not known.
    notes : tuple of str
        What the loader did that the user should hear of (a header row skipped).

    Construction validates everything: shapes, NaN/Inf, labels in range.  Features are
    converted to float32 and labels to int64.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    n_classes: int
    image_shape: tuple[int, ...] | None = None
    image_order: str = "C"
    input_scale: tuple[float, float] | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        n_classes = _check_n_classes(self.n_classes)
        object.__setattr__(self, "n_classes", n_classes)
        for part in ("train", "test"):
            where = f"{part} part of dataset '{self.name}'"
            X = _as_float32(as_features(getattr(self, f"X_{part}"), f"X_{where}"), where)
            y = as_labels(getattr(self, f"y_{part}"), f"y_{where}", n_classes)
            if len(X) != len(y):
                raise DataError(f"the {where} has {len(X)} samples but {len(y)} labels; "
                                f"give one label per row of X")
            object.__setattr__(self, f"X_{part}", X)
            object.__setattr__(self, f"y_{part}", y)
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise DataError(f"dataset '{self.name}' has {self.X_train.shape[1]} features in "
                            f"train but {self.X_test.shape[1]} in test; both need the same")
        object.__setattr__(self, "image_shape", _check_image_layout(self))

    @property
    def n_features(self) -> int:
        """Number of features (pixels) per sample."""
        return self.X_train.shape[1]

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return self.X_test.shape[0]

    def images(self, X=None) -> np.ndarray:
        """Return rows of ``X`` (default ``X_train``) as upright images.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features) or (n_features,), optional

        Returns
        -------
        ndarray, shape (n_samples, *image_shape)
        """
        if self.image_shape is None:
            raise ConfigError(f"dataset '{self.name}' is not image data (image_shape is None); "
                              f"plot its features some other way")
        rows = np.asarray(self.X_train if X is None else X)
        if rows.size % self.n_features:
            raise ConfigError(f"images() got {rows.shape[-1]} values per row but dataset "
                              f"'{self.name}' has {self.n_features} features; pass rows of X")
        rows = rows.reshape(-1, self.n_features)
        if self.image_order == "F":
            # column-major rows: reshape to the reversed shape, then reverse the image axes
            flipped = rows.reshape(len(rows), *self.image_shape[::-1])
            return flipped.transpose(0, *range(len(self.image_shape), 0, -1))
        return rows.reshape(len(rows), *self.image_shape)

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, train={self.n_train}x{self.n_features}, "
                f"test={self.n_test}x{self.n_features}, n_classes={self.n_classes}, "
                f"image_shape={self.image_shape}, image_order={self.image_order!r})")


def _check_image_layout(ds: Dataset) -> tuple[int, ...] | None:
    """Return ``ds.image_shape`` as a tuple after checking it and ``image_order``."""
    if ds.image_order not in ("C", "F"):
        raise ConfigError(f"image_order must be 'C' or 'F', got {ds.image_order!r}; use 'F' "
                          f"only for images stored column by column (MATLAB)")
    if ds.image_shape is None:
        return None
    shape = tuple(ds.image_shape)
    if (not all(isinstance(d, numbers.Integral) and d > 0 for d in shape)
            or math.prod(shape) != ds.n_features):
        raise ConfigError(f"image_shape {shape} of dataset '{ds.name}' does not hold its "
                          f"{ds.n_features} features; give positive sizes whose product is "
                          f"n_features, or None")
    return tuple(int(d) for d in shape)


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoadOptions:
    """The keyword arguments of :func:`load_dataset`, checked once."""

    test_fraction: float
    seed: object
    cache_dir: object  # resolved by _cache_root only when a source needs the cache
    download: bool
    progress: Callable | None
    input_scale: tuple[float, float] | None = None


def train_val_split(X, y, fraction, *, seed=0):
    """Split samples into two stratified, shuffled parts.

    Parameters
    ----------
    X : array-like, shape (n_samples, ...)
    y : array-like, shape (n_samples,)
        Class labels used for stratification.
    fraction : float in (0, 1)
        Share of the samples that goes to the second part (``X_b``).
    seed : int
        Seeds ``np.random.default_rng``; the same seed gives the same split.

    Returns
    -------
    X_a, y_a, X_b, y_b : ndarray
        ``round(fraction * n_samples)`` samples in the ``b`` part (give or take the classes
        forced onto both sides); every class with at least two samples is on both sides.
    """
    fraction = check_fraction(fraction, "fraction")
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1 or X.ndim == 0 or len(X) != len(y):
        raise DataError(f"train_val_split got X of shape {X.shape} and y of shape {y.shape}; "
                        f"y must be 1-D with one label per row of X")
    if len(y) < 2:
        raise DataError(f"cannot split {len(y)} sample(s) into two parts; give at least 2")
    rng = _rng(seed)
    _, class_of = np.unique(y, return_inverse=True)
    counts = np.bincount(class_of)
    n_b = _stratified_counts(counts, fraction)
    # group sample indices by class, then shuffle each group before cutting it
    groups = np.split(np.argsort(class_of, kind="stable"), np.cumsum(counts)[:-1])
    parts_a, parts_b = [], []
    for members, k in zip(groups, n_b):
        members = rng.permutation(members)
        parts_b.append(members[:k])
        parts_a.append(members[k:])
    idx_a, idx_b = (rng.permutation(np.concatenate(p)) for p in (parts_a, parts_b))
    return X[idx_a], y[idx_a], X[idx_b], y[idx_b]


def one_hot(y, n_classes=None, dtype=np.float64) -> np.ndarray:
    """Encode class indices as one-hot rows.

    Parameters
    ----------
    y : array-like, shape (n_samples,)
        Integer class indices (whole-valued floats are accepted).
    n_classes : int, optional
        Number of columns; default ``max(y) + 1``.
    dtype : numpy dtype

    Returns
    -------
    ndarray, shape (n_samples, n_classes)
        ``Y[i, y[i]] = 1``, zeros elsewhere.
    """
    if n_classes is not None:
        n_classes = _check_n_classes(n_classes)
    labels = as_labels(y, "y", n_classes)
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 0
    Y = np.zeros((labels.size, n_classes), dtype=dtype)
    Y[np.arange(labels.size), labels] = 1
    return Y


# ---------------------------------------------------------------------------------------------
# Validation and conversion
# ---------------------------------------------------------------------------------------------

def class_count(y: np.ndarray, where: str) -> int:
    """``max + 1`` classes, refusing labels that skip classes (one output unit per class)."""
    n_classes = int(y.max()) + 1
    missing = np.flatnonzero(np.bincount(y, minlength=n_classes) == 0)
    if missing.size:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if missing.size > 5 else "")
        raise DataError(f"{where}: labels go from 0 to {n_classes - 1} but no sample has label "
                        f"{shown}; the network gets one output per class, so number the classes "
                        f"0..K-1 without gaps")
    return n_classes


def split_dataset(X, y, name, n_classes, image_shape, image_order, opts, *, input_scale=None,
                   notes=()) -> Dataset:
    """Split one set of samples into a stratified train/test Dataset."""
    if len(y) < 2:
        raise DataError(f"{name} holds {len(y)} sample; a single file is split into a training "
                        f"and a held-out test part, which needs at least 2 samples: add rows")
    X_train, y_train, X_test, y_test = train_val_split(X, y, opts.test_fraction, seed=opts.seed)
    return Dataset(X_train, y_train, X_test, y_test, name, n_classes, image_shape, image_order,
                   input_scale, tuple(notes))


def _stratified_counts(counts: np.ndarray, fraction: float) -> np.ndarray:
    """Return how many samples of each class go to the ``fraction`` side.

    Each class gets ``floor(fraction * count)``, at least 1 and at most ``count - 1`` when it
    has two or more samples; the remainder up to ``round(fraction * n)`` goes to the classes
    furthest below their exact share (largest-remainder apportionment).
    """
    n = int(counts.sum())
    target = min(max(math.floor(fraction * n + 0.5), 1), n - 1)
    quota = fraction * counts
    low, high = np.where(counts >= 2, 1, 0), np.where(counts >= 2, counts - 1, counts)
    n_b = np.clip(np.floor(quota).astype(np.int64), low, high)
    while (gap := target - int(n_b.sum())) != 0:
        step = 1 if gap > 0 else -1
        room = n_b < high if step > 0 else n_b > low
        if not room.any():
            break
        n_b[np.argmax(np.where(room, (quota - n_b) * step, -np.inf))] += step
    return n_b


def as_features(X, where: str, first_line: int | None = None) -> np.ndarray:
    """Check that X is a non-empty 2-D numeric array without NaN or Inf."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DataError(f"{where} has {X.dtype} values; features must be numbers")
    if X.ndim != 2 or 0 in X.shape:
        raise DataError(f"{where} has shape {X.shape}; features must be a non-empty 2-D array "
                        f"(n_samples, n_features)")
    bad = first_bad_row(X) if X.dtype.kind == "f" else None
    if bad is not None:
        raise DataError(f"{where} has NaN or infinite values (first at {_locate(bad, first_line)}); "
                        f"fill or drop those samples")
    return X


def first_bad_row(X: np.ndarray) -> int | None:
    """The first row of a 2-D float array with a NaN or Inf, or None; checked a few rows at
    a time, so the mask never costs more than a block's worth of memory."""
    block = max(1, (1 << 18) // max(1, X.shape[1]))
    for start in range(0, len(X), block):
        bad = ~np.isfinite(X[start:start + block]).all(axis=1)
        if bad.any():
            return start + int(np.argmax(bad))
    return None


def _as_float32(X: np.ndarray, where: str) -> np.ndarray:
    """Convert checked features to float32, refusing values beyond its range."""
    with np.errstate(over="ignore"):  # overflow is detected just below, with a clear message
        X32 = X.astype(np.float32, copy=False)
    if X32 is not X and X.dtype.kind == "f" and not np.isfinite(X32).all():
        raise DataError(f"X of the {where} has values beyond the float32 range (~3.4e38); "
                        f"scale the features first")
    return X32


#: Scales of pixel data; for these, values already in [0, 1] are taken as they are.
PIXEL_SCALES = ((0.0, 1.0), (0.0, 255.0))


def to_unit_range(X: np.ndarray, scale=None) -> tuple[np.ndarray, tuple[float, float]]:
    """Scale checked features into [0, 1] as float32; return them and the ``(low, high)`` used.

    Without ``scale`` (or with a pixel scale, :data:`PIXEL_SCALES`): values already in
    [0, 1] are kept, values in [0, 255] are taken as 8-bit pixels and divided by 255 (so
    every file agrees on what 1.0 means), anything else is min-max scaled over the whole
    array.  With another ``scale`` (what a model was trained with) it is applied as it is:
    ``(x - low) / (high - low)``.  float32 input is scaled in place.
    """
    if scale is not None and tuple(scale) not in PIXEL_SCALES:
        low, high = float(scale[0]), float(scale[1])
    else:
        low, high = float(X.min()), float(X.max())
        if 0 <= low and high <= 1:
            low, high = 0.0, 1.0
        elif 0 <= low and high <= 255:
            low, high = 0.0, 255.0
        elif high == low:
            high = low + 1.0  # one value everywhere: every feature becomes 0
    out = X if X.dtype == np.float32 else np.empty(X.shape, np.float32)
    # halve before subtracting: high - low can overflow float64, high/2 - low/2 cannot
    half_span = high / 2 - low / 2
    step = max(1, (1 << 16) // max(1, X.shape[1]))  # in float64, a few rows at a time
    for start in range(0, len(X), step):
        rows = X[start:start + step].astype(np.float64)
        if (low, high) != (0.0, 1.0):
            rows /= 2
            rows -= low / 2
            rows /= half_span
        out[start:start + len(rows)] = rows
    return out, (low, high)


def as_labels(y, where: str, n_classes: int | None = None,
               first_line: int | None = None) -> np.ndarray:
    """Check class labels and return them as int64.

    Labels must be whole numbers in ``[0, n_classes)``; when ``n_classes`` is None, below
    :data:`MAX_CLASSES` (it will be inferred as ``max + 1``).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{where} has shape {y.shape}; labels must be a 1-D array")
    if y.dtype.kind not in "iuf":
        raise DataError(f"{where} has {y.dtype} values; labels must be integer class indices")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.floor(y))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{where} has the non-integer label {y[i]} at "
                            f"{_locate(i, first_line)}; labels must be whole class indices")
    upper = MAX_CLASSES if n_classes is None else n_classes
    out_of_range = (y < 0) | (y >= upper)
    if out_of_range.any():
        i = int(np.argmax(out_of_range))
        limit = (f"labels must lie in [0, {n_classes})" if n_classes is not None else
                 f"labels must be class indices 0..k-1 with k at most {MAX_CLASSES}")
        raise DataError(f"{where} has the label {y[i]} at {_locate(i, first_line)}; {limit}")
    return y.astype(np.int64)


def _locate(index: int, first_line: int | None) -> str:
    """Name a row for an error message: a file line when known, else an array index."""
    return f"line {index + first_line}" if first_line is not None else f"index {index}"


def square_shape(n_features: int) -> tuple[int, int] | None:
    """Guess (side, side) for square images of at least 8x8 pixels, else None."""
    side = math.isqrt(n_features)
    return (side, side) if side >= 8 and side * side == n_features else None


def check_fraction(value, what: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1, else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < float(value) < 1:
        raise ConfigError(f"{what} must be a number strictly between 0 and 1, got {value!r}; "
                          f"pass e.g. 0.2")
    return float(value)


def _check_n_classes(value) -> int:
    """Return ``value`` as a positive int, else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"n_classes must be a positive integer, got {value!r}; pass e.g. 10")
    return int(value)


def _rng(seed) -> np.random.Generator:
    """Build the generator for a split, turning a bad seed into ConfigError."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}; pass e.g. "
                          f"seed=0") from exc
