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

import math
from dataclasses import dataclass

import numpy as np

from gradcheck.check.numerical import coord_limit

__all__ = ["Model", "MODELS", "Relation", "Judge", "fit_relation", "longest_prefix", "norm", "dot"]

Array = np.ndarray

#: A fitted relation must match to this many times the report's tolerance (fitting one or two
#: numbers leaves the residual of n's own round-off, amplified by |k|).
FIT_SLACK = 10.0
#: |k - 1| below this is no factor at all (agreement that missed the tolerance by a hair is
#: reported by the generic rules, not as a scale of 1.0004).
MIN_FACTOR_CHANGE = 1e-3
#: An offset (c theta, gamma) smaller than this share of the part's gradient is no offset.
MIN_OFFSET_SHARE = 1e-4
#: Condition number of the columns' cosine matrix above which two features are one (n and theta
#: proportional): the simpler model is the reading.
COLLINEAR = 1e8


def dot(x: Array, y: Array) -> float:
    """``x . y`` in one pass without BLAS: on a busy machine BLAS's threads make a dot of 20,000
    numbers take milliseconds instead of microseconds."""
    return float(np.einsum("i,i->", np.ravel(x), np.ravel(y)))


def norm(x: Array) -> float:
    """The Euclidean norm, by :func:`dot`."""
    return math.sqrt(max(dot(x, x), 0.0))


@dataclass(frozen=True)
class Model:
    """One family of relations: which of k, c, gamma are free (the others neutral)."""

    name: str
    free: tuple[str, ...]

    @property
    def min_size(self) -> int:
        """Coordinates needed before a fit with this many free numbers means anything: one
        more than the numbers, so a residual is left to judge (a 2-entry bias vector can show
        its penalty; at the report's accuracy a chance fit of one spare coordinate is ~1e-5)."""
        return len(self.free) + 1


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
                "residual": self.residual, "size": self.size, "known": self.known,
                "formula": self.formula()}


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
        big = max(norm(a), norm(n) * gain, norm(pred))
        allowed = slack * self.tolerance * big + gain * self.noise * np.sqrt(a.size)
        if norm(a - pred) > allowed:
            return False
        limit = coord_limit(a, pred, self.scale * gain, self.rounding)
        return bool(np.all(np.abs(a - pred) <= slack * limit))

    @property
    def finite(self) -> bool:
        """An overflowing round-off allowance (a cost of 1e30, eps of 1e-300) judges nothing."""
        return bool(np.isfinite(self.noise) and np.isfinite(self.scale))

    def within(self, a: Array, n: Array) -> Array:
        """Per coordinate: ``|a - n|`` within the report's coordinate limit."""
        return np.abs(a - n) <= coord_limit(a, n, self.scale, self.rounding)

    def agrees(self, a: Array, n: Array) -> bool:
        """Exactly the report's rule (norm within tolerance plus round-off, every coordinate close)."""
        return self.close(a, n, n)


def _solve(target: Array, columns: list[Array]) -> Array | None:
    """Least-squares coefficients of ``target`` on ``columns`` by the normal equations (a 1x1 or
    2x2 system: no SVD of a long matrix); None when the columns are (nearly) collinear."""
    gram = np.array([[dot(u, v) for v in columns] for u in columns])
    diag = np.diag(gram)
    if not np.all(np.isfinite(gram)) or np.any(diag <= 0):
        return None
    unit = gram / np.sqrt(np.outer(diag, diag))  # the columns' cosines: collinear ones cannot be told apart
    if len(columns) > 1 and np.linalg.cond(unit) > COLLINEAR:
        return None
    return np.linalg.solve(gram, np.array([dot(u, target) for u in columns]))


def _fit(model: Model, a: Array, n: Array, theta: Array | None) -> Relation | None:
    """Least-squares values of the model's free numbers, or None if it cannot be fitted here."""
    if model.name in ("agree", "zero"):
        return Relation(model.name, k=1.0 if model.name == "agree" else 0.0, size=a.size)
    features = {"k": n, "gamma": np.ones_like(a)}
    if theta is not None:
        features["c"] = theta
    if any(name not in features for name in model.free):
        return None
    # a feature non-zero at a single coordinate fits that coordinate whatever it holds
    if any(np.count_nonzero(features[name]) < min(len(model.free) + 1, a.size) for name in model.free):
        return None
    target = a if "k" in model.free else a - n
    coef = _solve(target, [features[name] for name in model.free])
    if coef is None:
        return None
    values = dict(zip(model.free, (float(v) for v in coef)))
    return Relation(model.name, k=values.get("k", 1.0), c=values.get("c", 0.0),
                    gamma=values.get("gamma", 0.0), size=a.size)


def _prediction(rel: Relation, n: Array, theta: Array | None) -> Array:
    pred = rel.k * n + rel.gamma
    return pred + rel.c * theta if rel.c and theta is not None else pred


