"""Reference mode: given the network the user meant, which catalogued mistake
(:mod:`gradcheck.check.mistakes`) their gradient or cost matches."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from gradcheck.check.diagnosis import Diagnosis
from gradcheck.check.mistakes import MISTAKES, RIGHT, Mistake, Slip, _views, backprop, slipped_cost
from gradcheck.check.numerical import call_cost, call_gradient, relative_error
from gradcheck.errors import ConfigError
from gradcheck.nn.blocks import Block, make_blocks
from gradcheck.nn.network import Network

Array = np.ndarray

LAYOUTS = ("C", "course", "course-C")

# A variant counts as matched when the user's gradient is within `tol` of it, or when it is
# this much closer than everything else and within MATCH_CEILING (hand-written clipping or a
# float32 cast leaves a small residue that must not hide an otherwise exact match).
MATCH_MARGIN = 100.0
MATCH_CEILING = 1e-2


# --- reference mode: the network the user meant ---------------------------------------------

@dataclass
class _Reference:
    net: Network
    theta: Array          # the library's layout
    X: Array
    Y: Array
    order: Array          # user_vector = our_vector[order]
    blocks: list[Block]   # the user's layout

    def to_user(self, vector: Array) -> Array:
        return vector[self.order]


def _layout_order(net: Network, layout: str) -> Array:
    if layout == "C":
        return np.arange(net.n_params)
    if layout == "course":
        return net.course_order()
    index = np.arange(net.n_params)  # "course-C": Theta = [b W] unrolled row-major
    return np.concatenate([np.hstack([b[:, None], W]).ravel() for W, b in _views(net, index)])


def _user_blocks(net: Network, layout: str) -> list[Block]:
    if layout == "C":
        return list(net.param_blocks().values())
    shapes = {f"Theta{l}": (n_out, n_in + 1)
              for l, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:]), start=1)}
    return make_blocks(shapes, net.n_params, "F" if layout == "course" else "C")


def _build_reference(theta_user, spec: dict, X, y) -> _Reference:
    kwargs = dict(spec)
    layout = kwargs.pop("layout", "C")
    if layout not in LAYOUTS:
        raise ConfigError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}: 'course' for "
                          f"Octave's [Theta1(:); Theta2(:)], 'C' for this library's W1, b1, W2, b2.")
    # the user's code exists whatever we think of the pairing: explain it rather than refuse
    kwargs.setdefault("allow_unsafe", True)
    kwargs.setdefault("seed", 0)
    net = Network(**kwargs)
    theta_user = np.asarray(theta_user, dtype=np.float64).ravel()
    if theta_user.size != net.n_params:
        raise ConfigError(f"theta has {theta_user.size} values but the reference network "
                          f"{list(net.sizes)} has {net.n_params}; check sizes in the spec.")
    order = _layout_order(net, layout)
    theta = np.empty(net.n_params)
    theta[order] = theta_user
    objective = net.objective(X, y)
    return _Reference(net, theta, objective.X, objective.Y, order, _user_blocks(net, layout))


@dataclass(frozen=True)
class _Finding:
    """One catalogued mistake seen on one side, before it becomes a Diagnosis."""

    side: str                       # "gradient" or "cost"
    mistake: Mistake
    together: tuple[Mistake, ...]   # every mistake of the matched variant, this one included
    evidence: dict
    where: tuple = (None, (), ())   # (block, indices, positions)


def _singles(ref: _Reference, side: str) -> list[tuple[Mistake]]:
    """The catalogued mistakes that can occur on ``side`` of this network."""
    return [(m,) for m in MISTAKES.values() if side in m.sides and m.applies(ref.net)]


def _pairs(singles: list[tuple[Mistake]]) -> list[tuple[Mistake, Mistake]]:
    """Every two mistakes that change different hooks, so both can be made at once."""
    return [(a, b) for (a,), (b,) in combinations(singles, 2) if a.slip.combine(b.slip)]


def _slip_of(mistakes: tuple[Mistake, ...]) -> Slip:
    slip = RIGHT
    for m in mistakes:
        slip = slip.combine(m.slip)
    return slip


def _block_errors(ref: _Reference, a: Array, b: Array) -> dict[str, float]:
    return {blk.name: relative_error(a[blk.slice], b[blk.slice]) for blk in ref.blocks}


def _is_match(best: float, others: list[float], tol: float) -> bool:
    if best < tol:
        return True
    return best < MATCH_CEILING and all(best * MATCH_MARGIN <= e for e in others)


# --- reference mode: the gradient side ------------------------------------------------------

def _gradient_variants(ref: _Reference, candidates, correct: Array, tol: float) -> list:
    """``[(mistakes, gradient)]`` for the candidates whose gradient differs from the correct one."""
    out = []
    for mistakes in candidates:
        g = ref.to_user(backprop(ref.net, ref.theta, ref.X, ref.Y, _slip_of(mistakes)))
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


def _gradient_findings(ref: _Reference, grad_fn, theta_user, tol: float) -> list:
    user = call_gradient(grad_fn, None, theta_user)
    correct = ref.to_user(ref.net.objective(ref.X, ref.Y).grad(ref.theta))
    to_correct = relative_error(user, correct)
    if to_correct < tol:
        return []
    singles = _singles(ref, "gradient")
    tried, floor = [], [to_correct]
    for candidates in (singles, _pairs(singles)):  # one mistake explains it better than two
        variants = _gradient_variants(ref, candidates, correct, tol)
        found = _best(user, variants, floor, tol)
        tried += variants
        if found:
            error, mistakes, g, same, runner_up = found
            evidence = {"relative_error_to_correct": to_correct, "relative_error_to_mistake": error,
                        "block_errors_to_correct": _block_errors(ref, user, correct),
                        "runner_up": runner_up, "indistinguishable_from": same}
            where = _where(ref, g, correct, tol)
            return [_Finding("gradient", m, mistakes, evidence, where) for m in mistakes]
        floor += [relative_error(user, g) for _, g in variants]  # a pair must beat every single
    return [_gradient_mismatch(ref, user, correct, to_correct, tried)]


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


def _gradient_mismatch(ref, user, correct, to_correct, variants) -> Diagnosis:
    closest = min(((relative_error(user, g), ms) for ms, g in variants), default=None,
                  key=lambda s: s[0])
    evidence = {"relative_error_to_correct": to_correct,
                "block_errors_to_correct": _block_errors(ref, user, correct),
                "closest_mistake": None if closest is None else
                {"code": _joined(closest[1]), "relative_error": closest[0]}}
    return Diagnosis("reference-mismatch",
                     "The gradient matches neither the reference network's correct gradient nor "
                     "any catalogued mistake (alone or in pairs); the per-block errors show where "
                     "it departs.", evidence=evidence,
                     fix="check the spec (sizes, activations, loss, l2, reduction, layout) first, then "
                         "the block with the largest error")


# --- reference mode: the cost side ------------------------------------------------------------

def _cost_findings(ref: _Reference, cost_fn, theta_user, tol: float) -> list:
    user = call_cost(cost_fn, theta_user)
    correct = ref.net.loss(ref.X, ref.Y, ref.theta)
    if _close(user, correct, tol):
        return []
    singles = _singles(ref, "cost")
    for candidates in (singles, _pairs(singles)):  # one mistake explains it better than two
        costs = [(ms, slipped_cost(ref.net, ref.theta, ref.X, ref.Y, _slip_of(ms))) for ms in candidates]
        hits = [(ms, c) for ms, c in costs if not _close(c, correct, tol) and _close(user, c, tol)]
        if hits:
            mistakes, cost = hits[0]
            evidence = {"cost": user, "correct_cost": correct, "mistake_cost": cost,
                        "indistinguishable_from": [_joined(ms) for ms, _ in hits[1:]]}
            return [_Finding("cost", m, mistakes, evidence) for m in mistakes]
    return [Diagnosis("reference-cost-mismatch",
                      "The cost differs from the reference network's cost and from every "
                      "catalogued cost mistake.",
                      evidence={"cost": user, "correct_cost": correct,
                                "relative_difference": abs(user - correct) / max(abs(user), abs(correct))},
                      fix="compute the cost with the spec's loss, l2 and reduction")]


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
    evidence = {item.side: item.evidence for item in items}
    together = sorted({m.code for item in items for m in item.together} - {mistake.code})
    if together:
        evidence["together_with"] = together
    block, indices, positions = next((i.where for i in items if i.side == "gradient"), items[0].where)
    sides = " and ".join(item.side for item in items)
    message = f"Your {sides} matches the textbook mistake: {title} — {explanation}"
    return Diagnosis(mistake.code, message, block, indices, positions, evidence, fix)


def match_reference(grad_fn, theta, spec: dict, X, y, cost_fn=None, *, tol: float = 1e-6) -> list[Diagnosis]:
    """Name the textbook mistake behind a gradient (and cost) by comparison with a reference.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(theta) -> array``: the user's gradient in the user's ``layout``.
    theta : array_like of shape (n_params,)
        The point to compare at, in the user's layout.
    spec : dict
        :class:`~gradcheck.nn.network.Network` keyword arguments (``sizes``, ``hidden``,
        ``output``, ``loss``, ``l2``, ``reduction``; ``allow_unsafe`` defaults to True) plus
        ``"layout"``: ``"C"`` (default), ``"course"`` or ``"course-C"`` (module docstring).
    X : array_like of shape (n_samples, sizes[0])
    y : array_like
        Class labels ``(n_samples,)`` or targets ``(n_samples, sizes[-1])``.
    cost_fn : callable, optional
        ``cost_fn(theta) -> float``; its value is compared with the reference cost and the
        catalogued cost mistakes (the logistic cost on softmax outputs, ...).
    tol : float
        Relative error below which two gradients (or costs) count as equal.

    Returns
    -------
    list of Diagnosis
        Empty when gradient (and cost) are correct; else one ``"mistake:..."`` finding per
        mistake recognised, or ``"reference-mismatch"`` / ``"reference-cost-mismatch"``.
    """
    ref = _build_reference(theta, spec, X, y)
    theta_user = ref.to_user(ref.theta)
    findings = _gradient_findings(ref, grad_fn, theta_user, tol)
    if cost_fn is not None:
        findings += _cost_findings(ref, cost_fn, theta_user, tol)
    return _diagnoses(ref, findings)
