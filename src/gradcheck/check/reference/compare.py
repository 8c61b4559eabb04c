"""Reference mode: given the network the user meant, which catalogued mistake
(:mod:`gradcheck.check.reference.mistakes`) their gradient or cost matches, and in which layout.

The user's flat theta is read every way :mod:`gradcheck.check.reference.layouts` knows (layouts x label
numberings); the reading that explains the user's numbers is chosen (:func:`_recognise`: the
gradient is the correct one there, else the cost is, else whole blocks of the gradient are,
else it is clearly closest), and the catalogue is compared in it.  When none does, one
``reference-layout-unrecognised`` finding says so and what to pass.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.numerical import call_cost, call_gradient, relative_error
from gradcheck.check.reference.layouts import LAYOUTS, Layout, candidate_layouts, label_candidates, parse_layout
from gradcheck.check.reference.mistakes import MISTAKES, RIGHT, Mistake, Slip, backprop, fit_parameters, slipped_cost
from gradcheck.errors import ConfigError, DataError
from gradcheck.nn.blocks import Block
from gradcheck.nn.network import Network

Array = np.ndarray

# A variant counts as matched when the user's gradient is within `tol` of it, or when it is
# this much closer than everything else and within MATCH_CEILING (hand-written clipping or a
# float32 cast leaves a small residue that must not hide an otherwise exact match).
MATCH_MARGIN = 100.0
MATCH_CEILING = 1e-2
# A layout is recognised from the gradient alone when, in it, the gradient is this close to the
# correct one or a catalogued mistake, and LAYOUT_MARGIN times closer than in any other layout:
# in a wrong layout every weight is compared with another one's, ~1.4 for unrelated vectors.
LAYOUT_CEILING = 0.5
LAYOUT_MARGIN = 3.0
# The user's gradient is the gradient of the user's cost when their directional derivatives
# agree to this along DIRECTIONS random directions.
CONSISTENT = 1e-4
DIRECTIONS = 2

#: Findings about the comparison itself (no layout explains the numbers, or not the one the
#: spec gives), not that the gradient is wrong.
INCONCLUSIVE = ("reference-layout-unrecognised", "reference-wrong-layout")


# --- reference mode: the network the user meant, in the user's layout ------------------------

@dataclass
class _Reference:
    net: Network
    theta: Array          # the library's layout
    X: Array
    Y: Array
    order: Array          # user_vector = our_vector[order]
    blocks: list[Block]   # the user's layout
    layout: Layout
    labels: str
    equivalents: tuple[Layout, ...] = ()
    samples: str = "rows"     # or "columns": X is (n_in, m)
    memo: dict = field(default_factory=dict, repr=False)   # gradient_of's
    forwards: dict = field(default_factory=dict, repr=False)   # forward passes, by activation hook

    def to_user(self, vector: Array) -> Array:
        return vector[self.order]

    def gradient_of(self, slip: Slip) -> Array:
        """The gradient with ``slip``'s mistakes (library layout), computed once per slip."""
        if slip not in self.memo:
            self.memo[slip] = backprop(self.net, self.theta, self.X, self.Y, slip,
                                       forwards=self.forwards)
        return self.memo[slip]

    def to_library(self, vector: Array) -> Array:
        ours = np.empty_like(vector)
        ours[self.order] = vector
        return ours

    @property
    def name(self) -> str:
        return self.layout.name

    def describe(self) -> dict:
        return {"name": self.layout.name, "tokens": self.layout.tokens,
                "description": self.layout.describe(), "labels": self.labels,
                "samples": self.samples,
                "same_order_as": [lay.name for lay in self.equivalents],
                "blocks": [{"name": b.name, "shape": list(b.shape), "order": b.order,
                            "start": b.start} for b in self.blocks]}


