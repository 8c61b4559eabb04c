"""A gradient check in a handful of evaluations, and bisection to the wrong coordinates.

:func:`quick_check` draws ``k`` random unit directions ``v`` and compares the directional
central difference ``(f(theta + eps v) - f(theta - eps v)) / (2 eps)`` with ``grad . v``:
``2k`` evaluations of ``f`` whatever the number of parameters.  A direction passes when

    |numerical - analytic| <= tol * max(|numerical|, |analytic|) + noise,
    noise = ROUNDOFF_FACTOR * u * (1 + max |f(theta +- eps v)|) / eps,

where ``u`` is the unit round-off of the dtype ``f`` returns: the first term is the usual
relative error, the second the round-off of two evaluations of ``f`` divided by ``2 eps``
(so a tiny ``grad . v`` next to a large cost is no false alarm).  A direction that fails
is measured again with steps ``eps / 4`` and ``4 eps`` and fails only if it fails at all
three: a wrong gradient does not depend on the step, truncation and round-off do.

On a failure the wrong coordinates are localised by bisection with further directional
checks.  The residual ``r(v) = numerical - grad . v`` is linear in ``v`` (up to
``O(eps^2)``): restricting one failing ``v`` to the blocks (W1, b1, ...) and then to halves
of index ranges, only the first part of each split is measured; the last is the parent's
residual minus the measured ones.  A single wrong coordinate among ``P`` costs about
``2 log2(P)`` evaluations.  Coordinates where the gradient is NaN or Inf are located
without evaluating anything.  After each search a fresh direction over the coordinates
not yet located checks that nothing was missed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradcheck.check.numerical import TOLERANCE, call_cost, call_gradient, check_eps, flat_theta
from gradcheck.errors import ConfigError
from gradcheck.nn.blocks import Block, make_blocks

__all__ = ["quick_check", "QuickReport", "ROUNDOFF_FACTOR"]

Array = np.ndarray

#: How many unit round-offs of ``1 + |f|`` one evaluation of ``f`` may be off by: the
#: cost is a long sum (samples, matrix products), each term rounded.
ROUNDOFF_FACTOR = 1000.0
_SEARCH_ROUNDS = 3


@dataclass
class QuickReport:
    """The outcome of :func:`quick_check`.

    Attributes
    ----------
    passed : bool
        Every direction agreed (and the gradient was finite).
    numerical, analytic, allowed : ndarray of shape (k,)
        Directional central differences, ``grad . v``, and the tolerated difference.
    located : ndarray of int
        Flat indices of coordinates found wrong, sorted.
    labels : list of str
        Their block labels, e.g. ``"W1[3, 17]"``.
    unresolved : list of (int, int)
        Index ranges ``[start, stop)`` still suspect when the search stopped (at
        ``max_located`` or ``max_evaluations``).
    n_evaluations : int
        Calls of ``f`` (the one call of ``grad`` not counted).
    inconclusive : str or None
        Why the check could not decide (then ``passed`` is False): a cost computed in a
        low precision (float32) whose round-off at this ``eps`` tolerates differences as
        large as the derivatives themselves, so a wrong gradient would pass too.
    """

    passed: bool
    numerical: Array
    analytic: Array
    allowed: Array
    blocks: list[Block]
    located: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unresolved: list[tuple[int, int]] = field(default_factory=list)
    n_evaluations: int = 0
    eps: float = 1e-5
    inconclusive: str | None = None

    @property
    def errors(self) -> Array:
        """Relative error of each direction, ``|n - a| / max(|n|, |a|)`` (0 when both are 0)."""
        diff = np.abs(self.numerical - self.analytic)
        scale = np.maximum(np.abs(self.numerical), np.abs(self.analytic))
        return np.divide(diff, scale, out=diff.copy(), where=scale > 0)

    @property
    def labels(self) -> list[str]:
        return [_block_of(self.blocks, int(i)).label(int(i)) for i in self.located]

    @property
    def unresolved_labels(self) -> list[str]:
        return [_range_label(self.blocks, a, b) for a, b in self.unresolved]

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"passed": self.passed, "eps": self.eps, "n_evaluations": self.n_evaluations,
                "inconclusive": self.inconclusive,
                "directions": [{"numerical": float(n), "analytic": float(a), "allowed": float(t),
                                "relative_error": float(e)}
                               for n, a, t, e in zip(self.numerical, self.analytic, self.allowed,
                                                     self.errors)],
                "located": [{"index": int(i), "label": lbl} for i, lbl in zip(self.located, self.labels)],
                "unresolved": [{"start": a, "stop": b, "label": lbl}
                               for (a, b), lbl in zip(self.unresolved, self.unresolved_labels)]}


def _block_of(blocks: list[Block], index: int) -> Block:
    for b in blocks:
        if b.start <= index < b.stop:
            return b
    raise IndexError(index)


def _range_label(blocks: list[Block], start: int, stop: int) -> str:
    first, last = _block_of(blocks, start), _block_of(blocks, stop - 1)
    if start == stop - 1:
        return first.label(start)
    return f"{first.label(start)} .. {last.label(stop - 1)}"


# --- directional differences -----------------------------------------------------------

class _Prober:
    """Directional central differences of ``f`` at ``theta``, counting evaluations.

    ``unit`` is the unit round-off of the coarsest float dtype ``f`` has returned (float64
    for Python floats), so a float32 cost gets a float32 allowance.
    """

    def __init__(self, f: Callable, theta: Array, grad: Array, eps: float, tol: float,
                 budget: int):
        self.f, self.theta, self.grad = f, theta, grad
        self.eps, self.tol, self.budget = eps, tol, budget
        self.unit = float(np.finfo(np.float64).eps) / 2
        self.n_evaluations = 0

    def _spy(self, theta: Array):
        value = self.f(theta)
        raw = value[0] if isinstance(value, tuple) else value
        dtype = getattr(raw, "dtype", None)
        if dtype is not None and dtype.kind == "f":
            self.unit = max(self.unit, float(np.finfo(dtype).eps) / 2)
        return value

    @property
    def exhausted(self) -> bool:
        return self.n_evaluations + 2 > self.budget

    def probe(self, v: Array, eps: float | None = None) -> tuple[float, float, float, float]:
        """``(residual, allowed, numerical, analytic)`` along ``v`` (step ``eps`` or the default)."""
        eps = self.eps if eps is None else eps
        f_plus = call_cost(self._spy, self.theta + eps * v)
        f_minus = call_cost(self._spy, self.theta - eps * v)
        self.n_evaluations += 2
        numerical = (f_plus - f_minus) / (2 * eps)
        analytic = float(self.grad @ v)
        size = max(abs(f_plus), abs(f_minus))
        noise = ROUNDOFF_FACTOR * self.unit * (1.0 + size) / eps
        allowed = self.tol * max(abs(numerical), abs(analytic)) + noise
        return numerical - analytic, allowed, numerical, analytic


def _too_coarse(prober: _Prober, numerical: Array, analytic: Array, allowed: Array) -> str | None:
    """Why a low-precision cost cannot decide, or None.

    In float64 the round-off allowance is far below any derivative worth checking; a
    float32 cost's is about 1e6 times larger, and at the usual steps it can exceed the
    directional derivatives themselves: a gradient half as large again then passes along
    every direction, and the check decides nothing (one direction that resolves its
    derivative is enough to catch such an error).
    """
    if prober.unit <= float(np.finfo(np.float64).eps) / 2:
        return None
    scale = np.maximum(np.abs(numerical), np.abs(analytic))
    if not np.all(allowed >= 0.5 * scale):
        return None
    i = int(np.argmax(allowed / np.where(scale > 0, scale, np.inf)))
    dtype = "float32" if prober.unit == float(np.finfo(np.float32).eps) / 2 else "low-precision"
    return (f"the cost is computed in {dtype}: its round-off at eps {prober.eps:g} tolerates a "
            f"difference of {allowed[i]:.2g} against a directional derivative of {scale[i]:.2g}, "
            f"so a wrong gradient would pass too; compute the cost in float64")


def _bad(residual: float, allowed: float) -> bool:
    return not abs(residual) <= allowed  # NaN counts as bad


def _confirmed(prober: _Prober, v: Array, residual: float) -> bool:
    """Does a direction that failed with step ``eps`` fail alike with ``eps / 4`` and ``4 eps``?

    A wrong gradient leaves a residual that does not depend on the step.  Truncation
    (a jump in the second derivative, as ELU's at 0, or a large third derivative)
    shrinks at least 4-fold with the smaller step, and round-off beyond the allowance
    4-fold with the larger one; so the residual must fail and keep at least half its
    size at both.
    """
    for factor in (0.25, min(4.0, 0.5 / prober.eps)):
        r, allowed = prober.probe(v, factor * prober.eps)[:2]
        if not (_bad(r, allowed) and not abs(r) < 0.5 * abs(residual)):
            return False
    return True


def _failing(prober: _Prober, V: Array, residual: Array, allowed: Array) -> Array:
    """Which directions fail, confirmed most clearly failing first until one is confirmed."""
    ratio = np.where(np.isnan(residual), np.inf, np.abs(residual) / allowed)
    bad = np.zeros(len(V), dtype=bool)
    for d in np.argsort(-ratio, kind="stable"):
        if ratio[d] <= 1:
            break
        bad[d] = _confirmed(prober, V[d], residual[d])
        if bad[d]:
            bad |= ratio > 1  # one confirmed error: the other failing directions show it too
            break
    return bad


def _unit_directions(rng: np.random.Generator, k: int, mask: Array) -> Array:
    """``k`` random unit vectors, zero outside ``mask``."""
    V = rng.standard_normal((k, mask.size)) * mask
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)


# --- bisection --------------------------------------------------------------------------

def _children(start: int, stop: int, bounds: Array) -> list[tuple[int, int]]:
    """Two halves of ``[start, stop)``: at the block boundary nearest the middle, if any."""
    inner = bounds[(bounds > start) & (bounds < stop)]
    middle = (start + stop) // 2
    cut = int(inner[np.argmin(np.abs(inner - middle))]) if inner.size else middle
    return [(start, cut), (cut, stop)]


def _split(prober: _Prober, v: Array, node, bounds: Array) -> list[tuple]:
    """Residuals of a node's children: all measured but the last, which is inferred."""
    start, stop, residual, allowed = node
    parts = _children(start, stop, bounds)
    out, measured, tolerated = [], 0.0, 0.0
    for a, b in parts[:-1]:
        part = np.zeros_like(v)
        part[a:b] = v[a:b]
        # a part the direction does not touch has residual 0: no need to evaluate f
        r, t = prober.probe(part)[:2] if part.any() else (0.0, 0.0)
        out.append((a, b, r, t))
        measured, tolerated = measured + r, tolerated + t
    a, b = parts[-1]
    out.append((a, b, residual - measured, allowed + tolerated))  # noise of each part adds up
    return out


def _bisect(prober: _Prober, v: Array, top: tuple, bounds: Array, max_located: int):
    """Depth-first search for the coordinates that make ``top`` fail.

    Returns the located indices and the suspect ranges left when a limit was reached.
    """
    located: list[int] = []
    stack = [top]
    while stack and len(located) < max_located and not prober.exhausted:
        node = stack.pop()
        if node[1] - node[0] == 1:
            located.append(node[0])
            continue
        children = _split(prober, v, node, bounds)
        stack.extend(c for c in reversed(children) if _bad(c[2], c[3]))
    return located, [(a, b) for a, b, _, _ in stack]


def _search(prober: _Prober, rng, v: Array, failed: tuple, mask: Array, bounds: Array,
            max_located: int):
    """Bisect from a failing direction, then re-check what is left with fresh directions."""
    located: list[int] = []
    unresolved: list[tuple[int, int]] = []
    residual, allowed = failed
    for _ in range(_SEARCH_ROUNDS):
        found, left = _bisect(prober, v, (0, mask.size, residual, allowed), bounds,
                              max_located - len(located))
        located += found
        unresolved += left
        mask[found] = False
        for a, b in left:
            mask[a:b] = False
        if left or len(located) >= max_located or prober.exhausted or not mask.any():
            break
        v = _unit_directions(rng, 1, mask)[0]
        residual, allowed, _, _ = prober.probe(v)
        if not _bad(residual, allowed):
            break
    return located, unresolved


# --- the check --------------------------------------------------------------------------

def _default_blocks(f: Callable, blocks, n: int, order: str) -> list[Block]:
    if blocks is None and hasattr(f, "net") and hasattr(f.net, "param_blocks"):
        blocks = f.net.param_blocks()  # a Network objective labels its own coordinates
    return make_blocks(blocks, n, order)


def _check_args(k, eps, max_located) -> None:
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ConfigError(f"k must be a whole number of directions >= 1, got {k!r}; 3 is usual.")
    check_eps(eps, suggested=1e-5)
    if not (isinstance(max_located, (int, np.integer)) and max_located >= 1):
        raise ConfigError(f"max_located must be a whole number >= 1, got {max_located!r}.")


def quick_check(f: Callable, grad: Callable | None, theta, k: int = 3, eps: float = 1e-5,
                seed: int | None = 0, *, blocks=None, order: str = "C", tol: float = TOLERANCE,
                locate: bool = True, max_located: int = 64,
                max_evaluations: int | None = None) -> QuickReport:
    """Compare ``grad`` with directional central differences of ``f`` along ``k`` directions.

    Parameters
    ----------
    f : callable
        ``f(theta) -> J``, or ``f(theta) -> (J, grad)`` when ``grad`` is None.
    grad : callable or None
        ``grad(theta) -> array`` of theta's size.
    theta : array_like of shape (n_params,)
        Evaluated in float64.
    k : int
        Number of random unit directions (``np.random.default_rng(seed)``).
    eps : float
        Step along each unit direction.
    blocks, order
        Parameter layout for labels, as in :func:`gradcheck.check.check_gradient`; a
        Network objective brings its own.
    tol : float
        Relative error a direction may show (plus the round-off allowance).
    locate : bool
        On failure, bisect to the wrong coordinates.
    max_located, max_evaluations : int
        Stop the search after this many coordinates, or calls of ``f``; what is still
        suspect is reported in ``unresolved``.

    Returns
    -------
    QuickReport
    """
    theta = flat_theta(theta)
    _check_args(k, eps, max_located)
    block_list = _default_blocks(f, blocks, theta.size, order)
    g = call_gradient(grad, f, theta)
    finite = np.isfinite(g)
    depth = len(block_list) + int(np.ceil(np.log2(theta.size))) + 1
    budget = max_evaluations or 2 * k + 2 * max_located * depth
    prober = _Prober(f, theta, np.where(finite, g, 0.0), eps, tol, budget)
    rng = np.random.default_rng(seed)
    V = _unit_directions(rng, k, finite)
    residual, allowed, numerical, analytic = (np.array(x) for x in zip(*map(prober.probe, V)))
    bad = _failing(prober, V, residual, allowed)
    report = QuickReport(bool(finite.all() and not bad.any()), numerical, analytic, allowed,
                         block_list, np.flatnonzero(~finite), eps=eps,
                         inconclusive=_too_coarse(prober, numerical, analytic, allowed))
    if report.inconclusive:
        report.passed = False
    if bad.any() and locate:
        _locate_into(report, prober, rng, V, np.where(bad, residual, 0.0), allowed, finite,
                     max_located)
    report.n_evaluations = prober.n_evaluations
    return report


def _locate_into(report: QuickReport, prober: _Prober, rng, V: Array, residual: Array,
                 allowed: Array, finite: Array, max_located: int) -> None:
    """Search from the most clearly failing direction and record what was found."""
    score = np.where(np.isfinite(residual), np.abs(residual) / allowed, -1.0)
    worst = int(np.argmax(score))
    if score[worst] < 0:  # f was not finite along every direction: nothing to bisect on
        report.unresolved = [(0, finite.size)]
        return
    bounds = np.array([b.start for b in report.blocks] + [finite.size])
    found, left = _search(prober, rng, V[worst], (residual[worst], allowed[worst]), finite.copy(),
                          bounds, max_located - report.located.size)
    report.located = np.union1d(report.located, found).astype(np.int64)
    report.unresolved = left
