"""The gradient doctor: findings that say why an analytic gradient disagrees.

A :class:`Diagnosis` is one finding with a stable ``code``.  :func:`diagnose` runs the
registered detectors (:data:`DETECTORS`) over a failed
:class:`~gradcheck.check.report.GradientReport` and returns the findings; a passing report gets
none.  Detectors that need the cost function (non-finite perturbations, nondeterminism,
precision, kinks, the step-size sweep) run only when ``f`` is given; the others read the
two columns alone, which is what :func:`check_arrays` does for pasted numbers.

Per block, the first classifier of :data:`BLOCK_CLASSIFIERS` that fits names the mistake
(zero-gradient, transposed, bias-regularized, scale-factor, sign-flip, different-function,
uncorrelated); generic findings confined to some blocks while others agree become one
``block-mismatch``.  Thresholds are module constants, documented in the README (The gradient doctor: Codes).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradcheck.check.diagnosis import Diagnosis, replace_message
from gradcheck.check.numerical import (
    COORD_ATOL,
    COORD_RTOL,
    TOLERANCE,
    call_cost,
    coord_limit,
    numerical_gradient,
    relative_error,
)
from gradcheck.check.report import GradientReport
from gradcheck.errors import ConfigError
from gradcheck.nn.blocks import make_blocks

__all__ = ["Detector", "DETECTORS", "BLOCK_CLASSIFIERS", "SCALE_MEANINGS", "diagnose", "check_arrays"]

Array = np.ndarray

SIGN_FLIP_COSINE = -0.99      # analytic ~ -numerical
PARTIAL_FLIP_COSINE = -0.5    # a flipped data term plus an unflipped (regulariser) term
OPPOSITE_SIGNS = 0.9          # ... when at least this fraction of coordinates has opposite signs
SCALE_RESIDUAL = 1e-3         # ||a - k n|| / ||a|| below this: one consistent factor k
RELATED_COSINE = 0.5          # |cosine| below this: the gradient of another function
FIT_RTOL = 1e-4               # a structural explanation (transposed, bias term) must fit this well
MEANING_RTOL = 0.01           # k within 1 % of m, 2, n_outputs, ... names the meaning
EXACT_FLIP_RTOL = 1e-6        # |a + n| below this relative amount: exactly flipped
ISOLATED_MAX = 3              # up to this many single wrong coordinates (or ISOLATED_SHARE) ...
ISOLATED_SHARE = 0.01         # ... of all, in blocks that otherwise agree: isolated-coordinates
MAX_PROBES = 24               # coordinates the function-based detectors re-evaluate
SWEEP_PROBES = 8              # ... and the step sweep, which costs 18 evaluations per coordinate
FLOAT32_TOLERANCE = 3e-3      # agreement reachable when the cost is computed in float32
STEP_SWEEP = tuple(10.0 ** -k for k in range(2, 11))
COST_RESOLUTION = 1e-10       # relative noise of a cost above this: not a float64 computation
FLOAT32_STEPS = (1e-2, 5e-3, 2e-3, 1e-3)  # around cbrt(float32 eps) ~ 5e-3, the best step there


# --- the context the detectors share ----------------------------------------------------

@dataclass
class _Context:
    """What the detectors read and update while diagnosing one report."""

    report: GradientReport
    f: Callable | None
    grad: Callable | None
    theta: Array | None           # as the caller passed it (its dtype is evidence)
    n_samples: int | None
    n_outputs: int | None
    usable: Array                 # coordinates the column detectors may read
    settled: bool = False         # a finding explains the whole mismatch: stop

    @property
    def theta64(self) -> Array:
        return np.array(self.theta, dtype=np.float64).ravel()

    @property
    def cost_scale(self) -> float:
        cost = self.report.cost
        return 1.0 + abs(cost) if np.isfinite(cost) else 1.0

    def suspects(self, k: int = MAX_PROBES) -> Array:
        """Usable mismatched coordinates, worst first (the worst usable ones if none)."""
        r = self.report
        diff = np.abs(r.analytic - r.numerical)
        usable = np.flatnonzero(self.usable & r.included)
        candidates = np.intersect1d(r.mismatched, usable)
        if candidates.size == 0 and not _agrees(r.analytic[usable], r.numerical[usable], self):
            candidates = usable  # no coordinate fails alone, but the norms do
        order = np.argsort(-diff[candidates], kind="stable")
        return candidates[order][:k]


def _locate(report: GradientReport, indices) -> tuple[str | None, tuple, list[str]]:
    """The common block (or None), the in-block positions and labels of flat indices."""
    indices = [int(i) for i in indices]
    blocks = {report.block_of(i).name for i in indices}
    positions = tuple(report.block_of(i).position(i) for i in indices)
    labels = [report.block_of(i).label(i) for i in indices]
    return (blocks.pop() if len(blocks) == 1 else None), positions, labels


def _listing(labels: list[str], limit: int = 6) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _within(a: Array, n: Array, ctx: _Context) -> Array:
    """Per-coordinate agreement, the same rule as :attr:`GradientReport.mismatched`."""
    return np.abs(a - n) <= coord_limit(a, n, ctx.cost_scale, ctx.report.rounding)


def _agrees(a: Array, n: Array, ctx: _Context) -> bool:
    """The report's own rule on a subset: norms within tolerance plus the round-off floor."""
    r = ctx.report
    allowed = r.tolerance * max(float(np.linalg.norm(a)), float(np.linalg.norm(n)))
    close = float(np.linalg.norm(a - n)) <= allowed + r.noise * np.sqrt(a.size)
    return close and bool(np.all(_within(a, n, ctx)))