def _network(spec: dict) -> tuple[Network, Any, str | None]:
    """The reference network, the spec's layout and its labels convention."""
    kwargs = dict(spec)
    layout, labels = kwargs.pop("layout", None), kwargs.pop("labels", None)
    # the user's code exists whatever we think of the pairing: explain it rather than refuse
    kwargs.setdefault("allow_unsafe", True)
    kwargs.setdefault("seed", 0)
    return Network(**kwargs), layout, labels


def _interpretations(theta_user, spec: dict, X, y) -> list[_Reference]:
    """The reference network read every way the spec allows: one per layout order x labels."""
    net, layout, labels = _network(spec)
    layouts, names = parse_layout(layout)
    theta_user = np.asarray(theta_user, dtype=np.float64).ravel()
    if theta_user.size != net.n_params:
        raise ConfigError(f"theta has {theta_user.size} values but the reference network "
                          f"{list(net.sizes)} has {net.n_params}; check sizes in the spec.")
    X, y, samples = _samples_as_rows(X, y, net)
    refs = []
    for convention, Y in label_candidates(y, net.sizes[-1], labels):
        objective = net.objective(X, Y)
        X, Y = objective.X, objective.Y
        for lay, order, same in candidate_layouts(net, layouts):
            theta = np.empty(net.n_params)
            theta[order] = theta_user
            refs.append(_Reference(net, theta, X, Y, order, lay.blocks(net, names), lay,
                                   convention, same, samples))
    return refs


def _samples_as_rows(X, y, net: Network) -> tuple[Array, Array, str]:
    """Copies of X and y (the user's code may change them in place) with one row per sample;
    ``"columns"`` when the user keeps one column per sample (Nielsen's ``(n_in, m)``)."""
    try:
        X, y = np.array(X, dtype=np.float64), np.array(y)
    except (TypeError, ValueError):
        raise DataError("X and y must be arrays of numbers; pass numeric X and y.") from None
    n_in, k = net.sizes[0], net.sizes[-1]
    if X.ndim == 2 and X.shape[1] != n_in and X.shape[0] == n_in:
        if y.ndim == 2 and y.shape == (k, X.shape[1]) and y.shape != (X.shape[1], k):
            y = y.T
        return X.T, y, "columns"
    return X, y, "rows"


@dataclass(frozen=True)
class _Finding:
    """One catalogued mistake seen on one side, before it becomes a Diagnosis."""

    side: str                       # "gradient" or "cost"
    mistake: Mistake
    together: tuple[Mistake, ...]   # every mistake of the matched variant, this one included
    evidence: dict
    where: tuple = (None, (), ())   # (block, indices, positions)


def _singles(ref: _Reference, side: str) -> list[tuple[Mistake]]:
    """The catalogued mistakes that can occur on ``side`` of this network (one per place for a
    mistake made in one of several places)."""
    return [(v,) for m in MISTAKES.values() if side in m.sides and m.applies(ref.net)
            for v in m.variants(ref.net)]


def _pairs(singles: list[tuple[Mistake]]) -> list[tuple[Mistake, Mistake]]:
    """Every two mistakes that change different hooks, so both can be made at once."""
    return [(a, b) for (a,), (b,) in combinations(singles, 2) if a.slip.combine(b.slip)]


def _slip_of(mistakes: tuple[Mistake, ...]) -> Slip:
    slip = RIGHT
    for m in mistakes:
        combined = slip.combine(m.slip)
        assert combined is not None, "pairs are made of mistakes that change different hooks"
        slip = combined
    return slip


def _block_errors(ref: _Reference, a: Array, b: Array) -> dict[str, float]:
    return {blk.name: relative_error(a[blk.slice], b[blk.slice]) for blk in ref.blocks}


def _is_match(best: float, others: list[float], tol: float) -> bool:
    if best < tol:
        return True
    return best < MATCH_CEILING and all(best * MATCH_MARGIN <= e for e in others)


# --- reference mode: the gradient side ------------------------------------------------------

