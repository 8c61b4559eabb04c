"""Training: minibatch and full-batch loops over a network's flat theta, and evaluation.

:func:`fit` trains a :class:`~gradcheck.network.Network` in place and returns a
:class:`History`.  It never prints: progress goes to ``callbacks``, each called with an
:class:`Event` (``"train_begin"``, ``"batch_end"``, ``"epoch_end"``, ``"train_end"``).

Guarantees:

* the data are converted to the network's dtype once; minibatches are slices of a seeded
  permutation drawn from one ``np.random.default_rng(seed)``, which also drives
  augmentation, so a run is a function of its arguments;
* a NaN or infinite loss or gradient stops training with a
  :class:`~gradcheck.errors.NumericalError` naming the likely cause, after putting back
  the last finite weights (the exception carries ``.history``);
* Ctrl-C (or a callback raising KeyboardInterrupt) stops after the current batch and
  returns normally, with ``history.interrupted = True``;
* ``checkpoint_every=N`` writes theta, the optimizer state, the generator state and the
  history every N epochs; ``resume=`` continues bit for bit as if never stopped.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import signal
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from .errors import ConfigError, DataError, ModelFileError, NumericalError
from .kernel import BatchKernel
from .network import Network
from .optim import Optimizer, get_optimizer, get_schedule, minimize

__all__ = ["fit", "History", "EpochRecord", "Event", "Augment", "make_augment", "evaluate",
           "Evaluation", "FULL_BATCH_METHODS"]

Array = np.ndarray

#: Optimizer names that run scipy on the whole training set; ``epochs`` is their maxiter.
FULL_BATCH_METHODS = {"cg": "CG", "lbfgs": "L-BFGS-B", "l-bfgs-b": "L-BFGS-B"}
#: Training rows whose accuracy is measured after each epoch (evenly spaced, unaugmented).
TRAIN_METRIC_ROWS = 2000


# --- what fit returns -------------------------------------------------------------------

@dataclass(frozen=True)
class EpochRecord:
    """Metrics after one epoch (or one full-batch iteration), numbered from 1.

    ``train_loss`` is the mean of the minibatch costs J seen during the epoch (what the
    optimizer minimised, augmentation included); ``train_accuracy`` is measured after the
    epoch on up to :data:`TRAIN_METRIC_ROWS` unaugmented training rows; the validation
    numbers use the whole validation set.  Accuracies are None for non-class targets.
    """

    epoch: int
    train_loss: float
    train_accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    lr: float | None
    seconds: float


@dataclass
class History:
    """Per-epoch records plus how the run ended.

    ``best_epoch`` is the epoch with the lowest validation loss (None without validation);
    ``history["val_loss"]`` gives one column as a list.
    """

    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    interrupted: bool = False
    stopped_early: bool = False
    method: str = ""

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, column: str) -> list:
        if column not in EpochRecord.__dataclass_fields__:
            raise KeyError(f"no column {column!r}; use one of {', '.join(EpochRecord.__dataclass_fields__)}")
        return [getattr(r, column) for r in self.records]

    def to_dict(self) -> dict:
        """JSON-ready: ``{"epochs": [record, ...], "best_epoch", "interrupted", ...}``."""
        return {"epochs": [asdict(r) for r in self.records], "best_epoch": self.best_epoch,
                "interrupted": self.interrupted, "stopped_early": self.stopped_early,
                "method": self.method}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """Inverse of :meth:`to_dict`."""
        return cls([EpochRecord(**r) for r in d["epochs"]], d["best_epoch"], d["interrupted"],
                   d["stopped_early"], d["method"])


@dataclass(frozen=True)
class Event:
    """What a callback receives.

    ``kind`` is ``"train_begin"``, ``"batch_end"`` (``loss`` is the running mean of the
    epoch's batch costs), ``"epoch_end"`` (``record`` is set) or ``"train_end"``.
    """

    kind: str
    epoch: int
    epochs: int
    batch: int = 0
    batches: int = 0
    loss: float | None = None
    lr: float | None = None
    record: EpochRecord | None = None
    history: History | None = None


# --- augmentation -------------------------------------------------------------------------

@dataclass(frozen=True)
class Augment:
    """Random shifts and rotations of image rows, drawn independently for every sample.

    Parameters
    ----------
    image_shape : (int, int)
        ``(height, width)`` of a row seen row-major (``X[i].reshape(image_shape)``).
    shift : int
        Largest shift in pixels, along each axis (uniform over ``-shift..shift``).
    rotate : float
        Largest rotation in degrees (uniform in ``[-rotate, rotate]``); 0 for none.
    """

    image_shape: tuple[int, int]
    shift: int = 2
    rotate: float = 0.0

    def __post_init__(self):
        shape = tuple(self.image_shape) if isinstance(self.image_shape, (tuple, list)) else ()
        if len(shape) != 2 or not all(isinstance(d, numbers.Integral) and d > 0 for d in shape):
            raise ConfigError(f"Augment image_shape must be (height, width), got {self.image_shape!r}.")
        object.__setattr__(self, "image_shape", tuple(int(d) for d in shape))
        if not isinstance(self.shift, numbers.Integral) or not 0 <= self.shift < min(shape):
            raise ConfigError(f"Augment shift must be an integer in [0, {min(shape)}), got {self.shift!r}.")
        if not isinstance(self.rotate, numbers.Real) or not 0 <= self.rotate <= 180:
            raise ConfigError(f"Augment rotate must be degrees in [0, 180], got {self.rotate!r}.")

    def __call__(self, X: Array, rng: np.random.Generator) -> Array:
        """Return augmented copies of the rows of ``X`` (n, h*w), same dtype."""
        h, w = self.image_shape
        images = X.reshape(len(X), h, w)
        dy, dx = (rng.integers(-self.shift, self.shift + 1, len(X)) for _ in range(2))
        if self.rotate:
            angles = np.deg2rad(rng.uniform(-self.rotate, self.rotate, len(X)))
            return _rotate_shift(images, dy, dx, angles).reshape(X.shape)
        return _shift(images, dy, dx, self.shift).reshape(X.shape)


def _shift(images: Array, dy: Array, dx: Array, s: int) -> Array:
    """Shift each image by whole pixels (``dy[i]`` down, ``dx[i]`` right), zero-filled."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2 * s, w + 2 * s), images.dtype)
    padded[:, s:s + h, s:s + w] = images
    # one gather for the batch: output pixel (r, c) reads padded pixel (r + s - dy, c + s - dx)
    rows = np.arange(h)[None, :] + s - dy[:, None]
    cols = np.arange(w)[None, :] + s - dx[:, None]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _rotate_shift(images: Array, dy: Array, dx: Array, angles: Array) -> Array:
    """Rotate each image about its centre by ``angles[i]`` radians, then shift; bilinear."""
    from scipy.ndimage import map_coordinates

    n, h, w = images.shape
    r, c = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    r = r[None] - dy[:, None, None]
    c = c[None] - dx[:, None, None]
    # inverse mapping: the source of each output pixel, rotated back by -angle
    src_r = cos * r - sin * c + (h - 1) / 2
    src_c = sin * r + cos * c + (w - 1) / 2
    index = np.broadcast_to(np.arange(n, dtype=float)[:, None, None], src_r.shape)
    out = map_coordinates(images, [index, src_r, src_c], order=1, mode="constant", cval=0.0)
    return out.astype(images.dtype, copy=False)


def make_augment(spec, n_features: int, image_shape=None):
    """Build the augmentation ``fit`` uses from ``None``, a name, an Augment or a callable.

    Names: ``"shift"`` (up to 2 pixels), ``"rotate"`` (shifts and up to 10 degrees).
    ``image_shape`` defaults to a square of ``n_features`` pixels.
    """
    if spec is None or spec is False or isinstance(spec, Augment) or (callable(spec) and not isinstance(spec, str)):
        return spec or None
    if spec not in ("shift", "rotate"):
        raise ConfigError(f"augment must be None, 'shift', 'rotate', an Augment or a function "
                          f"(X, rng) -> X, got {spec!r}.")
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ConfigError(f"augment={spec!r} needs images, but {n_features} features are not "
                              f"a square image; pass augment=Augment(image_shape=(h, w)).")
        image_shape = (side, side)
    return Augment(tuple(image_shape), shift=2, rotate=10.0 if spec == "rotate" else 0.0)


# --- data ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Data:
    X: Array              # (m, n_features), network dtype
    Y: Array              # (m, n_outputs), network dtype
    labels: Array | None  # (m,) class indices, or None for non-class targets


def _as_data(net, X, y, where: str) -> _Data:
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
    if not _all_finite(Xc):
        raise DataError(f"{where} X has NaN or infinite values (or values beyond "
                        f"{net.dtype.name}); fill or drop those samples.")
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise DataError(f"{where} has {len(X)} samples but {y.size if y.ndim else 'no'} targets; "
                        f"give one label per row of X.")
    Y = net.targets(y, len(X))
    if not np.isfinite(Y).all():
        raise DataError(f"{where} targets have NaN or infinite values; fix the labels.")
    return _Data(Xc, Y, _class_labels(net, Y))


def _all_finite(a: Array) -> bool:
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


def _predicted_labels(A: Array) -> Array:
    return (A[:, 0] > 0.5).astype(np.int64) if A.shape[1] == 1 else np.argmax(A, axis=1)


def _split(net, X, y, validation, seed) -> tuple[_Data, _Data | None]:
    """Training and validation sets from ``validation``: None, a fraction or (X_val, y_val)."""
    if validation is None or validation is False or (_is_number(validation) and validation == 0):
        return _as_data(net, X, y, "the training data"), None
    if isinstance(validation, (tuple, list)) and len(validation) == 2:
        return (_as_data(net, X, y, "the training data"),
                _as_data(net, *validation, "the validation data"))
    if not _is_number(validation) or not 0 < validation < 1:
        raise ConfigError(f"validation must be None, a fraction in (0, 1) or (X_val, y_val), "
                          f"got {validation!r}.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError("validation as a fraction needs class labels (1-D y) to stratify; "
                          "pass validation=(X_val, Y_val) instead.")
    from .data import train_val_split

    X_a, y_a, X_b, y_b = train_val_split(np.asarray(X), y, float(validation), seed=seed)
    return _as_data(net, X_a, y_a, "the training data"), _as_data(net, X_b, y_b, "the validation data")


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _metrics(net, data: _Data, theta=None) -> tuple[float, float | None]:
    """Cost J and accuracy of ``theta`` (default the network's) on a whole set."""
    with np.errstate(all="ignore"):  # a diverging run is reported by the caller, not warned
        J = net.loss_and_grad(data.X, data.Y, theta, need_grad=False)[0]
        if data.labels is None:
            return float(J), None
        A = net.forward(data.X, theta)
    return float(J), float(np.mean(_predicted_labels(A) == data.labels))


def _subset(data: _Data, rows: int) -> _Data:
    if len(data.X) <= rows:
        return data
    idx = np.linspace(0, len(data.X) - 1, rows).astype(np.int64)
    return _Data(data.X[idx], data.Y[idx], None if data.labels is None else data.labels[idx])


def _accuracy(net, data: _Data, theta=None) -> float | None:
    """Accuracy of ``theta`` (default the network's) on a set; one forward pass."""
    if data.labels is None:
        return None
    with np.errstate(all="ignore"):
        A = net.forward(data.X, theta)
    return float(np.mean(_predicted_labels(A) == data.labels))


def _loss(net, data: _Data, theta=None) -> float:
    with np.errstate(all="ignore"):  # a diverging run is reported by the caller, not warned
        return float(net.loss_and_grad(data.X, data.Y, theta, need_grad=False)[0])


def _fingerprint(*arrays) -> int:
    """CRC-32 of the data, so a checkpoint is only resumed on the data it was trained on."""
    crc = 0
    for a in arrays:
        crc = zlib.crc32(np.ascontiguousarray(a).view(np.uint8).ravel(), crc)
    return crc


# --- settings -----------------------------------------------------------------------------

def _count(name: str, value, minimum: int = 1, none_ok: bool = False):
    if value is None and none_ok:
        return None
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum):
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _make_optimizer(optimizer, lr, schedule, total_steps: int) -> Optimizer:
    """The optimizer object: passed through, or built by name with lr and a schedule."""
    if isinstance(optimizer, Optimizer):
        if lr is not None or schedule is not None:
            raise ConfigError("fit got an optimizer object and lr or schedule as well; give the "
                              "learning rate and schedule to the optimizer you built.")
        return optimizer
    if lr is None:
        lr = get_optimizer(optimizer).lr  # the optimizer's own default rate
    elif not (_is_number(lr) and 0 < lr < math.inf):
        raise ConfigError(f"lr (the learning rate) must be a finite number > 0, got {lr!r}; "
                          f"try 1e-3 for adam or 0.1 for sgd.")
    lr = float(lr)
    return get_optimizer(optimizer, lr=lr, schedule=_make_schedule(schedule, lr, total_steps))