def _cosine(a: Array, n: Array) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(n))
    return float(a @ n) / norm if norm > 0 else 0.0


# --- detectors that need the cost function ---------------------------------------------

def _perturbed(f: Callable, theta: Array, i: int, step: float) -> float:
    saved = theta[i]
    theta[i] = saved + step
    try:
        return call_cost(f, theta)
    finally:
        theta[i] = saved


def _detect_non_finite(ctx: _Context) -> list[Diagnosis]:
    """NaN/Inf in the cost at theta, in the analytic or in the numerical gradient."""
    r = ctx.report
    if ctx.f is not None and not np.isfinite(r.cost):
        ctx.settled = True
        return [Diagnosis("non-finite", f"the cost itself is {r.cost} at theta, so no difference "
                          f"quotient can be formed.", evidence={"side": "cost", "cost": str(r.cost)},
                          fix=_NON_FINITE_FIX)]
    found = []
    for side, values in (("analytic", r.analytic), ("numerical", r.numerical)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            found.append(_non_finite_finding(ctx, side, bad))
            ctx.usable[bad] = False
    return found


_NON_FINITE_FIX = ("look for log(0), 0/0 or exp overflow: compute log-losses from the "
                   "pre-activations (logsumexp, log-sigmoid via logaddexp) or use scipy.special.xlogy; "
                   "clipping a inside log(max(a, eps)) hides it but changes the gradient.")


def _non_finite_finding(ctx: _Context, side: str, bad: Array) -> Diagnosis:
    block, positions, labels = _locate(ctx.report, bad)
    evidence = {"side": side, "count": int(bad.size), "labels": labels[:20]}
    message = f"the {side} gradient is NaN/Inf at {bad.size} coordinate(s) ({_listing(labels)})."
    if side == "numerical" and ctx.f is not None:
        steps = _bad_perturbations(ctx, bad[:10])
        evidence["perturbations"] = steps
        moves = "; ".join(f"{label} moves by {' or '.join(s)}" for label, s in steps.items() if s)
        message = (f"the cost becomes NaN/Inf when {moves} (numerical side, {bad.size} "
                   f"coordinate(s)).") if moves else message
    return Diagnosis("non-finite", message, block, tuple(int(i) for i in bad), positions, evidence,
                     _NON_FINITE_FIX)


def _bad_perturbations(ctx: _Context, indices: Array) -> dict[str, list[str]]:
    """For each index, which of ``theta_i +- eps`` makes the cost non-finite."""
    theta, eps, out = ctx.theta64, ctx.report.eps, {}
    for i in indices:
        label = ctx.report.block_of(int(i)).label(int(i))
        out[label] = [f"{sign}{eps:g}" for sign, step in (("+", eps), ("-", -eps))
                      if not np.isfinite(_perturbed(ctx.f, theta, int(i), step))]
    return out


def _detect_nondeterministic(ctx: _Context) -> list[Diagnosis]:
    """Repeated calls of f at the same theta must return the same number."""
    r = ctx.report
    theta = ctx.theta64
    values = np.array([r.cost] + [call_cost(ctx.f, theta.copy()) for _ in range(3)])
    noise = float(np.ptp(values))
    if noise == 0 or not np.isfinite(noise):
        return []
    induced = noise / (2 * r.eps)  # the error noise alone puts into a central difference
    idx = ctx.suspects()
    gap = float(np.max(np.abs(r.analytic[idx] - r.numerical[idx]))) if idx.size else 0.0
    ctx.settled = induced >= 0.1 * gap
    verdict = ("which alone explains the mismatch" if ctx.settled
               else "which is too small to explain it; see the other findings")
    return [Diagnosis("nondeterministic",
                      f"the cost returned different values for the same theta (spread {noise:.2e}); "
                      f"with eps={r.eps:g} this noise moves each numerical derivative by up to "
                      f"{induced:.2e} against a largest gap of {gap:.2e}, {verdict}.",
                      evidence={"values": values, "noise": noise, "induced_error": induced, "gap": gap},
                      fix="make the cost deterministic while checking: turn dropout and sampling off, "
                          "or draw them from a Generator re-seeded inside every call.")]


def _cost_dtype_reason(ctx: _Context) -> str | None:
    value = ctx.f(ctx.theta64.copy())
    value = value[0] if isinstance(value, tuple) else value
    dtype = np.asarray(value).dtype
    return f"the cost returns {dtype}" if dtype.kind == "f" and dtype.itemsize < 8 else None


def _gradient_dtype_reason(ctx: _Context) -> str | None:
    value = (ctx.grad or ctx.f)(ctx.theta64.copy())
    value = value[1] if ctx.grad is None and isinstance(value, tuple) else value
    dtype = np.asarray(value).dtype
    return f"the gradient returns {dtype}" if dtype.kind == "f" and dtype.itemsize < 8 else None


def _cost_resolution(ctx: _Context) -> float:
    """Relative noise of the cost along one coordinate, from its third differences.

    Third differences of 8 closely spaced values cancel the smooth part (~delta^3 f^(3)) and
    leave round-off: ~1e-16 relative for a float64 computation, ~1e-8 when float32 hides inside.
    """
    theta, i = ctx.theta64, int(ctx.suspects(1)[0])
    delta = 1e-5 * max(1.0, abs(theta[i]))
    values = np.array([_perturbed(ctx.f, theta, i, k * delta) for k in range(8)])
    if not np.all(np.isfinite(values)):
        return 0.0
    sigma = float(np.std(np.diff(values, 3))) / np.sqrt(20.0)  # var(diff^3 of white noise) = 20 var
    return sigma / max(float(np.max(np.abs(values))), 1e-300)


def _cost_steps_reason(ctx: _Context) -> str | None:
    resolution = _cost_resolution(ctx)
    if resolution > COST_RESOLUTION:
        return (f"the cost only resolves relative changes of about {resolution:.0e} (float32-sized "
                f"steps; float64 resolves ~1e-16)")
    return None


PRECISION_PROBES = (_cost_dtype_reason, _gradient_dtype_reason, _cost_steps_reason)


def _detect_low_precision(ctx: _Context) -> list[Diagnosis]:
    """Float32 somewhere in the cost or gradient; re-run with a step suited to it."""
    if ctx.suspects(1).size == 0:
        return []
    reasons = [reason for probe in PRECISION_PROBES if (reason := probe(ctx))]
    if not reasons:
        return []
    r, idx = ctx.report, ctx.suspects()
    cost_low = any("cost" in reason for reason in reasons)
    steps = FLOAT32_STEPS if cost_low else (r.eps,)
    errors = {eps: relative_error(r.analytic[idx], numerical_gradient(ctx.f, ctx.theta64, eps, idx)[idx])
              for eps in steps}
    eps = min(errors, key=errors.get)
    before, after = relative_error(r.analytic[idx], r.numerical[idx]), errors[eps]
    ctx.settled = after <= FLOAT32_TOLERANCE
    outcome = (f"re-run with eps={eps:.1e} (the step that suits float32) the gradients agree to "
               f"{after:.1e}, down from {before:.1e}: the mismatch is precision, not a bug"
               if ctx.settled else f"re-run with eps={eps:.1e} the mismatch stays ({after:.1e}), "
               f"so precision is not the whole story")
    if ctx.theta is not None and np.asarray(ctx.theta).dtype == np.float32:
        reasons.append("theta was float32 (the check itself ran in float64)")
    return [Diagnosis("low-precision", f"{'; '.join(reasons)}; {outcome}.",
                      evidence={"reasons": reasons, "eps_rerun": eps, "relative_error_before": before,
                                "relative_error_after": after, "goes_away": ctx.settled},
                      fix="compute the cost and gradient in float64 for the check (theta, data and "
                          "intermediates), or use eps near 5e-3 and a tolerance near 1e-3 in float32.")]


def _one_sided(f: Callable, theta: Array, i: int, h: float, cost: float) -> tuple[float, float]:
    return (_perturbed(f, theta, i, h) - cost) / h, (cost - _perturbed(f, theta, i, -h)) / h


def _is_kink(ctx: _Context, theta: Array, i: int) -> dict | None:
    """One-sided derivatives that jump and stay put as the step shrinks bracket a kink."""
    r, h = ctx.report, ctx.report.eps
    fwd, bwd = _one_sided(ctx.f, theta, i, h, r.cost)
    fwd2, bwd2 = _one_sided(ctx.f, theta, i, h / 10, r.cost)
    jump = abs(fwd - bwd)
    slack = COORD_RTOL * max(abs(fwd), abs(bwd)) + COORD_ATOL * ctx.cost_scale
    stable = max(abs(fwd - fwd2), abs(bwd - bwd2)) <= 0.1 * jump  # noise would not be stable
    a = r.analytic[i]
    inside = min(fwd, bwd) - slack <= a <= max(fwd, bwd) + slack  # a valid one-sided derivative
    if jump > slack and stable and inside:
        return {"forward": fwd, "backward": bwd, "analytic": float(a), "central": float(r.numerical[i])}
    return None


def _detect_kink(ctx: _Context) -> list[Diagnosis]:
    """Exclude coordinates at a non-differentiable point from the verdict."""
    theta, kinks = ctx.theta64, {}
    for i in ctx.suspects():
        found = _is_kink(ctx, theta, int(i))
        if found:
            kinks[int(i)] = found
    if not kinks:
        return []
    indices = np.array(sorted(kinks))
    ctx.report.excluded[indices] = True
    ctx.usable[indices] = False
    block, positions, labels = _locate(ctx.report, indices)
    evidence = {label: kinks[i] for label, i in zip(labels, indices)}
    return [Diagnosis("kink", f"{_listing(labels)} sit(s) on a kink of the cost (e.g. ReLU at 0): the "
                      f"one-sided derivatives differ and the analytic value is one of them or between, "
                      f"so these coordinates are left out of the verdict.", block,
                      tuple(int(i) for i in indices), positions, evidence,
                      "nothing to fix if the kink is real; check at another theta to test those "
                      "coordinates too.")]


def _detect_step_size(ctx: _Context) -> list[Diagnosis]:
    """Sweep eps: truncation (~eps^2), round-off (~1/eps) or flat (a real bug, no finding)."""
    r, idx = ctx.report, ctx.suspects(SWEEP_PROBES)
    if idx.size == 0:
        return []
    theta, a = ctx.theta64, r.analytic[idx]
    sweep = {eps: relative_error(a, numerical_gradient(ctx.f, theta, eps, idx)[idx]) for eps in STEP_SWEEP}
    best = min(sweep, key=sweep.get)
    if sweep[best] > r.tolerance:
        return []  # no step makes them agree: the gradient itself is wrong
    ctx.settled = True
    regime = "truncation error (~eps^2)" if r.eps > best else "round-off error (~1/eps)"
    return [Diagnosis("step-size", f"the analytic gradient is right: with eps={r.eps:g} the numerical "
                      f"gradient suffers {regime}; with eps={best:g} they agree to {sweep[best]:.1e}.",
                      evidence={"eps": r.eps, "best_eps": best, "regime": regime,
                                "sweep": {f"{e:g}": v for e, v in sweep.items()}},
                      fix=f"use eps={best:g} (about 1e-6 times the scale of theta suits float64).")]


# --- detectors that read the two columns ----------------------------------------------

def _detect_unperturbed(ctx: _Context) -> list[Diagnosis]:
    """A numerical loop that skipped coordinates leaves exact zeros there."""
    r = ctx.report
    skipped = np.flatnonzero(ctx.usable & (r.numerical == 0)
                             & (np.abs(r.analytic) > COORD_ATOL * ctx.cost_scale))
    if skipped.size == 0:
        return []
    ctx.usable[skipped] = False
    block, positions, labels = _locate(r, skipped)
    hint = " — a loop such as range(1, n) that starts at 1" if skipped.tolist() == [0] else ""
    return [Diagnosis("unperturbed-coordinates",
                      f"the numerical gradient is exactly 0 at index {', '.join(map(str, skipped[:10]))} "
                      f"({_listing(labels)}) where the analytic one is not: those coordinates were never "
                      f"perturbed{hint}.", block, tuple(int(i) for i in skipped), positions,
                      {"analytic": r.analytic[skipped][:20], "labels": labels[:20]},
                      "loop over every index, for p in range(theta.size) (0-based), in the numerical "
                      "gradient.")]


def _detect_bias_regularized(ctx: _Context) -> list[Diagnosis]:
    """The difference is c * theta on the bias coordinates and nothing elsewhere."""
    r = ctx.report
    if ctx.theta is None:
        return []
    bias = np.zeros(r.numerical.size, bool)
    for b in r.blocks:
        mask = _bias_mask(b)
        bias[b.slice] = mask if mask is not None else False
    bias &= ctx.usable
    rest = ctx.usable & ~bias
    theta, d = ctx.theta64, r.analytic - r.numerical
    off = bias & ~_within(r.analytic, r.numerical, ctx)
    if off.sum() < 2 or not _agrees(r.analytic[rest], r.numerical[rest], ctx):
        return []
    tb, db = theta[bias], d[bias]
    c = float(tb @ db) / float(tb @ tb) if np.any(tb) else 0.0
    if c <= 0 or np.linalg.norm(db - c * tb) > FIT_RTOL ** 0.5 * np.linalg.norm(db):
        return []
    ctx.settled = True
    indices = np.flatnonzero(bias)
    block, positions, labels = _locate(r, indices)
    names = sorted({r.block_of(int(i)).name for i in indices}, key=[b.name for b in r.blocks].index)
    return [Diagnosis("bias-regularized", f"the difference is {c:.4g} * theta on the bias coordinates "
                      f"({', '.join(names)}) and zero elsewhere: the biases are regularised.", block,
                      tuple(int(i) for i in indices), positions, {"c": c, "blocks": names},
                      "leave biases out of the penalty: add (lambda/m) * theta to the weights only "
                      "(Theta(:, 2:end) in Octave, Theta[:, 1:] in NumPy).")]


def _detect_isolated(ctx: _Context) -> list[Diagnosis]:
    """A handful of single coordinates disagree, in blocks that otherwise agree."""
    r = ctx.report
    usable = np.flatnonzero(ctx.usable)
    off = usable[~_within(r.analytic[usable], r.numerical[usable], ctx)]
    limit = max(ISOLATED_MAX, int(ISOLATED_SHARE * usable.size))
    if not 0 < off.size <= limit:
        return []
    for name in {r.block_of(int(i)).name for i in off}:  # half a block or more: a block's finding
        block = next(b for b in r.blocks if b.name == name)
        in_block = np.count_nonzero(ctx.usable[block.slice])
        if 2 * np.count_nonzero((off >= block.start) & (off < block.start + block.size)) >= in_block:
            return []
    rest = np.setdiff1d(usable, off)
    if not _agrees(r.analytic[rest], r.numerical[rest], ctx):
        return []
    ctx.settled = True
    block, positions, labels = _locate(r, off)
    err = relative_error(r.analytic[rest], r.numerical[rest])
    return [Diagnosis(
        "isolated-coordinates",
        f"only {off.size} of {usable.size} coordinates disagree ({_listing(labels)}); all the others "
        f"agree to {err:.1e}: single entries are computed wrongly, not a whole formula.", block,
        tuple(int(i) for i in off), positions,
        {"labels": labels[:20], "analytic": r.analytic[off][:20], "numerical": r.numerical[off][:20],
         "rest_relative_error": err},
        "look at how exactly these entries are computed: an index off by one, an entry written "
        "twice or left from a previous call, a special case (the first or last row/column).")]


def _detect_blocks(ctx: _Context) -> list[Diagnosis]:
    """Classify every disagreeing block; merge findings that concern the whole vector."""
    r = ctx.report
    per_block, agreeing = {}, {}
    for b in r.blocks:
        idx = np.flatnonzero(ctx.usable[b.slice]) + b.start
        if idx.size == 0:
            continue
        a, n = r.analytic[idx], r.numerical[idx]
        if _agrees(a, n, ctx):
            agreeing[b.name] = relative_error(a, n)
        else:
            per_block[b.name] = _classify(ctx, b, idx)
    if not per_block:
        return []
    if agreeing:
        return _confined(ctx, per_block, agreeing)
    return _everywhere(ctx, per_block)


def _classify(ctx: _Context, block, idx: Array) -> Diagnosis:
    for classify in BLOCK_CLASSIFIERS:
        found = classify(ctx, block, idx)
        if found is not None:
            return found
    raise AssertionError("uncorrelated always classifies")  # pragma: no cover


def _confined(ctx, per_block: dict, agreeing: dict) -> list[Diagnosis]:
    """Some blocks agree: keep specific findings, fold generic ones into block-mismatch."""
    agree_text = ", ".join(f"{name} agrees to {err:.1e}" for name, err in agreeing.items())
    specific = [replace_message(d, f"{d.message[:-1]}; {agree_text}.")
                for d in per_block.values() if d.code not in GENERIC]
    generic = {name: d for name, d in per_block.items() if d.code in GENERIC}
    if not generic:
        return specific
    detail = "; ".join(f"{name} disagrees (cosine {d.evidence['cosine']:.3f}, relative error "
                       f"{d.evidence['relative_error']:.1e})" for name, d in generic.items())
    mismatch = Diagnosis(
        "block-mismatch", f"the error is confined to {', '.join(generic)}: {detail}; {agree_text} — the "
        f"signature of a wrong output delta or of one layer's wrong activation derivative.",
        next(iter(generic)) if len(generic) == 1 else None,
        evidence={"disagreeing": {k: d.evidence for k, d in generic.items()}, "agreeing": agreeing},
        fix="check the backward step that first produces these blocks: the layer's activation "
            "derivative f'(z) (evaluated at z, for the right activation) and the delta it multiplies.")
    return specific + [mismatch]


def _everywhere(ctx: _Context, per_block: dict) -> list[Diagnosis]:
    """Every block disagrees: one whole-vector finding when they tell the same story."""
    codes = {d.code for d in per_block.values()}
    if len(per_block) == 1 and ctx.report.blocks[0].name == "theta":
        return list(per_block.values())
    ks = [d.evidence.get("k") for d in per_block.values()]
    same_k = codes == {"scale-factor"} and np.ptp(ks) <= MEANING_RTOL * abs(np.mean(ks))
    if codes <= GENERIC or codes == {"sign-flip"} or same_k:
        idx = np.flatnonzero(ctx.usable)
        whole = _classify(ctx, None, idx)
        if whole.code in codes:
            return [whole]
    return list(per_block.values())


# --- block classifiers: the first that fits names the block's mistake -------------------

def _where(block) -> str:
    return f"in {block.name} " if block is not None and block.name != "theta" else ""


def _zero_gradient(ctx, block, idx) -> Diagnosis | None:
    a, n = ctx.report.analytic[idx], ctx.report.numerical[idx]
    if np.any(a != 0) or not np.any(np.abs(n) > COORD_ATOL * ctx.cost_scale):
        return None
    return Diagnosis("zero-gradient", f"the analytic gradient {_where(block)}is all zero while the "
                     f"numerical one is not (largest {np.max(np.abs(n)):.2e}).", _name(block),
                     evidence={"numerical_norm": float(np.linalg.norm(n))},
                     fix="the gradient of this block is never written: assign the accumulated "
                         "delta^T a (plus its regularisation) to it before unrolling.")


def _name(block) -> str | None:
    return None if block is None or block.name == "theta" else block.name


def _other_order(block) -> Array | None:
    """Permutation reading a block's matrix in the other unrolling order (None if 1-D)."""
    if block is None or len(block.shape) != 2 or min(block.shape) < 2:
        return None
    other = "F" if block.order == "C" else "C"
    return np.arange(block.size).reshape(block.shape, order=block.order).ravel(order=other)


def _transposed(ctx, block, idx) -> Diagnosis | None:
    perm = _other_order(block)
    if perm is None or idx.size != block.size:
        return None
    a, n = ctx.report.analytic[block.slice], ctx.report.numerical[block.slice]
    fits = {"transposed (other unrolling order)": relative_error(a, n[perm]),
            "transposed back": relative_error(a[perm], n)}
    how = min(fits, key=fits.get)
    if fits[how] > FIT_RTOL:
        return None
    rows, cols = block.shape
    return Diagnosis("transposed", f"the analytic {block.name} equals the numerical one transposed "
                     f"(read in {'F' if block.order == 'C' else 'C'} order instead of {block.order}; "
                     f"fit {fits[how]:.1e}).", block.name,
                     evidence={"shape": block.shape, "order": block.order, "fit": fits[how]},
                     fix=f"build the gradient as a {rows}x{cols} matrix like {block.name} (delta^T a, not "
                         f"a^T delta) and unroll it in the same order as theta ({block.order}).")


def _bias_mask(block) -> Array | None:
    """Which of a block's coordinates are biases: b* blocks, or column 0 of Theta/F blocks."""
    if block is None:
        return None
    if len(block.shape) == 1 and block.name.lower().startswith("b"):
        return np.ones(block.size, bool)
    if len(block.shape) == 2 and (block.order == "F" or block.name.lower().startswith("theta")):
        cols = np.arange(block.size).reshape(block.shape, order=block.order)
        mask = np.zeros(block.size, bool)
        mask[cols[:, 0]] = True
        return mask
    return None


SCALE_MEANINGS = (
    ("m", lambda ctx: ctx.n_samples,
     "the gradient sums over the m samples while the cost averages; divide it by m"),
    ("1/m", lambda ctx: 1 / ctx.n_samples if ctx.n_samples else None,
     "the gradient is divided by m once too often (or the cost sums); use one reduction for both"),
    ("2", lambda ctx: 2.0, "a factor 2: the derivative of 1/2 (a - y)^2 is (a - y), not 2 (a - y)"),
    ("1/2", lambda ctx: 0.5, "a missing factor 2: the derivative of (a - y)^2 is 2 (a - y)"),
    ("n_outputs", lambda ctx: ctx.n_outputs,
     "the cost averages over outputs but the gradient does not; use the same reduction for both"),
    ("1/n_outputs", lambda ctx: 1 / ctx.n_outputs if ctx.n_outputs else None,
     "the gradient averages over outputs but the cost does not; use the same reduction for both"),
)


def _scale_meanings(ctx, k: float) -> list[tuple[str, str]]:
    out = []
    for label, value, why in SCALE_MEANINGS:
        v = value(ctx)
        if v and v != 1 and abs(k / v - 1) <= MEANING_RTOL:
            out.append((label, why))
    return out


def _scale_factor(ctx, block, idx) -> Diagnosis | None:
    a, n = ctx.report.analytic[idx], ctx.report.numerical[idx]
    nn = float(n @ n)
    if nn == 0:
        return None
    k = float(a @ n) / nn
    residual = float(np.linalg.norm(a - k * n) / max(np.linalg.norm(a), 1e-300))
    if k <= 0 or abs(k - 1) <= 1e-3 or residual > SCALE_RESIDUAL:
        return None
    meanings = _scale_meanings(ctx, k)
    named = "".join(f"; k ≈ {label}: {why}" for label, why in meanings)
    return Diagnosis("scale-factor", f"the analytic gradient {_where(block)}is {k:.6g} times the "
                     f"numerical one (consistent to {residual:.1e}){named}.", _name(block),
                     evidence={"k": k, "residual": residual, "meanings": [m for m, _ in meanings]},
                     fix=meanings[0][1] if meanings else "find the constant factor: the reduction "
                         "(1/m, sum vs mean), a 1/2 in the cost, or a learning-rate-like scale.")


def _sign_stats(a: Array, n: Array) -> tuple[float, int]:
    """Fraction of significant coordinates with opposite signs, and the count compared."""
    floor = 1e-8 * max(float(np.max(np.abs(a))), float(np.max(np.abs(n))), 1e-300)
    sig = (np.abs(a) > floor) & (np.abs(n) > floor)
    if not np.any(sig):
        return 0.0, 0
    return float(np.mean(np.sign(a[sig]) != np.sign(n[sig]))), int(sig.sum())


def _sign_flip(ctx, block, idx) -> Diagnosis | None:
    a, n = ctx.report.analytic[idx], ctx.report.numerical[idx]
    cosine = _cosine(a, n)
    opposite, counted = _sign_stats(a, n)
    full = cosine < SIGN_FLIP_COSINE
    if not (full or (cosine < PARTIAL_FLIP_COSINE and opposite >= OPPOSITE_SIGNS)):
        return None
    exact = np.flatnonzero(np.abs(a + n) <= EXACT_FLIP_RTOL * np.maximum(np.abs(a), np.abs(n)))
    what = ("is the negative of the numerical one" if full else
            "has its data term sign-flipped: the remainder a + n is an unflipped term such as "
            "the regulariser (lambda/m) theta")
    evidence = {"cosine": cosine, "opposite_sign_fraction": opposite, "compared": counted,
                "exactly_flipped": len(exact), "norm_ratio": _norm_ratio(ctx)}
    message = (f"the analytic gradient {_where(block)}{what} (cosine {cosine:.3f}; "
               f"{round(opposite * counted)}/{counted} coordinates of opposite sign; "
               f"{len(exact)} exactly flipped{_bias_column_note(block, idx[exact])})"
               f"{_norm_ratio_note(evidence['norm_ratio'])}.")
    return Diagnosis("sign-flip", message, _name(block), evidence=evidence,
                     fix="find the sign error: sigmoid is 1/(1 + exp(-z)), the output delta is a - y "
                         "(not y - a), and gradient descent subtracts the gradient.")


def _bias_column_note(block, exact: Array) -> str:
    """Exactly flipped on the whole column 0: the bias column, which carries no penalty."""
    if block is None or len(block.shape) != 2 or exact.size != block.shape[0]:
        return ""
    if all(block.position(int(i))[1] == 0 for i in exact):
        return ": all of column 0, the unregularised bias column"
    return ""


def _norm_ratio(ctx) -> float:
    """The popular ``||a - n|| / ||a + n||`` over every finite coordinate, as users print it."""
    r = ctx.report
    keep = np.isfinite(r.analytic) & np.isfinite(r.numerical)
    a, n = r.analytic[keep], r.numerical[keep]
    denominator = float(np.linalg.norm(a + n))
    return float(np.linalg.norm(a - n)) / denominator if denominator > 0 else float("inf")


def _norm_ratio_note(ratio: float) -> str:
    if not ratio > 1:
        return ""
    return (f"; the often-printed ||a - n|| / ||a + n|| = {ratio:.3g} is large because of the flip, "
            f"not because of the size of the error: a + n cancels and the ratio exceeds 1 only when "
            f"the vectors point apart (gradcheck divides by max(||a||, ||n||) instead)")


def _related(ctx, block, idx, uncorrelated: bool) -> Diagnosis | None:
    a, n = ctx.report.analytic[idx], ctx.report.numerical[idx]
    cosine = _cosine(a, n)
    if (abs(cosine) < RELATED_COSINE) != uncorrelated:
        return None
    opposite, counted = _sign_stats(a, n)
    sig = np.abs(n) > 1e-8 * max(float(np.max(np.abs(n))), 1e-300)
    ratios = a[sig] / n[sig] if np.any(sig) else np.array([np.nan])
    evidence = {"cosine": cosine, "same_sign_fraction": 1 - opposite, "compared": counted,
                "ratio_min": float(np.min(ratios)), "ratio_max": float(np.max(ratios)),
                "relative_error": relative_error(a, n)}
    return (_uncorrelated_finding if uncorrelated else _different_finding)(block, evidence)


def _different_finding(block, ev: dict) -> Diagnosis:
    return Diagnosis("different-function", f"the analytic gradient {_where(block)}correlates with the "
                     f"numerical one (cosine {ev['cosine']:.4f}; same sign at "
                     f"{round(ev['same_sign_fraction'] * ev['compared'])}/{ev['compared']}) but no single "
                     f"factor relates them (ratios {ev['ratio_min']:.3g} to {ev['ratio_max']:.3g}): it is the "
                     f"gradient of a related but different function.", _name(block), evidence=ev,
                     fix="derive the gradient from the cost you evaluate: the output delta a - y belongs "
                         "to softmax + cross-entropy (or sigmoid + binary cross-entropy), and each hidden "
                         "layer needs its own activation's derivative at z.")


def _uncorrelated_finding(block, ev: dict) -> Diagnosis:
    return Diagnosis("uncorrelated", f"the analytic gradient {_where(block)}is unrelated to the numerical "
                     f"one (cosine {ev['cosine']:.3f}): it is the gradient of some other function, or its "
                     f"coordinates are in another order.", _name(block), evidence=ev,
                     fix="check that cost and gradient use the same parameters in the same layout, "
                         "the same data and the same loss.")


BLOCK_CLASSIFIERS = (
    _zero_gradient,
    _transposed,
    _scale_factor,
    _sign_flip,
    lambda ctx, block, idx: _related(ctx, block, idx, uncorrelated=False),
    lambda ctx, block, idx: _related(ctx, block, idx, uncorrelated=True),
)
GENERIC = frozenset({"different-function", "uncorrelated"})


# --- the registry and the entry points ------------------------------------------------

@dataclass(frozen=True)
class Detector:
    """A detector: ``run(ctx) -> list[Diagnosis]``; ``needs`` says when it applies."""

    name: str
    run: Callable[[_Context], list]
    needs: str = "columns"   # "columns": always; "function": only with f; "no-function": only without


DETECTORS = (
    Detector("non-finite", _detect_non_finite),
    Detector("nondeterministic", _detect_nondeterministic, "function"),
    Detector("low-precision", _detect_low_precision, "function"),
    Detector("kink", _detect_kink, "function"),
    Detector("step-size", _detect_step_size, "function"),
    # our own numerical gradient perturbs every coordinate; only a pasted one can skip some
    Detector("unperturbed-coordinates", _detect_unperturbed, "no-function"),
    Detector("bias-regularized", _detect_bias_regularized),
    Detector("isolated-coordinates", _detect_isolated),
    Detector("blocks", _detect_blocks),
)


def _applies(detector: Detector, has_f: bool) -> bool:
    return {"columns": True, "function": has_f, "no-function": not has_f}[detector.needs]


def _infer_n_outputs(report: GradientReport) -> int | None:
    """Rows of the last block (W2/Theta2) or the size of a last bias block."""
    last = report.blocks[-1]
    if len(last.shape) == 2:
        return int(last.shape[0])
    return int(last.size) if last.name.lower().startswith("b") else None


def diagnose(report: GradientReport, *, f: Callable | None = None, grad: Callable | None = None,
             theta=None, n_samples: int | None = None, n_outputs: int | None = None) -> list[Diagnosis]:
    """Explain why a gradient check failed; a passing report gets no finding.

    Parameters
    ----------
    report : GradientReport
        Updated in place: kink coordinates are marked in ``report.excluded``.
    f, grad : callable, optional
        The cost (and gradient) that produced the report; enable the detectors that
        re-evaluate the cost.  Without ``f`` only the two columns are read.
    theta : array_like, optional
        The checked point (needed for bias-regularized and every ``f`` detector).
    n_samples, n_outputs : int, optional
        Name a scale factor k ≈ m or k ≈ n_outputs (n_outputs defaults to the last block's rows).

    Returns
    -------
    list of Diagnosis
    """
    if report.passed:
        return []
    if f is not None and theta is None:
        raise ConfigError("diagnose needs theta together with f; pass theta=the checked point.")
    n_outputs = n_outputs or _infer_n_outputs(report)
    ctx = _Context(report, f, grad, theta, n_samples, n_outputs, usable=report.included.copy())
    found: list[Diagnosis] = []
    with np.errstate(all="ignore"):  # NaN/Inf columns are findings, not warnings
        for detector in DETECTORS:
            if _applies(detector, f is not None):
                found += detector.run(ctx)
            if ctx.settled or report.passed:
                break
    return found


def check_arrays(numerical, analytic, blocks=None, order: str = "C", n_samples: int | None = None,
                 *, n_outputs: int | None = None, tol: float = TOLERANCE, theta=None,
                 eps: float = 1e-6, rounding: float = 0.0) -> GradientReport:
    """Compare two given columns (numerical, analytic) and diagnose them without a function.

    Parameters
    ----------
    numerical, analytic : array_like of shape (n_params,)
        Flattened in the order of ``blocks``.
    blocks : dict of name -> shape, optional
        E.g. ``{"Theta1": (5, 4), "Theta2": (3, 6)}``; one block "theta" if None.
    order : {"C", "F"}
        Unrolling order of the blocks ("C" = numpy ravel, "F" = Octave ``Theta(:)``).
    n_samples : int, optional
        Lets a scale factor be named "k ≈ m".
    theta : array_like, optional
        The checked point, for the bias-regularized finding.
    eps : float
        The step the numerical column was computed with (1e-6 if unknown); it sets the
        round-off allowance of the verdict.
    rounding : float
        Relative rounding of the numbers when they were printed to d significant digits,
        10^(1 - d): widens the per-coordinate rule by ``rounding (|a_i| + |n_i|) / 2``.
    """

    columns = []
    for name, v in (("numerical", numerical), ("analytic", analytic)):
        if np.iscomplexobj(v):
            raise ConfigError(f"the {name} column holds complex numbers; give real gradients.")
        try:
            columns.append(np.asarray(v, dtype=np.float64).ravel())
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"the {name} column is not numeric ({exc}); give real gradients.") from exc
    n, a = columns
    if n.size != a.size or n.size == 0:
        raise ConfigError(f"the columns have {n.size} and {a.size} values; give two non-empty "
                          f"columns of equal length.")
    report = GradientReport(n, a, make_blocks(blocks, n.size, order), eps=eps,
                            evaluator="given columns", tolerance=tol, rounding=rounding)
    report.diagnoses = diagnose(report, theta=theta, n_samples=n_samples, n_outputs=n_outputs)
    return report