def _gradient_variants(ref: _Reference, candidates, correct: Array, tol: float, user: Array) -> list:
    """``[(mistakes, gradient)]`` for the candidates whose gradient differs from the correct one.

    A free parameter (an update step's learning rate) is fitted to the ``user``'s gradient; the
    fitted variant is kept only within MATCH_CEILING of it: a fit always comes closer, so as a
    mere closest mistake it would crowd out the ones that have no parameter to tune.
    """
    out, target = [], ref.to_library(user)
    for candidate in candidates:
        mistakes = fit_parameters(candidate, ref.net, ref.theta, ref.X, ref.Y, target,
                                  ref.gradient_of, MATCH_CEILING)
        if mistakes is None:
            continue
        g = ref.to_user(ref.gradient_of(_slip_of(mistakes)))
        if mistakes is not candidate and not relative_error(user, g) < MATCH_CEILING:
            continue
        if np.all(np.isfinite(g)) and relative_error(g, correct) >= tol:
            out.append((mistakes, g))
    return out


def _best(user: Array, variants: list, floor: list[float], tol: float):
    """The variant ``user`` matches, as ``(error, mistakes, gradient, equals, runner_up)``, or None.

    ``floor`` holds errors the match must beat by MATCH_MARGIN besides the other variants'.
    """
    if not variants:
        return None
    scored = sorted(((relative_error(user, g), ms, g) for ms, g in variants), key=lambda s: s[0])
    g = scored[0][2]
    # equal gradients are one observation: name the catalogue's first, list the rest
    same = sorted((s for s in scored if relative_error(s[2], g) < tol), key=_catalogue_rank)
    differ = [s for s in scored if relative_error(s[2], g) >= tol]
    error, mistakes = same[0][0], same[0][1]
    if not _is_match(error, floor + [s[0] for s in differ], tol):
        return None
    runner_up = {"code": _joined(differ[0][1]), "relative_error": differ[0][0]} if differ else None
    return error, mistakes, g, [_joined(s[1]) for s in same[1:]], runner_up


def _joined(mistakes) -> str:
    return " + ".join(m.code for m in mistakes)


def _correct(ref: _Reference) -> tuple[float, Array]:
    """The reference's cost and its gradient in the user's layout."""
    J, grad = ref.net.loss_and_grad(ref.X, ref.Y, ref.theta)
    assert grad is not None  # asked for
    return J, ref.to_user(grad)


def _gradient_findings(ref: _Reference, user: Array, tol: float) -> list:
    correct = _correct(ref)[1]
    to_correct = relative_error(user, correct)
    if to_correct < tol:
        return []
    singles = _singles(ref, "gradient")
    tried, floor = [], [to_correct]
    for candidates in (singles, _pairs(singles)):  # one mistake explains it better than two
        variants = _gradient_variants(ref, candidates, correct, tol, user)
        found = _best(user, variants, floor, tol)
        tried += variants
        if found:
            error, mistakes, g, same, runner_up = found
            evidence = {"relative_error_to_correct": to_correct, "relative_error_to_mistake": error,
                        "block_errors_to_correct": _block_errors(ref, user, correct),
                        "block_errors_to_mistake": _block_errors(ref, user, g),
                        "runner_up": runner_up, "indistinguishable_from": same,
                        "layout": ref.name, "labels": ref.labels}
            where = _where(ref, g, correct, tol)
            return [_Finding("gradient", m, mistakes, evidence, where) for m in mistakes]
        floor += [relative_error(user, g) for _, g in variants]  # a pair must beat every single
    return [_gradient_mismatch(ref, user, correct, to_correct, tried, tol)]


def _catalogue_rank(scored) -> tuple[int, ...]:
    codes = list(MISTAKES)
    return tuple(codes.index(m.code) for m in scored[1])


def _where(ref: _Reference, wrong: Array, correct: Array, tol: float) -> tuple:
    """``(block, indices, positions)`` of the coordinates the mistake changes, when few."""
    scale = max(float(np.max(np.abs(correct))), 1e-300)
    changed = np.flatnonzero(np.abs(wrong - correct) > tol * scale)
    names = {b.name for b in ref.blocks for i in changed if b.start <= i < b.stop}
    block = names.pop() if len(names) == 1 else None
    if changed.size > 20:  # a whole-layer mistake: indices would only repeat the block
        return block, (), ()
    positions = tuple(next(b.position(int(i)) for b in ref.blocks if b.start <= i < b.stop)
                      for i in changed)
    return block, tuple(int(i) for i in changed), positions


