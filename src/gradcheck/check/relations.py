"""How an analytic gradient relates to the numerical one on a set of coordinates.

A relation is a small linear model of the analytic values ``a`` in terms of the numerical
ones ``n``, the checked point ``theta`` and a constant::

    a = k n + c theta + gamma

with all but one or two of ``(k, c, gamma)`` held at their neutral values (k = 1, c = 0,
gamma = 0).  Each :class:`Model` of :data:`MODELS` frees a subset; :func:`fit_relation` tries
them from the fewest free numbers up and returns the first that fits the coordinates to the
report's own accuracy: ``agree`` (a = n), ``zero`` (a = 0 exactly), ``factor`` (a = k n: a scale,
or a sign flip when k < 0), ``theta`` (a = n + c theta: an L2 term the other side lacks),
``constant`` (a = n + gamma), ``factor+theta`` (a data term scaled or flipped while the L2
term c theta is not) and ``factor+constant``.

Fitting is least squares on the free numbers; a fit is accepted when the residual is within
:data:`FIT_SLACK` times the report's tolerance (norm rule) and within the per-coordinate rule
of :func:`~gradcheck.check.numerical.coord_limit`, with the numerical column's round-off scaled
by |k| (a factor multiplies the noise of n too).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcheck.check.numerical import coord_limit

__all__ = ["Model", "MODELS", "Relation", "Judge", "fit_relation"]

Array = np.ndarray

#: A fitted relation must match to this many times the report's tolerance (fitting one or two
#: numbers leaves the residual of n's own round-off, amplified by |k|).
FIT_SLACK = 10.0
#: |k - 1| below this is no factor at all (agreement that missed the tolerance by a hair is
#: reported by the generic rules, not as a scale of 1.0004).
MIN_FACTOR_CHANGE = 1e-3
#: An offset (c theta, gamma) smaller than this share of the part's gradient is no offset.
MIN_OFFSET_SHARE = 1e-4


@dataclass(frozen=True)
class Model:
    """One family of relations: which of k, c, gamma are free (the others neutral)."""

    name: str
    free: tuple[str, ...]

    @property
    def min_size(self) -> int:
        """Coordinates needed before a fit with this many free numbers means anything."""
        return len(self.free) + 2 if self.free else 1


MODELS: tuple[Model, ...] = (
    Model("agree", ()),
    Model("zero", ()),
    Model("factor", ("k",)),
    Model("theta", ("c",)),
    Model("constant", ("gamma",)),
    Model("factor+theta", ("k", "c")),
    Model("factor+constant", ("k", "gamma")),
)


@dataclass(frozen=True)
class Relation:
    """A fitted ``a = k n + c theta + gamma`` on ``size`` coordinates, residual relative to the part."""

    model: str
    k: float = 1.0
    c: float = 0.0
    gamma: float = 0.0
    residual: float = 0.0
    size: int = 0
    known: bool = False      # taken whole from another part, not fitted here (no free numbers)

    @property
    def n_free(self) -> int:
        return 0 if self.known else len(next(m for m in MODELS if m.name == self.model).free)

    @property
    def has_offset(self) -> bool:
        return self.c != 0.0 or self.gamma != 0.0

    def formula(self) -> str:
        """``"a = -1 n + 0.1 theta"`` in the fewest words."""
        if self.model == "zero":
            return "a = 0"
        terms = ["n" if self.k == 1.0 else f"{self.k:.6g} n"]
        if self.c:
            terms.append(f"{self.c:+.4g} theta")
        if self.gamma:
            terms.append(f"{self.gamma:+.4g}")
        return "a = " + " ".join(terms).replace(" +", " + ").replace(" -", " - ")

    def to_dict(self) -> dict:
        return {"model": self.model, "k": self.k, "c": self.c, "gamma": self.gamma,
                "residual": self.residual, "size": self.size, "formula": self.formula()}


@dataclass(frozen=True)
class Judge:
    """The report's agreement rule, reusable on any part of the two columns.

    ``tolerance`` and ``noise`` are the report's; ``scale`` is ``1 + |J|``; ``rounding`` the
    relative rounding of pasted numbers.
    """

    tolerance: float
    noise: float
    scale: float
    rounding: float = 0.0

    def close(self, a: Array, pred: Array, n: Array, slack: float = 1.0, gain: float = 1.0) -> bool:
        """``a`` matches ``pred`` (a prediction from ``n``) by the norm and per-coordinate rules."""
        if a.size == 0:
            return True
        big = max(float(np.linalg.norm(a)), float(np.linalg.norm(n)) * gain, float(np.linalg.norm(pred)))
        allowed = slack * self.tolerance * big + gain * self.noise * np.sqrt(a.size)
        if float(np.linalg.norm(a - pred)) > allowed:
            return False
        limit = coord_limit(a, pred, self.scale * gain, self.rounding)
        return bool(np.all(np.abs(a - pred) <= slack * limit))

    def agrees(self, a: Array, n: Array) -> bool:
        """Exactly the report's rule (norm within tolerance plus round-off, every coordinate close)."""
        return self.close(a, n, n)