def _meaningful(rel: Relation, a: Array, n: Array, theta: Array | None) -> bool:
    """A fitted number that changes nothing is no relation (it would shadow the generic rules)."""
    size = max(norm(a), norm(n), 1e-300)
    if rel.model == "zero":
        return bool(np.all(a == 0)) and bool(np.any(n != 0))
    if rel.model.startswith("factor") and abs(rel.k - 1) <= MIN_FACTOR_CHANGE:
        return False
    if rel.c and theta is not None and abs(rel.c) * norm(theta) <= MIN_OFFSET_SHARE * size:
        return False
    return not (rel.gamma and abs(rel.gamma) * np.sqrt(a.size) <= MIN_OFFSET_SHARE * size)


def _residual(a: Array, pred: Array) -> float:
    return norm(a - pred) / max(norm(a), 1e-300)


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
                 models: tuple[Model, ...] = MODELS, known: tuple[Relation, ...] = (),
                 whole: bool = False) -> Relation | None:
    """The simplest relation of :data:`MODELS` that fits ``a`` from ``n`` (and ``theta``), or None.

    ``known`` relations (found in other blocks) are tried as they are, after ``agree`` and
    ``zero`` and before fitting anything: they need no coordinates to estimate a number, so a
    2-entry bias vector can follow the factor every other block shows.  Models with the same
    number of free values compete on the residual; ``agree`` uses the report's own rule, the
    others :data:`FIT_SLACK` times it.  ``whole``: the coordinates are a whole block, where a
    factor is reported however few they are (a 1-entry bias scaled by k is still scaled by k).
    """
    if a.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(n)) and judge.finite):
        return None
    if judge.agrees(a, n):
        return Relation("agree", size=a.size)
    for n_free in (0, 1, 2):
        if n_free == 1 and known and (rel := _from_known(a, n, theta, judge, known)) is not None:
            return rel
        found = []
        for model in (m for m in models if len(m.free) == n_free and m.name != "agree"):
            if a.size < (1 if whole and model.name == "factor" else model.min_size):
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


# --- every prefix at once: how far from its start a run keeps one relation -------------------------

def _prefix_sums(a: Array, n: Array, theta: Array | None) -> dict[str, Array]:
    """Cumulative sums of the products the normal equations of every model need."""
    t = theta if theta is not None else np.zeros_like(a)
    pairs = {"aa": a * a, "nn": n * n, "an": a * n, "at": a * t, "nt": n * t, "tt": t * t,
             "a": a, "n": n, "t": t, "1": np.ones_like(a)}
    return {k: np.cumsum(v) for k, v in pairs.items()}


def _prefix_residuals(model: Model, S: dict[str, Array]) -> tuple[Array, Array] | None:
    """Squared residual of the least-squares fit of ``model`` on every prefix, and |k|."""
    yy = S["aa"] - 2 * S["an"] + S["nn"]  # (a - n)^2, the target when k is held at 1
    with np.errstate(all="ignore"):
        if model.name == "agree":
            return yy, np.ones_like(yy)
        if model.name == "factor":
            k = S["an"] / S["nn"]
            return S["aa"] - k * S["an"], np.abs(k)
        if model.name == "theta":
            yt = S["at"] - S["nt"]
            return yy - yt * yt / S["tt"], np.ones_like(yy)
        if model.name == "constant":
            y1 = S["a"] - S["n"]
            return yy - y1 * y1 / S["1"], np.ones_like(yy)
        second = {"factor+theta": ("nt", "tt", "at"), "factor+constant": ("n", "1", "a")}.get(model.name)
        if second is None:
            return None
        cross, own, target = (S[k] for k in second)
        det = S["nn"] * own - cross * cross
        k = (S["an"] * own - cross * target) / det
        other = (S["nn"] * target - cross * S["an"]) / det
        return S["aa"] - k * S["an"] - other * target, np.abs(k)


def longest_prefix(model: Model, a: Array, n: Array, theta: Array | None, judge: Judge) -> int:
    """The longest prefix of ``a`` that ``model`` fits by the norm rule (0 if not even its
    minimal size), computed for every prefix at once from cumulative sums.  The caller checks
    the run it picks with :func:`fit_relation`, which adds the per-coordinate rule."""
    if model.name == "zero":
        nonzero = np.flatnonzero(a != 0)
        return int(nonzero[0]) if nonzero.size else a.size
    if ("c" in model.free and (theta is None or not np.any(theta))) or not judge.finite:
        return 0
    S = _prefix_sums(a, n, theta)
    found = _prefix_residuals(model, S)
    if found is None:
        return 0
    res2, gain = found
    sizes = np.arange(1, a.size + 1)
    big = np.maximum(np.sqrt(S["aa"]), np.sqrt(S["nn"]) * np.maximum(gain, 1.0))
    slack = 1.0 if model.name == "agree" else FIT_SLACK
    allowed = slack * judge.tolerance * big + np.maximum(gain, 1.0) * judge.noise * np.sqrt(sizes)
    ok = np.sqrt(np.maximum(res2, 0.0)) <= allowed
    ok[: model.min_size - 1] = True  # too short to judge: only lengths from min_size count
    failing = np.flatnonzero(~ok | ~np.isfinite(res2))
    stop = int(failing[0]) if failing.size else a.size
    return stop if stop >= model.min_size else 0