def _gradient_mismatch(ref, user, correct, to_correct, variants, tol: float) -> Diagnosis:
    scored = sorted(((relative_error(user, g), ms) for ms, g in variants), key=lambda s: s[0])
    blocks = _block_errors(ref, user, correct)
    evidence = {"relative_error_to_correct": to_correct, "block_errors_to_correct": blocks,
                "closest_mistake": _closest(scored, 0), "runner_up": _closest(scored, 1),
                "layout": ref.name, "labels": ref.labels}
    worst = max(blocks, key=lambda name: blocks[name])
    departs = ", ".join(f"{name} ({e:.3g})" for name, e in blocks.items() if not e < tol)
    agree = [name for name, e in blocks.items() if e < tol]
    equal = f"; {', '.join(agree)} {'equals' if len(agree) == 1 else 'equal'} the reference's" if agree else ""
    message = (f"The gradient matches neither the reference network's correct gradient (relative "
               f"error {to_correct:.3g}) nor any catalogued mistake, alone or in pairs"
               f"{_closest_words(scored, to_correct)}. It departs in {departs}{equal}.")
    return Diagnosis("reference-mismatch", message, evidence=evidence,
                     fix="check the spec (sizes, activations, loss, l2, reduction, layout) first, then "
                         f"the block with the largest error ({worst})")


def _closest(scored: list, rank: int) -> dict | None:
    if len(scored) <= rank:
        return None
    return {"code": _joined(scored[rank][1]), "relative_error": scored[rank][0]}


def _closest_words(scored: list, to_correct: float) -> str:
    """Why the closest catalogued mistake is not named: too far, or not alone that close."""
    if not scored:
        return ""
    error, code = scored[0][0], _joined(scored[0][1])
    if error >= MATCH_CEILING or error >= to_correct:
        why = ("no closer than the correct gradient" if error >= to_correct else
               f"too far to name it (a match is within {MATCH_CEILING:g})")
        return f"; the closest is {code} at relative error {error:.3g}, {why}"
    rival = scored[1] if len(scored) > 1 else None
    against = f"{_joined(rival[1])} at {rival[0]:.3g}" if rival else f"the correct gradient at {to_correct:.3g}"
    return (f"; the closest is {code} at relative error {error:.3g}, not {MATCH_MARGIN:g} times "
            f"closer than {against}")


# --- reference mode: the cost side ------------------------------------------------------------

def _cost_variants(ref: _Reference, candidates) -> list:
    return [(ms, slipped_cost(ref.net, ref.theta, ref.X, ref.Y, _slip_of(ms), forwards=ref.forwards))
            for ms in candidates]


def _cost_findings(ref: _Reference, user: float, tol: float) -> list:
    correct = _correct(ref)[0]
    if _close(user, correct, tol):
        return []
    singles, tried = _singles(ref, "cost"), []
    for candidates in (singles, _pairs(singles)):  # one mistake explains it better than two
        costs = [(ms, c) for ms, c in _cost_variants(ref, candidates) if not _close(c, correct, tol)]
        hits = [(ms, c) for ms, c in costs if _close(user, c, tol)]
        tried += costs
        if hits:
            mistakes, cost = hits[0]
            evidence = {"cost": user, "correct_cost": correct, "mistake_cost": cost,
                        "indistinguishable_from": [_joined(ms) for ms, _ in hits[1:]],
                        "layout": ref.name, "labels": ref.labels}
            return [_Finding("cost", m, mistakes, evidence) for m in mistakes]
    return [_cost_mismatch(ref, user, correct, tried)]


