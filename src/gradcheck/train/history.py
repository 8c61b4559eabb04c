"""What :func:`~gradcheck.train.loop.fit` returns: the per-epoch records and events."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

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
    def from_dict(cls, d: dict) -> History:
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
