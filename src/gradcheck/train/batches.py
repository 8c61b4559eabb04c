"""The training data as the loop sees it: checked arrays, the validation split,
and the loss/accuracy measured on them."""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from gradcheck.data.arrays import train_val_split
from gradcheck.errors import ConfigError, DataError
from gradcheck.train.optim import is_real

Array = np.ndarray

#: Training rows whose accuracy is measured after each epoch (evenly spaced, unaugmented).
TRAIN_METRIC_ROWS = 2000


# --- data ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingSet:
    X: Array              # (m, n_features), network dtype
    Y: Array              # (m, n_outputs), network dtype
    labels: Array | None  # (m,) class indices, or None for non-class targets


def as_training_set(net, X, y, where: str) -> TrainingSet:
    """Check and convert one set once: features to the network dtype, targets to rows."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf" or X.ndim != 2 or len(X) == 0:
        raise DataError(f"{where} X must be a non-empty 2-D numeric array (n_samples, "
                        f"n_features), got {X.dtype} of shape {X.shape}.")
    if X.shape[1] != net.sizes[0]:
        raise DataError(f"{where} X has {X.shape[1]} features but the network's input layer "
                        f"has {net.sizes[0]}; build the network with sizes[0] = {X.shape[1]}.")
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        Xc = X.astype(net.dtype, copy=False)
    if not all_finite(Xc):
        raise DataError(f"{where} X has NaN or infinite values (or values beyond "
                        f"{net.dtype.name}); fill or drop those samples.")
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise DataError(f"{where} has {len(X)} samples but {y.size if y.ndim else 'no'} targets; "
                        f"give one label per row of X.")
    Y = net.targets(y, len(X))
    if not np.isfinite(Y).all():
        raise DataError(f"{where} targets have NaN or infinite values; fix the labels.")
    return TrainingSet(Xc, Y, _class_labels(net, Y))


def all_finite(a: Array) -> bool:
    """Whether every value of the float array ``a`` is finite, fast for contiguous ones.

    A finite sum of squares means finite values: one BLAS dot reads the array once and
    allocates nothing (a quarter of ``sum()``'s time, half of ``isfinite(a).all()``'s, which
    also allocates a mask as large as ``a``).  Squares of finite values that overflow are
    rare; then, and for non-contiguous arrays, the exact test decides.
    """
    if a.flags.c_contiguous:
        flat = a.reshape(-1)
        with np.errstate(all="ignore"):
            if math.isfinite(np.dot(flat, flat)):
                return True
    return bool(np.isfinite(a).all())


def _class_labels(net, Y: Array) -> Array | None:
    """Class indices when the targets are one-hot rows (or 0/1 for one sigmoid unit)."""
    if Y.shape[1] == 1:
        binary = net.output.output_range == (0.0, 1.0) and np.isin(Y, (0, 1)).all()
        return Y[:, 0].astype(np.int64) if binary else None
    one_hot = np.isin(Y, (0, 1)).all() and (Y.sum(axis=1) == 1).all()
    return np.argmax(Y, axis=1) if one_hot else None


def predicted_labels(A: Array) -> Array:
    return (A[:, 0] > 0.5).astype(np.int64) if A.shape[1] == 1 else np.argmax(A, axis=1)


def split_validation(net, X, y, validation, seed) -> tuple[TrainingSet, TrainingSet | None]:
    """Training and validation sets from ``validation``: None, a fraction or (X_val, y_val)."""
    if validation is None or validation is False or (is_real(validation) and validation == 0):
        return as_training_set(net, X, y, "the training data"), None
    if isinstance(validation, (tuple, list)) and len(validation) == 2:
        X_val, y_val = validation
        return (as_training_set(net, X, y, "the training data"),
                as_training_set(net, X_val, y_val, "the validation data"))
    if not is_real(validation) or not 0 < validation < 1:
        raise ConfigError(f"validation must be None, a fraction in (0, 1) or (X_val, y_val), "
                          f"got {validation!r}.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError("validation as a fraction needs class labels (1-D y) to stratify; "
                          "pass validation=(X_val, Y_val) instead.")

    X_a, y_a, X_b, y_b = train_val_split(np.asarray(X), y, float(validation), seed=seed)
    return as_training_set(net, X_a, y_a, "the training data"), as_training_set(net, X_b, y_b, "the validation data")



def first_rows(data: TrainingSet, rows: int) -> TrainingSet:
    if len(data.X) <= rows:
        return data
    idx = np.linspace(0, len(data.X) - 1, rows).astype(np.int64)
    return TrainingSet(data.X[idx], data.Y[idx], None if data.labels is None else data.labels[idx])


def accuracy_of(net, data: TrainingSet, theta=None) -> float | None:
    """Accuracy of ``theta`` (default the network's) on a set; one forward pass."""
    if data.labels is None:
        return None
    with np.errstate(all="ignore"):
        A = net.forward(data.X, theta)
    return float(np.mean(predicted_labels(A) == data.labels))


def mean_loss(net, data: TrainingSet, theta=None) -> float:
    with np.errstate(all="ignore"):  # a diverging run is reported by the caller, not warned
        return float(net.loss_and_grad(data.X, data.Y, theta, need_grad=False)[0])


def data_fingerprint(*arrays) -> int:
    """CRC-32 of the data, so a checkpoint is only resumed on the data it was trained on."""
    crc = 0
    for a in arrays:
        crc = zlib.crc32(np.ascontiguousarray(a).view(np.uint8).ravel().data, crc)
    return crc