def _cost_mismatch(ref, user: float, correct: float, tried: list) -> Diagnosis:
    scored = sorted(((_difference(user, c), ms) for ms, c in tried if np.isfinite(c)), key=lambda s: s[0])
    closest = _closest(scored, 0)
    words = (f"; the closest catalogued cost mistake is {closest['code']} at relative difference "
             f"{closest['relative_error']:.3g}" if closest else "")
    difference = _difference(user, correct)
    return Diagnosis("reference-cost-mismatch",
                     f"The cost {user:.6g} differs from the reference network's cost {correct:.6g} "
                     f"(relative difference {difference:.3g}) and from every catalogued cost "
                     f"mistake{words}.",
                     evidence={"cost": user, "correct_cost": correct, "relative_difference": difference,
                               "closest_mistake": closest, "layout": ref.name, "labels": ref.labels},
                     fix="compute the cost with the spec's loss, l2 and reduction")


def _difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


# --- reference mode: findings into Diagnoses --------------------------------------------------

def _diagnoses(ref: _Reference, findings: list) -> list[Diagnosis]:
    """One Diagnosis per mistake code; a mistake seen in both cost and gradient is one finding."""
    groups: dict[str, list] = {}
    for item in findings:  # keeps the order of first appearance
        key = item.code if isinstance(item, Diagnosis) else item.mistake.code
        groups.setdefault(key, []).append(item)
    return [items[0] if isinstance(items[0], Diagnosis) else _mistake_diagnosis(ref, items)
            for items in groups.values()]


def _mistake_diagnosis(ref: _Reference, items: list[_Finding]) -> Diagnosis:
    mistake = items[0].mistake
    title, explanation, fix = mistake.describe(ref.net)
    evidence: dict[str, Any] = {item.side: item.evidence for item in items}
    together = sorted({m.code for item in items for m in item.together} - {mistake.code})
    if mistake.params:  # where a mistake of one of several places was made, a fitted rate
        evidence["parameters"] = dict(mistake.params)
    if together:
        evidence["together_with"] = together
    block, indices, positions = next((i.where for i in items if i.side == "gradient"), items[0].where)
    sides = " and ".join(item.side for item in items)
    message = f"Your {sides} matches the textbook mistake: {title} — {explanation}"
    gradient = evidence.get("gradient")
    if gradient:
        message += (f" (relative error {gradient['relative_error_to_mistake']:.2g} to this mistake, "
                    f"{gradient['relative_error_to_correct']:.3g} to the correct gradient)")
    return Diagnosis(mistake.code, message, block, indices, positions, evidence, fix)


# --- reference mode: which layout (and label numbering) the user's theta uses ------------------

@dataclass
class _Scored:
    """One reading of the user's theta, scored against the user's gradient."""

    ref: _Reference
    cost: float                 # the reference's correct cost
    correct: Array              # the correct gradient in the user's layout
    to_correct: float
    closest: tuple[float, str] | None = None   # (relative error, "correct" or mistake code)
    agreeing: tuple[str, ...] = ()              # blocks equal to the correct or a variant's
    agreeing_size: int = 0

    def row(self) -> dict:
        row = {"layout": self.ref.name, "labels": self.ref.labels,
               "relative_error_to_correct": self.to_correct}
        if self.closest is not None:
            row["closest"] = {"code": self.closest[1], "relative_error": self.closest[0]}
            row["agreeing_blocks"] = list(self.agreeing)
        return row


def _score(ref: _Reference, user: Array) -> _Scored:
    cost, correct = _correct(ref)
    return _Scored(ref, cost, correct, relative_error(user, correct))


def _explains_cost(s: _Scored, user_cost: float, tol: float) -> bool:
    """The user's cost is the reference's in this reading, right or with one cost mistake."""
    if _close(user_cost, s.cost, tol):
        return True
    return any(_close(user_cost, c, tol) for _, c in _cost_variants(s.ref, _singles(s.ref, "cost")))


