"""Training: the optimizers (:mod:`~gradcheck.train.optim`), the minibatch and full-batch loops
(:mod:`~gradcheck.train.loop`, :mod:`~gradcheck.train.fullbatch`), augmentation, checkpoints,
and evaluation.

Depends on :mod:`gradcheck.nn`, :mod:`gradcheck.data` and :mod:`gradcheck.errors`.
"""
from gradcheck.train.augment import Augment
from gradcheck.train.evaluation import Evaluation, evaluate
from gradcheck.train.history import EpochRecord, Event, History
from gradcheck.train.loop import fit
from gradcheck.train.optim import SGD, Adam, Momentum, Nesterov, Optimizer, get_optimizer, minimize

__all__ = ["fit", "evaluate", "Evaluation", "History", "EpochRecord", "Event", "Augment",
           "Optimizer", "SGD", "Momentum", "Nesterov", "Adam", "get_optimizer", "minimize"]