def _solve(target: Array, columns: list[Array]) -> Array | None:
    """Least-squares coefficients of ``target`` on ``columns`` (None if they are degenerate)."""
    A = np.column_stack(columns)
    if not np.all(np.isfinite(A)) or np.linalg.matrix_rank(A) < len(columns):
        return None
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    return coef


def _fit(model: Model, a: Array, n: Array, theta: Array | None) -> Relation | None:
    """Least-squares values of the model's free numbers, or None if it cannot be fitted here."""
    if model.name in ("agree", "zero"):
        return Relation(model.name, k=1.0 if model.name == "agree" else 0.0, size=a.size)
    if "c" in model.free and (theta is None or not np.any(theta)):
        return None
    features = {"k": n, "c": theta, "gamma": np.ones_like(a)}
    target = a if "k" in model.free else a - n
    coef = _solve(target, [features[name] for name in model.free])
    if coef is None:
        return None
    values = dict(zip(model.free, (float(v) for v in coef)))
    return Relation(model.name, k=values.get("k", 1.0), c=values.get("c", 0.0),
                    gamma=values.get("gamma", 0.0), size=a.size)


def _prediction(rel: Relation, n: Array, theta: Array | None) -> Array:
    pred = rel.k * n + rel.gamma
    return pred + rel.c * theta if rel.c else pred


def _meaningful(rel: Relation, a: Array, n: Array, theta: Array | None) -> bool:
    """A fitted number that changes nothing is no relation (it would shadow the generic rules)."""
    size = max(float(np.linalg.norm(a)), float(np.linalg.norm(n)), 1e-300)
    if rel.model == "zero":
        return bool(np.all(a == 0)) and bool(np.any(n != 0))
    if rel.model.startswith("factor") and abs(rel.k - 1) <= MIN_FACTOR_CHANGE:
        return False
    if rel.c and abs(rel.c) * float(np.linalg.norm(theta)) <= MIN_OFFSET_SHARE * size:
        return False
    return not (rel.gamma and abs(rel.gamma) * np.sqrt(a.size) <= MIN_OFFSET_SHARE * size)


def _residual(a: Array, pred: Array) -> float:
    return float(np.linalg.norm(a - pred)) / max(float(np.linalg.norm(a)), 1e-300)


def _from_known(a: Array, n: Array, theta: Array | None, judge: Judge,
                known: tuple[Relation, ...]) -> Relation | None:
    """The first relation found elsewhere that also holds here, its numbers unchanged."""
    for rel in known:
        if rel.c and theta is None:
            continue
        pred = _prediction(rel, n, theta)
        if judge.close(a, pred, n, FIT_SLACK, max(1.0, abs(rel.k))):
            return Relation(rel.model, rel.k, rel.c, rel.gamma, _residual(a, pred), a.size, known=True)
    return None


def fit_relation(a: Array, n: Array, theta: Array | None, judge: Judge,
                 models: tuple[Model, ...] = MODELS, known: tuple[Relation, ...] = ()) -> Relation | None:
    """The simplest relation of :data:`MODELS` that fits ``a`` from ``n`` (and ``theta``), or None.

    ``known`` relations (found in other blocks) are tried as they are, after ``agree`` and
    ``zero`` and before fitting anything: they need no coordinates to estimate a number, so a
    2-entry bias vector can follow the factor every other block shows.  Models with the same
    number of free values compete on the residual; ``agree`` uses the report's own rule, the
    others :data:`FIT_SLACK` times it.
    """
    if a.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
        return None
    if judge.agrees(a, n):
        return Relation("agree", size=a.size)
    for n_free in (0, 1, 2):
        if n_free == 1 and known and (rel := _from_known(a, n, theta, judge, known)) is not None:
            return rel
        found = []
        for model in (m for m in models if len(m.free) == n_free and m.name != "agree"):
            if a.size < model.min_size:
                continue
            rel = _fit(model, a, n, theta)
            if rel is None or not _meaningful(rel, a, n, theta):
                continue
            pred = _prediction(rel, n, theta)
            if judge.close(a, pred, n, FIT_SLACK, max(1.0, abs(rel.k))):
                found.append(Relation(rel.model, rel.k, rel.c, rel.gamma, _residual(a, pred), a.size))
        if found:  # several fit exactly when n is proportional to theta: the earlier model reads better
            order = [m.name for m in MODELS]
            return min(found, key=lambda r: (r.residual > judge.tolerance, order.index(r.model), r.residual))
    return None