def _compare_variants(s: _Scored, user: Array, tol: float, singles: bool = True) -> None:
    """The nearest of the correct gradient and (with ``singles``) the single mistakes' in this
    reading, and the blocks where the user's gradient equals one of them (a slip elsewhere
    leaves them exact)."""
    variants = [(("correct",), s.correct)] + ([
        (tuple(m.code for m in ms), g)
        for ms, g in _gradient_variants(s.ref, _singles(s.ref, "gradient"), s.correct, tol, user)]
        if singles else [])
    s.closest = min(((relative_error(user, g), " + ".join(codes)) for codes, g in variants),
                    key=lambda v: v[0])
    s.agreeing = tuple(b.name for b in s.ref.blocks if np.any(user[b.slice])
                       and any(relative_error(user[b.slice], g[b.slice]) < tol for _, g in variants))
    s.agreeing_size = sum(b.size for b in s.ref.blocks if b.name in s.agreeing)


def _by_blocks(scored: list[_Scored], user: Array, tol: float, strict: Callable[[], bool]):
    """The one reading with the most coordinates in blocks that agree exactly, if there is one."""
    by_size = sorted(scored, key=lambda s: -s.agreeing_size)
    best = by_size[0]
    if best.agreeing and all(s.agreeing_size < best.agreeing_size for s in by_size[1:]) \
            and not (strict() and _reordered(best, user, tol)):
        return best
    return None


def _reordered(s: _Scored, user: Array, tol: float) -> bool:
    """Outside the agreeing blocks the user's numbers are the correct ones in another order:
    theta is packed in a layout not tried, which shares the agreeing blocks with this one."""
    rest = np.ones(user.size, bool)
    for b in s.ref.blocks:
        if b.name in s.agreeing:
            rest[b.slice] = False
    return relative_error(np.sort(user[rest]), np.sort(s.correct[rest])) < tol


def _recognise(scored: list[_Scored], user: Array, user_cost, tol: float, strict: Callable[[], bool]):
    """``(reading, how)``: the reading of theta that explains the user's gradient or cost, or
    ``(None, "")``.  ``strict()`` says the gradient is its cost's (then mere closeness cannot
    tell a layout from a spec that is not the user's network)."""
    for s in scored:
        if s.to_correct < tol:
            return s, "the gradient equals the reference's correct gradient in this layout"
    if user_cost is not None:
        for s in scored:
            if _explains_cost(s, user_cost, tol):
                return s, "the cost equals the reference's cost in this layout"
    for singles in (False, True):  # the correct gradient's blocks first: no backprop needed
        for s in scored:
            _compare_variants(s, user, tol, singles)
        best = _by_blocks(scored, user, tol, strict)
        if best is not None:
            return best, (f"the gradient of {', '.join(best.agreeing)} equals the reference's in "
                          f"this layout")
    nearest = sorted(((s.closest, s) for s in scored if s.closest is not None), key=lambda n: n[0][0])
    (error, what), best = nearest[0]
    rest = [c[0] for c, _ in nearest[1:]]
    apart = all(error * LAYOUT_MARGIN <= e for e in rest)
    if apart and (error < MATCH_CEILING or (error < LAYOUT_CEILING and not strict())):
        return best, ("the gradient is closest to the reference's in this layout (relative error "
                      f"{error:.3g} to {what}; {min(rest, default=float('nan')):.3g} in the next)")
    return None, ""