def _make_schedule(schedule, lr: float, total_steps: int):
    """None means cosine decay over the whole run; 'constant' means none; objects pass."""
    if callable(schedule) and not isinstance(schedule, str):
        return schedule
    name = "cosine" if schedule is None else str(schedule).lower()
    if name == "constant":
        return None
    if name == "cosine":
        return get_schedule("cosine", lr, total_steps=total_steps)
    if name == "step":  # a tenth of the rate after each third of the run
        return get_schedule("step", lr, step_size=max(1, total_steps // 3))
    return get_schedule(name, lr)  # unknown names raise, with the nearest suggested


def _check_callbacks(callbacks) -> tuple:
    callbacks = (callbacks,) if callable(callbacks) else tuple(callbacks or ())
    for cb in callbacks:
        if not callable(cb):
            raise ConfigError(f"callbacks must be functions taking an Event, got {cb!r}.")
    return callbacks


def _describe(augment) -> str | None:
    """A description of the augmentation that is stable across processes (for checkpoints)."""
    if augment is None or isinstance(augment, Augment):
        return None if augment is None else repr(augment)
    return getattr(augment, "__qualname__", type(augment).__qualname__)


# --- the minibatch run ----------------------------------------------------------------------

@dataclass(eq=False)
class _Run:
    """Everything a minibatch run carries from epoch to epoch (and a checkpoint saves)."""

    net: object
    train: _Data
    val: _Data | None
    optimizer: Optimizer
    rng: np.random.Generator
    augment: Callable | None
    epochs: int
    batch_size: int
    patience: int | None
    restore_best: bool
    callbacks: tuple
    checkpoint_every: int | None
    checkpoint_path: object
    settings: dict
    history: History
    epoch: int = 0
    best_loss: float = math.inf
    best_theta: Array | None = None
    last_finite: Array | None = None
    stop_requested: bool = False
    kernels: dict = field(default_factory=dict)  # batch size -> BatchKernel

    @property
    def batches(self) -> int:
        return -(-len(self.train.X) // self.batch_size)

    def emit(self, kind: str, epoch: int | None = None, **fields) -> None:
        event = Event(kind, self.epoch if epoch is None else epoch, self.epochs, **fields)
        for callback in self.callbacks:
            callback(event)


def fit(net, X, y, *, optimizer="adam", lr=None, schedule=None, epochs=30, batch_size=128,
        validation=None, early_stopping=None, restore_best=True, augment=None, seed=0,
        callbacks=(), checkpoint_every=None, checkpoint_path=None, resume=None) -> History:
    """Train ``net`` in place on ``X``, ``y``; return the :class:`History`.

    Parameters
    ----------
    net : Network
    X : array-like, shape (n_samples, sizes[0])
    y : array-like, shape (n_samples,) class indices, or (n_samples, sizes[-1]) targets
    optimizer : str or Optimizer
        ``"adam"``, ``"sgd"``, ``"momentum"``, ``"nesterov"`` or an optimizer object; or a
        full-batch method ``"cg"`` / ``"lbfgs"`` (scipy on the whole set, ``epochs`` being
        its iteration limit; ``batch_size``, ``schedule`` and ``augment`` do not apply).
    lr : float, optional
        Learning rate; default the optimizer's own (1e-3 for Adam).
    schedule : None, "cosine", "step", "constant" or a schedule object
        None means cosine decay from ``lr`` to 0 over all ``epochs``.
    epochs, batch_size : int
    validation : None, float in (0, 1) or (X_val, y_val)
        A fraction is split off ``X`` (stratified, seeded by ``seed``).
    early_stopping : int or None
        Stop after this many epochs without a lower validation loss.
    restore_best : bool
        At the end, put back the weights of the epoch with the lowest validation loss.
    augment : None, "shift", "rotate", Augment or callable ``(X_batch, rng) -> X_batch``
    seed : int
        Seeds the one generator behind the validation split, batches and augmentation.
    callbacks : sequence of callables taking an :class:`Event`
    checkpoint_every, checkpoint_path : int, path
        Write a checkpoint every N epochs (atomically).
    resume : path, optional
        A checkpoint of this same run (same network, data and arguments) to continue.

    Raises
    ------
    NumericalError
        The loss or gradient became NaN/Inf; ``net`` holds the last finite weights and
        the exception's ``history`` the epochs done.
    ConfigError, DataError, ModelFileError
        Bad arguments, data, or checkpoint.
    """
    epochs, callbacks = _count("epochs", epochs), _check_callbacks(callbacks)
    patience = _count("early_stopping", early_stopping, none_ok=True)
    _count("batch_size", batch_size)
    rng = _generator(seed)
    train, val = _split(net, X, y, validation, seed)
    if patience is not None and val is None:
        raise ConfigError("early_stopping watches the validation loss; pass validation= too.")
    method = FULL_BATCH_METHODS.get(optimizer.lower()) if isinstance(optimizer, str) else None
    if method is not None:
        _refuse_for_full_batch(lr, schedule, augment, checkpoint_every, resume, method)
        return _FullBatch(net, train, val, method, epochs, patience, restore_best, callbacks).run()
    run = _new_run(net, train, val, rng, optimizer=optimizer, lr=lr, schedule=schedule,
                   epochs=epochs, batch_size=batch_size, patience=patience,
                   restore_best=bool(restore_best), augment=augment, seed=seed,
                   callbacks=callbacks, checkpoint_every=checkpoint_every,
                   checkpoint_path=checkpoint_path, fingerprint=resume is not None)
    if resume is not None:
        _restore(run, resume)
    return _train(run)


def _generator(seed) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise ConfigError(f"seed must be a non-negative integer or None, got {seed!r}.")


def _refuse_for_full_batch(lr, schedule, augment, checkpoint_every, resume, method) -> None:
    for name, value in (("lr", lr), ("schedule", schedule), ("augment", augment),
                        ("checkpoint_every", checkpoint_every), ("resume", resume)):
        if value is not None:
            raise ConfigError(f"{name} does not apply to the full-batch method {method}; drop "
                              f"it, or use a minibatch optimizer such as 'adam'.")


def _new_run(net, train, val, rng, *, optimizer, lr, schedule, epochs, batch_size, patience,
             restore_best, augment, seed, callbacks, checkpoint_every, checkpoint_path,
             fingerprint) -> _Run:
    """Build the run: optimizer, augmentation, checkpoint settings, and their fingerprint."""
    every = _count("checkpoint_every", checkpoint_every, none_ok=True)
    if every is not None and checkpoint_path is None:
        raise ConfigError("checkpoint_every needs checkpoint_path, the file to write.")
    batches = -(-len(train.X) // batch_size)
    opt = _make_optimizer(optimizer, lr, schedule, epochs * batches)
    augment = make_augment(augment, net.sizes[0])
    settings = {"epochs": epochs, "batch_size": batch_size, "seed": seed, "optimizer": repr(opt),
                "augment": _describe(augment), "early_stopping": patience,
                "restore_best": restore_best, "n_train": len(train.X),
                "n_val": 0 if val is None else len(val.X)}
    if every is not None or fingerprint:
        parts = [train.X, train.Y] + ([] if val is None else [val.X, val.Y])
        settings["data_crc32"] = _fingerprint(*parts)
    return _Run(net, train, val, opt, rng, augment, epochs, batch_size, patience, restore_best,
                callbacks, every, checkpoint_path, settings, History(method=type(opt).__name__),
                last_finite=net.theta.copy())


def _train(run: _Run) -> History:
    """The epoch loop; Ctrl-C ends it after the current batch."""
    probe = _subset(run.train, TRAIN_METRIC_ROWS)
    run.emit("train_begin", batches=run.batches, lr=run.optimizer.lr)
    with _sigint_sets_flag(run):
        try:
            while run.epoch < run.epochs and not _early_stop_due(run):
                _run_epoch(run, probe)
        except KeyboardInterrupt:
            run.history.interrupted = True
    if not run.history.interrupted:
        _restore_best(run)
    run.emit("train_end", history=run.history)
    return run.history


def _run_epoch(run: _Run, probe: _Data) -> None:
    start, lr = time.perf_counter(), run.optimizer.lr
    n, bs = len(run.train.X), run.batch_size
    order = run.rng.permutation(n)
    total = 0.0
    for b in range(run.batches):
        idx = order[b * bs:(b + 1) * bs]
        total += _train_step(run, idx, b) * len(idx)
        if run.callbacks:
            run.emit("batch_end", run.epoch + 1, batch=b + 1, batches=run.batches,
                     loss=total / min(n, (b + 1) * bs), lr=run.optimizer.lr)
        if run.stop_requested:
            raise KeyboardInterrupt
    _end_epoch(run, total / n, lr, start, probe)


def _train_step(run: _Run, idx: Array, batch: int) -> float:
    """One update on the rows ``idx``; returns the batch cost J."""
    X_batch = run.train.X[idx]
    if run.augment is not None:
        X_batch = run.augment(X_batch, run.rng)
    theta = run.net.theta
    with np.errstate(all="ignore"):  # non-finite results are caught below and explained
        J, grad = _loss_and_grad(run, X_batch, run.train.Y[idx])
    if not math.isfinite(J):
        raise _diverged(run, batch, f"the loss became {J}")
    np.copyto(run.last_finite, theta)
    try:
        with np.errstate(all="ignore"):
            run.optimizer.step(theta, grad)
    except KeyboardInterrupt:
        np.copyto(theta, run.last_finite)  # a step cut short would leave theta half-updated
        raise
    # the weights after the step, not only the gradient: a finite gradient times a huge rate
    # overflows too, and the last step of a run would otherwise hand on infinite weights
    if not _all_finite(theta):
        raise _diverged(run, batch, "the update overflowed the weights" if _all_finite(grad)
                        else "the gradient overflowed")
    return J


def _loss_and_grad(run: _Run, X: Array, Y: Array) -> tuple[float, Array]:
    """The batch cost and gradient: by a preallocated kernel for a plain Network."""
    if type(run.net).loss_and_grad is not Network.loss_and_grad:  # a subclass computes its own
        return run.net.loss_and_grad(X, Y)
    kernel = run.kernels.get(len(X))
    if kernel is None or kernel.net is not run.net:
        kernel = run.kernels[len(X)] = BatchKernel(run.net, len(X))
    return kernel.loss_and_grad(X, Y)


def _diverged(run: _Run, batch: int, what: str) -> NumericalError:
    """Put back the last finite weights and explain: the rate is the usual culprit."""
    np.copyto(run.net.theta, run.last_finite)
    # the base rate, not the scheduled one of this step: it is the number the user chose
    lr = getattr(run.optimizer.schedule, "lr", None) or run.optimizer.lr
    error = NumericalError(
        f"training diverged in epoch {run.epoch + 1}, batch {batch + 1}: {what}; the learning "
        f"rate {lr:g} is probably too large, try {lr / 10:g} (the last finite weights were kept).")
    error.history = run.history
    return error


def _end_epoch(run: _Run, train_loss: float, lr: float, start: float, probe: _Data) -> None:
    """Measure, record, keep the best weights, checkpoint, tell the callbacks."""
    val_loss = val_acc = None
    if run.val is not None:
        val_loss, val_acc = _loss(run.net, run.val), _accuracy(run.net, run.val)
    record = EpochRecord(run.epoch + 1, train_loss, _accuracy(run.net, probe), val_loss, val_acc,
                         lr, time.perf_counter() - start)
    run.history.records.append(record)
    run.epoch += 1
    if val_loss is not None and val_loss < run.best_loss:  # NaN compares False: never best
        run.best_loss, run.history.best_epoch = val_loss, run.epoch
        if run.restore_best:
            run.best_theta = run.net.theta.copy()
    if run.checkpoint_every and run.epoch % run.checkpoint_every == 0 and run.epoch < run.epochs:
        _write_checkpoint(run)
    run.emit("epoch_end", record=record)


def _early_stop_due(run: _Run) -> bool:
    """Checked before each epoch, so a resumed run stops exactly where the original would."""
    best = run.history.best_epoch
    if run.patience is None or best is None or run.epoch - best < run.patience:
        return False
    run.history.stopped_early = True
    return True


def _restore_best(run: _Run) -> None:
    if run.best_theta is not None and run.history.best_epoch != run.epoch:
        np.copyto(run.net.theta, run.best_theta)


@contextlib.contextmanager
def _sigint_sets_flag(run: _Run):
    """While training, a first Ctrl-C asks the loop to stop after the batch; a second stops now."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def handler(signum, frame):
        if run.stop_requested:
            raise KeyboardInterrupt
        run.stop_requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


# --- checkpoints ----------------------------------------------------------------------------

def _write_checkpoint(run: _Run) -> None:
    """Theta, optimizer state, generator state, best weights and history, atomically."""
    from .persist import CHECKPOINT_FORMAT, model_header, write_archive

    state = run.optimizer.state_dict()
    arrays = {"theta": run.net.theta}
    arrays.update((f"optimizer.{k}", v) for k, v in state.items() if isinstance(v, np.ndarray))
    if run.best_theta is not None:
        arrays["best_theta"] = run.best_theta
    header = {**model_header(run.net), "format": CHECKPOINT_FORMAT, "epoch": run.epoch,
              "settings": run.settings, "rng": run.rng.bit_generator.state,
              "optimizer": {k: v for k, v in state.items() if not isinstance(v, np.ndarray)},
              "best_loss": run.best_loss if math.isfinite(run.best_loss) else None,
              "history": run.history.to_dict(), "arrays": sorted(arrays)}
    write_archive(run.checkpoint_path, header, arrays)


def _checkpoint_arrays(header: dict) -> dict:
    names = header.get("arrays")
    if not isinstance(names, list) or "theta" not in names or not all(isinstance(n, str) for n in names):
        raise ModelFileError("the checkpoint's list of arrays is missing or damaged; it cannot "
                             "be resumed.")
    return {name: header.get("dtype") for name in names}


def _restore(run: _Run, path) -> None:
    """Load a checkpoint of this same run into ``run``; refuse one of another run."""
    from .persist import CHECKPOINT_FORMAT, model_header, read_archive

    header, arrays = read_archive(path, CHECKPOINT_FORMAT, _checkpoint_arrays)
    mine = {k: v for k, v in model_header(run.net).items() if k in run.net.config()}
    saved = {k: header.get(k) for k in mine}
    if saved != mine:
        raise ModelFileError(f"{path} was written for the network {saved} but this one is "
                             f"{mine}; resume with the same network.")
    settings = header.get("settings") if isinstance(header.get("settings"), dict) else {}
    for key, value in run.settings.items():
        if settings.get(key) != value:
            raise ConfigError(f"{path} was written with {key}={settings.get(key)!r} but this run "
                              f"has {key}={value!r}; resume with the same data and settings.")
    try:
        _load_state(run, header, arrays)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path} has a damaged training state ({type(exc).__name__}: "
                             f"{exc}); start again without resume.")


def _load_state(run: _Run, header: dict, arrays: dict) -> None:
    epoch = header["epoch"]
    if not isinstance(epoch, int) or not 0 <= epoch <= run.epochs:
        raise ValueError(f"epoch {epoch!r} is outside 0..{run.epochs}")
    opt_state = dict(header["optimizer"])
    opt_state.update((k.split(".", 1)[1], v) for k, v in arrays.items() if k.startswith("optimizer."))
    run.optimizer.load_state_dict(opt_state)
    run.rng.bit_generator.state = header["rng"]
    run.history = History.from_dict(header["history"])
    if len(run.history) != epoch:
        raise ValueError(f"the history has {len(run.history)} epochs, not {epoch}")
    best = header["best_loss"]
    run.best_loss = math.inf if best is None else float(best)
    run.best_theta = arrays.get("best_theta")
    run.net.theta[...] = arrays["theta"]
    np.copyto(run.last_finite, run.net.theta)
    run.epoch = epoch


# --- full-batch methods -------------------------------------------------------------------

class _EarlyStop(Exception):
    """Raised from the scipy callback to end a full-batch run early."""


class _FullBatch:
    """scipy CG / L-BFGS-B on the whole training set, one history record per iteration."""

    def __init__(self, net, train, val, method, maxiter, patience, restore_best, callbacks):
        self.net, self.train, self.val, self.method = net, train, val, method
        self.maxiter, self.patience, self.restore_best = maxiter, patience, bool(restore_best)
        self.callbacks, self.history = callbacks, History(method=method)
        self.last, self.best, self.best_loss = net.theta.copy(), None, math.inf
        self.cache, self.clock = (None, None), time.perf_counter()
        self.probe = _subset(train, TRAIN_METRIC_ROWS)

    def emit(self, kind, **fields) -> None:
        event = Event(kind, len(self.history), self.maxiter, **fields)
        for callback in self.callbacks:
            callback(event)

    def fun(self, theta) -> tuple[float, Array]:
        with np.errstate(all="ignore"):  # non-finite results are caught below and explained
            J, grad = self.net.loss_and_grad(self.train.X, self.train.Y, theta)
        if not (math.isfinite(J) and np.isfinite(grad).all()):
            error = NumericalError(
                f"{self.method} diverged in iteration {len(self.history) + 1}: the loss became "
                f"{J}; features with extreme values or a huge l2 are the usual cause, scale the "
                f"data (the last finite weights were kept).")
            error.history = self.history
            raise error
        self.cache = (theta, J)
        return J, grad

    def callback(self, theta) -> None:
        cached, J = self.cache
        if cached is None or not np.array_equal(cached, theta):
            J = _loss(self.net, self.train, theta)
        val_loss = val_acc = None
        if self.val is not None:
            val_loss, val_acc = _loss(self.net, self.val, theta), _accuracy(self.net, self.val, theta)
        now = time.perf_counter()
        record = EpochRecord(len(self.history) + 1, J, _accuracy(self.net, self.probe, theta),
                             val_loss, val_acc, None, now - self.clock)
        self.clock = now
        self.history.records.append(record)
        self.last[...] = theta
        self._track_best(val_loss, theta)
        self.emit("epoch_end", record=record)
        best = self.history.best_epoch
        if self.patience is not None and best is not None and len(self.history) - best >= self.patience:
            raise _EarlyStop

    def _track_best(self, val_loss, theta) -> None:
        if val_loss is not None and val_loss < self.best_loss:
            self.best_loss, self.history.best_epoch = val_loss, len(self.history)
            self.best = theta.copy()

    def run(self) -> History:
        self.emit("train_begin", batches=1)
        try:
            minimize(self.fun, self.net.theta, method=self.method, maxiter=self.maxiter,
                     callback=self.callback)
        except _EarlyStop:
            self.history.stopped_early = True
            self.net.theta[...] = self.last
        except (NumericalError, KeyboardInterrupt) as exc:
            self.net.theta[...] = self.last  # minimize writes theta only when it returns
            if isinstance(exc, NumericalError):
                raise
            self.history.interrupted = True
        if self.restore_best and self.best is not None and not self.history.interrupted:
            self.net.theta[...] = self.best
        self.emit("train_end", history=self.history)
        return self.history


# --- evaluation -----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Evaluation:
    """Classification metrics of a network on a labelled set.

    ``confusion[i, j]`` counts samples of true class ``i`` predicted as ``j``; precision
    and recall are per class, 0 where a class is never predicted or never present.
    """

    accuracy: float
    loss: float
    confusion: Array
    labels: tuple

    @property
    def n_samples(self) -> int:
        return int(self.confusion.sum())

    @property
    def precision(self) -> Array:
        predicted = self.confusion.sum(axis=0)
        return np.divide(np.diag(self.confusion), predicted, out=np.zeros(len(predicted)),
                         where=predicted > 0)

    @property
    def recall(self) -> Array:
        present = self.confusion.sum(axis=1)
        return np.divide(np.diag(self.confusion), present, out=np.zeros(len(present)),
                         where=present > 0)

    def to_dict(self) -> dict:
        """JSON-ready metrics, per-class lists in class order."""
        return {"accuracy": self.accuracy, "loss": self.loss, "n_samples": self.n_samples,
                "labels": list(self.labels), "precision": self.precision.tolist(),
                "recall": self.recall.tolist(), "confusion": self.confusion.tolist()}


def evaluate(net, X, y, labels=None) -> Evaluation:
    """Accuracy, cost, per-class precision/recall and confusion matrix of ``net`` on X, y.

    Parameters
    ----------
    net : Network
    X : array-like, shape (n_samples, sizes[0])
    y : array-like, shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    labels : sequence of str, optional
        Class names; default "0", "1", ...
    """
    data = _as_data(net, X, y, "the evaluation data")
    if data.labels is None:
        raise ConfigError("evaluate reports classification metrics; give class labels for a "
                          "softmax (or single sigmoid) network.")
    with np.errstate(all="ignore"):
        A = net.forward(data.X)
    predicted = _predicted_labels(A)
    k = max(2, net.sizes[-1])
    confusion = np.bincount(data.labels * k + predicted, minlength=k * k).reshape(k, k)
    names = tuple(labels) if labels is not None else tuple(str(i) for i in range(k))
    return Evaluation(float(np.mean(predicted == data.labels)), _loss(net, data), confusion, names)
