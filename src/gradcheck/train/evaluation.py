"""Evaluate a trained network: accuracy, loss, the confusion matrix."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcheck.errors import ConfigError
from gradcheck.train.batches import as_training_set, mean_loss, predicted_labels

Array = np.ndarray

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
    data = as_training_set(net, X, y, "the evaluation data")
    if data.labels is None:
        raise ConfigError("evaluate reports classification metrics; give class labels for a "
                          "softmax (or single sigmoid) network.")
    with np.errstate(all="ignore"):
        A = net.forward(data.X)
    predicted = predicted_labels(A)
    k = max(2, net.sizes[-1])
    confusion = np.bincount(data.labels * k + predicted, minlength=k * k).reshape(k, k)
    names = tuple(labels) if labels is not None else tuple(str(i) for i in range(k))
    return Evaluation(float(np.mean(predicted == data.labels)), mean_loss(net, data), confusion, names)
