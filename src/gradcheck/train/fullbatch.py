"""Full-batch training with scipy.optimize (conjugate gradients, L-BFGS-B)."""
from __future__ import annotations

import math
import time

import numpy as np

from gradcheck.errors import NumericalError
from gradcheck.train.batches import TRAIN_METRIC_ROWS, accuracy_of, first_rows, mean_loss
from gradcheck.train.history import EpochRecord, Event, History
from gradcheck.train.optim import minimize

Array = np.ndarray

# --- full-batch methods -------------------------------------------------------------------

class _EarlyStop(Exception):
    """Raised from the scipy callback to end a full-batch run early."""


class FullBatch:
    """scipy CG / L-BFGS-B on the whole training set, one history record per iteration."""

    def __init__(self, net, train, val, method, maxiter, patience, restore_best, callbacks):
        self.net, self.train, self.val, self.method = net, train, val, method
        self.maxiter, self.patience, self.restore_best = maxiter, patience, bool(restore_best)
        self.callbacks, self.history = callbacks, History(method=method)
        self.last, self.best, self.best_loss = net.theta.copy(), None, math.inf
        self.cache, self.clock = (None, None), time.perf_counter()
        self.probe = first_rows(train, TRAIN_METRIC_ROWS)

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
            J = mean_loss(self.net, self.train, theta)
        val_loss = val_acc = None
        if self.val is not None:
            val_loss, val_acc = mean_loss(self.net, self.val, theta), accuracy_of(self.net, self.val, theta)
        now = time.perf_counter()
        record = EpochRecord(len(self.history) + 1, J, accuracy_of(self.net, self.probe, theta),
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
