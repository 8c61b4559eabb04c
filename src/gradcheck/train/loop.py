"""Training: minibatch and full-batch loops over a network's flat theta, and evaluation.

:func:`fit` trains a :class:`~gradcheck.nn.network.Network` in place and returns a
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
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradcheck.errors import ConfigError, NumericalError
from gradcheck.nn.kernel import BatchKernel
from gradcheck.nn.network import Network
from gradcheck.train.augment import Augment, make_augment
from gradcheck.train.batches import (
    TRAIN_METRIC_ROWS,
    TrainingSet,
    accuracy_of,
    all_finite,
    data_fingerprint,
    first_rows,
    mean_loss,
    split_validation,
)
from gradcheck.train.checkpoint import restore_checkpoint, write_checkpoint
from gradcheck.train.fullbatch import FullBatch
from gradcheck.train.history import EpochRecord, Event, History
from gradcheck.train.optim import FULL_BATCH_METHODS, Optimizer, get_optimizer, get_schedule, is_real

__all__ = ["fit"]

Array = np.ndarray


# --- settings -----------------------------------------------------------------------------

def _count(name: str, value, minimum: int = 1, none_ok: bool = False):
    if value is None and none_ok:
        return None
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= minimum):
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
    elif not (is_real(lr) and 0 < lr < math.inf):
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

    net: Network
    train: TrainingSet
    val: TrainingSet | None
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
    last_finite: Array = field(default_factory=lambda: np.empty(0))  # theta before the step
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
        Write a checkpoint every N epochs (atomically); one that cannot be written (a full
        disk) is a :class:`~gradcheck.errors.GradcheckWarning` and training goes on.
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
    batch_size = _count("batch_size", batch_size)
    rng = _generator(seed)
    if isinstance(seed, (int, np.integer)):  # the checkpoint header records it as JSON
        seed = int(seed)
    train, val = split_validation(net, X, y, validation, seed)
    if patience is not None and val is None:
        raise ConfigError("early_stopping watches the validation loss; pass validation= too.")
    method = FULL_BATCH_METHODS.get(optimizer.lower()) if isinstance(optimizer, str) else None
    if method is not None:
        _refuse_for_full_batch(lr, schedule, augment, checkpoint_every, resume, method)
        return FullBatch(net, train, val, method, epochs, patience, restore_best, callbacks).run()
    run = _new_run(net, train, val, rng, optimizer=optimizer, lr=lr, schedule=schedule,
                   epochs=epochs, batch_size=batch_size, patience=patience,
                   restore_best=bool(restore_best), augment=augment, seed=seed,
                   callbacks=callbacks, checkpoint_every=checkpoint_every,
                   checkpoint_path=checkpoint_path, fingerprint=resume is not None)
    if resume is not None:
        restore_checkpoint(run, resume)
    return _train(run)


def _generator(seed) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise ConfigError(f"seed must be a non-negative integer or None, got {seed!r}.") from None


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
        settings["data_crc32"] = data_fingerprint(*parts)
    return _Run(net, train, val, opt, rng, augment, epochs, batch_size, patience, restore_best,
                callbacks, every, checkpoint_path, settings, History(method=type(opt).__name__),
                last_finite=net.theta.copy())


def _train(run: _Run) -> History:
    """The epoch loop; Ctrl-C ends it after the current batch."""
    probe = first_rows(run.train, TRAIN_METRIC_ROWS)
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


def _run_epoch(run: _Run, probe: TrainingSet) -> None:
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
    if not all_finite(theta):
        raise _diverged(run, batch, "the update overflowed the weights" if all_finite(grad)
                        else "the gradient overflowed")
    return J


def _loss_and_grad(run: _Run, X: Array, Y: Array) -> tuple[float, Array]:
    """The batch cost and gradient: by a preallocated kernel for a plain Network."""
    if type(run.net).loss_and_grad is not Network.loss_and_grad:  # a subclass computes its own
        J, grad = run.net.loss_and_grad(X, Y)
        assert grad is not None  # need_grad=True returns one
        return J, grad
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


def _end_epoch(run: _Run, train_loss: float, lr: float, start: float, probe: TrainingSet) -> None:
    """Measure, record, keep the best weights, checkpoint, tell the callbacks."""
    val_loss = val_acc = None
    if run.val is not None:
        val_loss, val_acc = mean_loss(run.net, run.val), accuracy_of(run.net, run.val)
    record = EpochRecord(run.epoch + 1, train_loss, accuracy_of(run.net, probe), val_loss, val_acc,
                         lr, time.perf_counter() - start)
    run.history.records.append(record)
    run.epoch += 1
    if val_loss is not None and val_loss < run.best_loss:  # NaN compares False: never best
        run.best_loss, run.history.best_epoch = val_loss, run.epoch
        if run.restore_best:
            run.best_theta = run.net.theta.copy()
    if run.checkpoint_every and run.epoch % run.checkpoint_every == 0 and run.epoch < run.epochs:
        write_checkpoint(run)
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