def _consistency(cost_fn, grad: Array, theta: Array) -> float:
    """Largest relative difference of ``grad . v`` from the cost's central difference along
    DIRECTIONS seeded random unit directions ``v``."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(DIRECTIONS):
        v = rng.standard_normal(theta.size)
        v /= np.linalg.norm(v)
        eps = 1e-5 * max(1.0, float(np.linalg.norm(theta)) / np.sqrt(theta.size))
        numerical = (call_cost(cost_fn, theta + eps * v) - call_cost(cost_fn, theta - eps * v)) / (2 * eps)
        analytic = float(grad @ v)
        scale = max(abs(numerical), abs(analytic), 1e-8 * float(np.linalg.norm(grad)), 1e-300)
        worst = max(worst, abs(numerical - analytic) / scale)
    return worst


def _unrecognised(scored: list[_Scored], consistency: float | None) -> Diagnosis:
    names = list(dict.fromkeys(s.ref.name for s in scored))
    labels = list(dict.fromkeys(s.ref.labels for s in scored))
    best = min(scored, key=lambda s: s.closest[0] if s.closest else s.to_correct)
    error, what = best.closest or (best.to_correct, "correct")
    variant = "its correct gradient" if what == "correct" else what
    message = (f"The layout of theta was not recognised: in none of the {len(names)} layouts tried "
               f"({', '.join(names)}) with labels {' or '.join(labels)} does the reference network's "
               f"gradient or cost equal yours, correct or with a catalogued mistake; the closest is "
               f"layout {best.ref.name} with {variant} at relative error {error:.3g}.")
    if consistency is not None and consistency < CONSISTENT:
        message += (f" Your gradient is the gradient of your cost (directional derivatives agree to "
                    f"{consistency:.1e}), so theta is packed in a way gradcheck does not try, or the "
                    f"spec is not your network.")
    evidence = {"layouts_tried": names, "labels_tried": labels, "closest": best.row(),
                "gradient_matches_cost": None if consistency is None else consistency < CONSISTENT,
                "directional_difference": consistency, "tried": [s.row() for s in scored]}
    fix = (f"say how theta is packed: layout={' | '.join(LAYOUTS)}, or the words "
           f"layout=bias-first|bias-last|bias-separate,out-in|in-out,C|F[,weights-then-biases]; "
           f"then check sizes, hidden, output, loss, l2, reduction and labels in the spec")
    return Diagnosis("reference-layout-unrecognised", message, evidence=evidence, fix=fix)


# --- reference mode: the entry points ---------------------------------------------------------

@dataclass(frozen=True)
class ReferenceResult:
    """What reference mode found: the findings, and the layout it read theta in.

    Attributes
    ----------
    findings : list of Diagnosis
        Empty when gradient (and cost) are the reference's.
    layout : dict or None
        The layout used (``name``, ``tokens``, ``description``, ``labels``, ``same_order_as``,
        ``blocks``) and ``how`` it was chosen; None when no layout was recognised.
    blocks : list of Block
        The user's arrays in that layout (``Theta1``, ... or ``W1``, ``b1``, ...), for labelling
        coordinates; empty when no layout was recognised.
    tried : list of dict
        Every reading of theta scored: layout, labels, relative error to the correct gradient
        and, when computed, the closest catalogued variant.
    """

    findings: list[Diagnosis]
    layout: dict | None
    blocks: list[Block]
    tried: list[dict]

    def to_dict(self) -> dict:
        return {"layout": self.layout, "tried": self.tried,
                "findings": [d.to_dict() for d in self.findings]}


class _Consistency:
    """Whether the user's gradient is the gradient of the user's cost: computed once, and only
    when it has to decide (it costs 2 DIRECTIONS cost calls)."""

    def __init__(self, cost_fn, user: Array, theta_user: Array):
        self.cost_fn, self.user, self.theta_user = cost_fn, user, theta_user
        self.difference: float | None = None

    def __call__(self) -> bool:
        if self.cost_fn is None:
            return False
        if self.difference is None:
            self.difference = _consistency(self.cost_fn, self.user, self.theta_user)
        return self.difference < CONSISTENT


def _other_layout(pinned: _Scored, theta, spec: dict, X, y, user: Array, user_cost, tol: float,
                  strict: _Consistency) -> tuple[_Scored, str, list[Diagnosis]]:
    """The spec pins a layout that explains nothing: the layout that does, if one does, with a
    note that the spec's is not the one the user's theta is in."""
    readings = [_score(ref, user) for ref in _interpretations(theta, {**spec, "layout": None}, X, y)]
    other, how = _recognise(readings, user, user_cost, tol, strict)
    if other is None or np.array_equal(other.ref.order, pinned.ref.order):
        return pinned, "given in the spec", []
    given, found = spec["layout"], other.ref.name
    note = Diagnosis("reference-wrong-layout",
                     f"The spec says layout={given}, which explains neither your gradient nor your "
                     f"cost, but in layout {found} {how.replace(' in this layout', '')}: theta is in "
                     f"layout {found} ({other.ref.layout.describe()}); the comparison is made in it.",
                     evidence={"given": str(given), "found": other.ref.describe(), "how": how},
                     fix=f"pass layout={found}, or leave layout out to have it found")
    return other, f"{how} (the spec said layout={given})", [note]


def compare_reference(grad_fn, theta, spec: dict, X, y, cost_fn=None, *,
                      tol: float = 1e-6) -> ReferenceResult:
    """:func:`match_reference`, with the layout it recognised and the readings it tried."""
    refs = _interpretations(theta, spec, X, y)
    theta_user = np.asarray(theta, dtype=np.float64).ravel()
    user = call_gradient(grad_fn, grad_fn, theta_user)
    user_cost = None if cost_fn is None else call_cost(cost_fn, theta_user)
    scored = [_score(ref, user) for ref in refs]
    strict = _Consistency(cost_fn, user, theta_user)
    chosen, how = _recognise(scored, user, user_cost, tol, strict)
    notes: list[Diagnosis] = []
    if chosen is None and len({s.ref.layout for s in scored}) == 1:  # the user named the layout
        chosen, how, notes = _other_layout(scored[0], theta, spec, X, y, user, user_cost, tol, strict)
    tried = [s.row() for s in scored]
    if chosen is None:
        strict()
        return ReferenceResult([_unrecognised(scored, strict.difference)], None, [], tried)
    ref = chosen.ref
    findings = _gradient_findings(ref, user, tol)
    if user_cost is not None:
        findings += _cost_findings(ref, user_cost, tol)
    layout = {**ref.describe(), "how": how if len(scored) > 1 or notes else "given in the spec"}
    return ReferenceResult(notes + _diagnoses(ref, findings), layout, ref.blocks, tried)


def match_reference(grad_fn, theta, spec: dict, X, y, cost_fn=None, *, tol: float = 1e-6) -> list[Diagnosis]:
    """Name the textbook mistake behind a gradient (and cost) by comparison with a reference.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(theta) -> array``: the user's gradient, in the same layout as ``theta``.
    theta : array_like of shape (n_params,)
        The point to compare at, in the user's layout.
    spec : dict
        :class:`~gradcheck.nn.network.Network` keyword arguments (``sizes``, ``hidden``,
        ``output``, ``loss``, ``l2``, ``reduction``; ``allow_unsafe`` defaults to True), plus
        optionally ``"layout"`` (:func:`~gradcheck.check.reference.layouts.parse_layout`: a name such as
        ``"course"``, words such as ``"bias-last,in-out,F"``, or a dict; default: every layout
        is tried and the one that explains the gradient or cost is used) and ``"labels"``
        (``"0-based"``, ``"1-based"``, ``"K-is-0"``; default: every numbering the labels fit).
    X : array_like of shape (n_samples, sizes[0])
    y : array_like
        Class labels ``(n_samples,)`` or targets ``(n_samples, sizes[-1])``.
    cost_fn : callable, optional
        ``cost_fn(theta) -> float``; its value is compared with the reference cost and the
        catalogued cost mistakes (the logistic cost on softmax outputs, ...), and it helps
        recognise the layout.
    tol : float
        Relative error below which two gradients (or costs) count as equal.

    Returns
    -------
    list of Diagnosis
        Empty when gradient (and cost) are correct; else one ``"mistake:..."`` finding per
        mistake recognised, or ``"reference-mismatch"`` / ``"reference-cost-mismatch"`` (with
        the closest catalogued mistake), or one ``"reference-layout-unrecognised"`` when no
        layout explains the gradient or cost.
    """
    return compare_reference(grad_fn, theta, spec, X, y, cost_fn, tol=tol).findings
