"""Checkpoints of a training run: written every few epochs, resumed bit-identically.

A checkpoint is read like a model file (:func:`~gradcheck.nn.persist.read_archive`) and then
validated before anything of it is used: finite arrays, a generator state the generator
accepts, a history of exactly ``epoch`` records whose ``best_epoch`` lies within it, a
finite ``best_loss``.  A checkpoint that cannot be written is a warning, not the end of the
run.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from gradcheck.errors import ConfigError, GradcheckWarning, ModelFileError, OutputError
from gradcheck.nn.persist import CHECKPOINT_FORMAT, model_header, read_archive, write_archive
from gradcheck.train.history import EpochRecord, History
from gradcheck.train.optim import is_real

# --- checkpoints ----------------------------------------------------------------------------

def write_checkpoint(run) -> None:
    """Theta, optimizer state, generator state, best weights and history, atomically."""

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
    try:
        write_archive(run.checkpoint_path, header, arrays)
    except OutputError as exc:  # the run itself is fine: losing it for a checkpoint is worse
        warnings.warn(GradcheckWarning(f"the checkpoint after epoch {run.epoch} was not written: "
                                       f"{exc} Training goes on."), stacklevel=2)


def _checkpoint_arrays(header: dict) -> dict:
    names = header.get("arrays")
    if not isinstance(names, list) or "theta" not in names or not all(isinstance(n, str) for n in names):
        raise ModelFileError("the checkpoint's list of arrays is missing or damaged; it cannot "
                             "be resumed.")
    return {name: header.get("dtype") for name in names}


def restore_checkpoint(run, path) -> None:
    """Load a checkpoint of this same run into ``run``; refuse one of another run, or one
    whose state is damaged, before anything of it is used."""

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
    problem = _state_problem(run, header, arrays)
    if problem:
        raise ModelFileError(f"{path} {problem}; the checkpoint is damaged or crafted, start "
                             f"again without resume.")
    try:
        _load_state(run, header, arrays)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ModelFileError(f"{path} has a damaged training state ({type(exc).__name__}: "
                             f"{exc}); start again without resume.") from exc


def _state_problem(run, header: dict, arrays: dict) -> str | None:
    """What is wrong with a checkpoint's training state (a phrase), or None."""
    for name, array in sorted(arrays.items()):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            return f"holds {bad} NaN or infinite values in {name}"
    epoch = header.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= run.epochs:
        return f"says it was written after epoch {epoch!r}, not one of 0..{run.epochs}"
    best_loss = header.get("best_loss")
    if best_loss is not None and not (is_real(best_loss) and math.isfinite(best_loss)):
        return f"has the best validation loss {best_loss!r}, not a finite number"
    return _rng_problem(run, header.get("rng")) or _history_problem(header.get("history"), epoch)


def _rng_problem(run, state) -> str | None:
    """Whether the generator accepts ``state``: tried on a fresh one, never on the run's."""
    probe = type(run.rng.bit_generator)()
    try:
        probe.state = state
    except (TypeError, ValueError, KeyError, OverflowError, AttributeError) as exc:
        return f"has a random generator state numpy refuses ({type(exc).__name__}: {exc})"
    return None


def _history_problem(history, epoch: int) -> str | None:
    fields = set(EpochRecord.__dataclass_fields__)
    if not isinstance(history, dict) or not isinstance(history.get("epochs"), list):
        return "has no history of its epochs"
    records = history["epochs"]
    if len(records) != epoch or not all(isinstance(r, dict) and set(r) == fields
                                        and all(v is None or is_real(v) for v in r.values())
                                        for r in records):
        return f"has a history of {len(records)} damaged or missing epochs for its {epoch} epochs"
    best = history.get("best_epoch")
    if best is not None and not (_whole(best) and 1 <= best <= epoch):
        return f"names best epoch {best!r}, which is not one of the {epoch} epochs in its history"
    return None


def _whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)



def _load_state(run, header: dict, arrays: dict) -> None:
    """Put a validated checkpoint's state into ``run``."""
    opt_state = dict(header["optimizer"])
    opt_state.update((k.split(".", 1)[1], v) for k, v in arrays.items() if k.startswith("optimizer."))
    run.optimizer.load_state_dict(opt_state)
    run.rng.bit_generator.state = header["rng"]
    run.history = History.from_dict(header["history"])
    best = header["best_loss"]
    run.best_loss = math.inf if best is None else float(best)
    run.best_theta = arrays.get("best_theta")
    run.net.theta[...] = arrays["theta"]
    np.copyto(run.last_finite, run.net.theta)
    run.epoch = header["epoch"]
