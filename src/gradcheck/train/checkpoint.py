"""Checkpoints of a training run: written every few epochs, resumed bit-identically."""
from __future__ import annotations

import math

import numpy as np

from gradcheck.errors import ConfigError, ModelFileError
from gradcheck.nn.persist import CHECKPOINT_FORMAT, model_header, read_archive, write_archive
from gradcheck.train.history import History

# --- checkpoints ----------------------------------------------------------------------------

def _write_checkpoint(run) -> None:
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
    write_archive(run.checkpoint_path, header, arrays)


def _checkpoint_arrays(header: dict) -> dict:
    names = header.get("arrays")
    if not isinstance(names, list) or "theta" not in names or not all(isinstance(n, str) for n in names):
        raise ModelFileError("the checkpoint's list of arrays is missing or damaged; it cannot "
                             "be resumed.")
    return {name: header.get("dtype") for name in names}


def _restore(run, path) -> None:
    """Load a checkpoint of this same run into ``run``; refuse one of another run."""

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
                             f"{exc}); start again without resume.") from exc


def _load_state(run, header: dict, arrays: dict) -> None:
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
