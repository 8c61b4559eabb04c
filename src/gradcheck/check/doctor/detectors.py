"""The gradient doctor: findings that say why an analytic gradient disagrees.

A :class:`~gradcheck.check.doctor.diagnosis.Diagnosis` is one finding with a stable ``code``
(:data:`~gradcheck.check.doctor.diagnosis.CODES`).  :func:`diagnose` runs the registered detectors
(:data:`DETECTORS`) over a :class:`~gradcheck.check.report.GradientReport` and returns the
findings; a passing report gets none, except from the detectors that run whatever the verdict
(a function that modifies its argument).  Detectors that need the cost function (modified
arguments, non-finite perturbations, nondeterminism, precision, kinks, the step-size sweep) run
only when ``f`` is given; the others read the two columns alone, which is what
:func:`check_arrays` does for pasted numbers.

The last detector explains the blocks (:mod:`gradcheck.check.doctor.findings`): each disagreeing block
split into parts with one relation each (a factor, a sign, an L2 term, a constant, zeros, a
range of rows), the same story in several blocks merged into one finding, and the generic
findings only for what no relation explains.  Thresholds are module constants, documented in
the README (The gradient doctor: Codes).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradcheck.check.doctor.context import MAX_PROBES, Context, agrees, listing, locate, within
from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.doctor.findings import (
    BLOCK_CLASSIFIERS,
    SCALE_MEANINGS,
    detect_blocks,
    explained_coordinates,
    precision_shown,
)
from gradcheck.check.doctor.mutation import Change, Watch, call_and_compare, describe_change
from gradcheck.check.numerical import (
    COORD_ATOL,
    COORD_RTOL,
    TOLERANCE,
    call_cost,
    call_gradient,
    numerical_gradient,
    relative_error,
)
from gradcheck.check.report import GradientReport
from gradcheck.errors import ConfigError, UserCodeError
from gradcheck.nn.blocks import make_blocks

__all__ = ["Detector", "DETECTORS", "BLOCK_CLASSIFIERS", "SCALE_MEANINGS", "diagnose", "check_arrays"]

Array = np.ndarray

ISOLATED_MAX = 3              # up to this many single wrong coordinates (or ISOLATED_SHARE) ...
ISOLATED_SHARE = 0.01         # ... of all, in blocks that otherwise agree: isolated-coordinates
SWEEP_PROBES = 8              # the step sweep costs 18 evaluations per coordinate
FLOAT32_TOLERANCE = 3e-3      # agreement reachable when the cost is computed in float32
STEP_SWEEP = tuple(10.0 ** -k for k in range(2, 11))
STEP_PRETEST = 100.0          # eps times and divided by this, on the worst coordinate, before the sweep ...
STEP_GAIN = 1e-2              # ... which runs only if one of them shrinks its gap 100-fold
KINK_GIVE_UP = 4              # none of the worst 4 is a kink: stop probing for kinks
COST_RESOLUTION = 1e-10       # relative noise of a cost above this: not a float64 computation
FLOAT32_STEPS = (1e-2, 5e-3, 2e-3, 1e-3)  # around cbrt(float32 eps) ~ 5e-3, the best step there
MODIFIED_DIRECTIONS = 3       # random directions that test "the gradient at the modified point"
MODIFIED_RTOL = 1e-5          # ... and how well they must agree

# --- detectors that need the cost function ---------------------------------------------

def _perturbed(f: Callable, theta: Array, i: int, step: float) -> float:
    saved = theta[i]
    theta[i] = saved + step
    try:
        return call_cost(f, theta)
    finally:
        theta[i] = saved


def _detect_non_finite(ctx: Context) -> list[Diagnosis]:
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


def _non_finite_finding(ctx: Context, side: str, bad: Array) -> Diagnosis:
    block, positions, labels = locate(ctx.report, bad)
    evidence = {"side": side, "count": int(bad.size), "labels": labels[:20]}
    message = f"the {side} gradient is NaN/Inf at {bad.size} coordinate(s) ({listing(labels)})."
    if side == "numerical" and ctx.f is not None:
        steps = _bad_perturbations(ctx, bad[:10])
        evidence["perturbations"] = steps
        moves = "; ".join(f"{label} moves by {' or '.join(s)}" for label, s in steps.items() if s)
        message = (f"the cost becomes NaN/Inf when {moves} (numerical side, {bad.size} "
                   f"coordinate(s)).") if moves else message
    return Diagnosis("non-finite", message, block, tuple(int(i) for i in bad), positions, evidence,
                     _NON_FINITE_FIX)


def _bad_perturbations(ctx: Context, indices: Array) -> dict[str, list[str]]:
    """For each index, which of ``theta_i +- eps`` makes the cost non-finite."""
    theta, eps, out = ctx.theta64, ctx.report.eps, {}
    for i in indices:
        label = ctx.report.block_of(int(i)).label(int(i))
        out[label] = [f"{sign}{eps:g}" for sign, step in (("+", eps), ("-", -eps))
                      if not np.isfinite(_perturbed(ctx.cost_fn, theta, int(i), step))]
    return out


def _detect_nondeterministic(ctx: Context) -> list[Diagnosis]:
    """Repeated calls of f at the same theta must return the same number."""
    r = ctx.report
    if precision_shown(ctx):
        return []
    theta = ctx.theta64
    again = call_cost(ctx.cost_fn, theta.copy())
    if again == r.cost or not (np.isfinite(again) and np.isfinite(r.cost)):
        return []  # one repeat is enough to see noise drawn anew on every call
    values = np.array([r.cost, again] + [call_cost(ctx.cost_fn, theta.copy()) for _ in range(2)])
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


def _returned_dtype(ctx: Context, role: str) -> np.dtype:
    """The dtype the cost (role "cost") or gradient returned, from the check's first call if
    recorded (no extra call), else from a new one."""
    if ctx.first is not None and role in ctx.first.roles:
        return ctx.first.roles[role][3]
    fn, position = ((ctx.cost_fn, 0) if role == "cost" else
                    (ctx.grad or ctx.cost_fn, None if ctx.grad else 1))
    value = fn(ctx.theta64.copy())
    value = value[position] if position is not None and isinstance(value, tuple) else value
    return np.asarray(value).dtype


def _cost_dtype_reason(ctx: Context) -> str | None:
    dtype = _returned_dtype(ctx, "cost")
    return f"the cost returns {dtype}" if dtype.kind == "f" and dtype.itemsize < 8 else None


def _gradient_dtype_reason(ctx: Context) -> str | None:
    dtype = _returned_dtype(ctx, "gradient")
    return f"the gradient returns {dtype}" if dtype.kind == "f" and dtype.itemsize < 8 else None


def _cost_resolution(ctx: Context) -> float:
    """Relative noise of the cost along one coordinate, from its third differences.

    Third differences of 8 closely spaced values cancel the smooth part (~delta^3 f^(3)) and
    leave round-off: ~1e-16 relative for a float64 computation, ~1e-8 when float32 hides inside.
    """
    theta, i = ctx.theta64, int(ctx.suspects(1)[0])
    delta = 1e-5 * max(1.0, abs(theta[i]))
    values = np.array([_perturbed(ctx.cost_fn, theta, i, k * delta) for k in range(8)])
    if not np.all(np.isfinite(values)):
        return 0.0
    sigma = float(np.std(np.diff(values, 3))) / np.sqrt(20.0)  # var(diff^3 of white noise) = 20 var
    return sigma / max(float(np.max(np.abs(values))), 1e-300)


def _cost_steps_reason(ctx: Context) -> str | None:
    if precision_shown(ctx):
        return None
    resolution = _cost_resolution(ctx)
    if resolution > COST_RESOLUTION:
        return (f"the cost only resolves relative changes of about {resolution:.0e} (float32-sized "
                f"steps; float64 resolves ~1e-16)")
    return None


PRECISION_PROBES = (_cost_dtype_reason, _gradient_dtype_reason, _cost_steps_reason)


def _detect_low_precision(ctx: Context) -> list[Diagnosis]:
    """Float32 somewhere in the cost or gradient; re-run with a step suited to it."""
    if ctx.suspects(1).size == 0:
        return []
    reasons = [reason for probe in PRECISION_PROBES if (reason := probe(ctx))]
    if not reasons:
        return []
    r, idx = ctx.report, ctx.suspects()
    cost_low = any("cost" in reason for reason in reasons)
    steps = FLOAT32_STEPS if cost_low else (r.eps,)
    errors = {eps: relative_error(r.analytic[idx], numerical_gradient(ctx.cost_fn, ctx.theta64, eps, idx)[idx])
              for eps in steps}
    eps = min(errors, key=lambda e: errors[e])
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


def _is_kink(ctx: Context, theta: Array, i: int) -> dict | None:
    """One-sided derivatives that jump and stay put as the step shrinks bracket a kink."""
    r, h = ctx.report, ctx.report.eps
    fwd, bwd = _one_sided(ctx.cost_fn, theta, i, h, r.cost)
    fwd2, bwd2 = _one_sided(ctx.cost_fn, theta, i, h / 10, r.cost)
    jump = abs(fwd - bwd)
    slack = COORD_RTOL * max(abs(fwd), abs(bwd)) + COORD_ATOL * ctx.cost_scale
    stable = max(abs(fwd - fwd2), abs(bwd - bwd2)) <= 0.1 * jump  # noise would not be stable
    a = r.analytic[i]
    inside = min(fwd, bwd) - slack <= a <= max(fwd, bwd) + slack  # a valid one-sided derivative
    if jump > slack and stable and inside:
        return {"forward": fwd, "backward": bwd, "analytic": float(a), "central": float(r.numerical[i])}
    return None


def _detect_kink(ctx: Context) -> list[Diagnosis]:
    """Exclude coordinates at a non-differentiable point from the verdict."""
    theta, kinks = ctx.theta64, {}
    if np.count_nonzero(ctx.usable[ctx.report.mismatched]) > MAX_PROBES:
        return []  # more than the probes could exclude: kinks cannot be what fails the check
    for tried, i in enumerate(ctx.suspects(), start=1):
        found = _is_kink(ctx, theta, int(i))
        if found:
            kinks[int(i)] = found
        elif not kinks and tried == KINK_GIVE_UP:
            break  # the worst coordinates are no kinks: the mismatch is not made of kinks
    if not kinks:
        return []
    indices = np.array(sorted(kinks))
    ctx.report.excluded[indices] = True  # type: ignore[index]  # set in __post_init__
    ctx.usable[indices] = False
    block, positions, labels = locate(ctx.report, indices)
    evidence = {label: kinks[i] for label, i in zip(labels, indices)}
    return [Diagnosis("kink", f"{listing(labels)} sit(s) on a kink of the cost (e.g. ReLU at 0): the "
                      f"one-sided derivatives differ and the analytic value is one of them or between, "
                      f"so these coordinates are left out of the verdict.", block,
                      tuple(int(i) for i in indices), positions, evidence,
                      "nothing to fix if the kink is real; check at another theta to test those "
                      "coordinates too.")]


def _step_matters(ctx: Context, theta: Array, i: int) -> bool:
    """The worst coordinate gets much closer at some other step (a bug's gap does not move)."""
    r = ctx.report
    if not min(STEP_SWEEP) <= r.eps <= max(STEP_SWEEP):
        return True  # a step outside the sweep is suspect in itself: sweep
    gap = abs(r.analytic[i] - r.numerical[i])
    for eps in (r.eps * STEP_PRETEST, r.eps / STEP_PRETEST):
        n = numerical_gradient(ctx.cost_fn, theta, eps, [i])[i]
        if abs(r.analytic[i] - n) <= STEP_GAIN * gap:
            return True
    return False


def _detect_step_size(ctx: Context) -> list[Diagnosis]:
    """Sweep eps: truncation (~eps^2), round-off (~1/eps) or flat (a real bug, no finding)."""
    r, idx = ctx.report, ctx.suspects(SWEEP_PROBES)
    if idx.size == 0:
        return []
    theta, a = ctx.theta64, r.analytic[idx]
    if not _step_matters(ctx, theta, int(idx[0])):
        return []
    sweep = {eps: relative_error(a, numerical_gradient(ctx.cost_fn, theta, eps, idx)[idx]) for eps in STEP_SWEEP}
    best = min(sweep, key=lambda e: sweep[e])
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

def _detect_unperturbed(ctx: Context) -> list[Diagnosis]:
    """A numerical loop that skipped coordinates leaves exact zeros there."""
    r = ctx.report
    skipped = np.flatnonzero(ctx.usable & (r.numerical == 0)
                             & (np.abs(r.analytic) > COORD_ATOL * ctx.cost_scale))
    if skipped.size == 0:
        return []
    ctx.usable[skipped] = False
    block, positions, labels = locate(r, skipped)
    hint = " — a loop such as range(1, n) that starts at 1" if skipped.tolist() == [0] else ""
    return [Diagnosis("unperturbed-coordinates",
                      f"the numerical gradient is exactly 0 at index {', '.join(map(str, skipped[:10]))} "
                      f"({listing(labels)}) where the analytic one is not: those coordinates were never "
                      f"perturbed{hint}.", block, tuple(int(i) for i in skipped), positions,
                      {"analytic": r.analytic[skipped][:20], "labels": labels[:20]},
                      "loop over every index, for p in range(theta.size) (0-based), in the numerical "
                      "gradient.")]


def _detect_isolated(ctx: Context) -> list[Diagnosis]:
    """A handful of single coordinates disagree, in blocks that otherwise agree."""
    r = ctx.report
    usable = np.flatnonzero(ctx.usable)
    off = usable[~within(r.analytic[usable], r.numerical[usable], ctx)]
    limit = max(ISOLATED_MAX, int(ISOLATED_SHARE * usable.size))
    if not 0 < off.size <= limit:
        return []
    for name in {r.block_of(int(i)).name for i in off}:  # half a block or more: a block's finding
        holder = next(b for b in r.blocks if b.name == name)
        in_block = np.count_nonzero(ctx.usable[holder.slice])
        own = off[(off >= holder.start) & (off < holder.stop)]
        if 2 * own.size >= in_block or _structured(holder, own):
            return []
    rest = np.setdiff1d(usable, off)
    if not agrees(r.analytic[rest], r.numerical[rest], ctx):
        return []
    ctx.settled = True
    block, positions, labels = locate(r, off)
    err = relative_error(r.analytic[rest], r.numerical[rest])
    return [Diagnosis(
        "isolated-coordinates",
        f"only {off.size} of {usable.size} coordinates disagree ({listing(labels)}); all the others "
        f"agree to {err:.1e}: single entries are computed wrongly, not a whole formula"
        f"{_first_entries_note(r, off)}.", block,
        tuple(int(i) for i in off), positions,
        {"labels": labels[:20], "analytic": r.analytic[off][:20], "numerical": r.numerical[off][:20],
         "rest_relative_error": err},
        "look at how exactly these entries are computed: an index off by one, an entry written "
        "twice or left from a previous call, a special case (the first or last row/column).")]


def _structured(block, own: Array) -> bool:
    """Whole rows or columns of a matrix, or a run of at least 3 coordinates of a vector: the
    block explainer names such parts (a bias column, a zero tail) better than single entries."""
    if len(block.shape) == 2:
        for order in ("C", "F"):
            grid = np.arange(block.start, block.stop).reshape(block.shape, order=order)
            for lines in (grid, grid.T):
                full = [line for line in lines if np.isin(line, own).all()]
                if full and sum(line.size for line in full) == own.size:
                    return True
        return False
    return own.size >= 3 and int(own[-1] - own[0]) + 1 == own.size


def _first_entries_note(report: GradientReport, off: Array) -> str:
    """Each wrong entry exactly 0 and the first of its block: an unrolling loop from 1."""
    starts = {b.start for b in report.blocks}
    if off.size and all(int(i) in starts for i in off) and np.all(report.analytic[off] == 0):
        return ("; each is exactly 0 in the analytic gradient and the first entry of its block, as "
                "when the loop that unrolls the gradient starts at 1 (range(1, n), a 1-based index "
                "ported as is)")
    return ""


# --- a function that modifies what it is given ----------------------------------------------

def _describe_indices(report: GradientReport, idx: Array) -> str:
    """``"column 0 of Theta1 and column 0 of Theta2"``, ``"all of b1"``, or the labels."""
    words = []
    for b in report.blocks:
        own = idx[(idx >= b.start) & (idx < b.stop)]
        if own.size:
            words.append(_in_block(b, own))
    return listing(words, 4)


def _in_block(block, own: Array) -> str:
    if own.size == block.size:
        return f"all of {block.name}" if block.name != "theta" else f"all {own.size} entries"
    if len(block.shape) == 2:
        grid = np.arange(block.start, block.stop).reshape(block.shape, order=block.order)
        for axis, lines in (("column", grid.T), ("row", grid)):
            full = [i for i, line in enumerate(lines) if np.isin(line, own).all()]
            if full and sum(lines[i].size for i in full) == own.size:
                which = f"{axis} {full[0]}" if len(full) == 1 else f"{axis}s {', '.join(map(str, full))}"
                return f"{which} of {block.name}"
    return listing([block.label(int(i)) for i in own], 4)


def _array_text(change: Change) -> str:
    count, size = change.indices.size, int(np.prod(change.shape))
    where = "every entry" if count == size else f"{count} of its {size} entries"
    if count != size and len(change.shape) == 1:
        where += f" (at {listing([str(int(i)) for i in change.indices], 6)})"
    return f"the module's {change.name} ({where}, {describe_change(change)})"


def _keeps_changing(fn: Callable, theta: Array, watch: Watch) -> bool:
    """A second call changes the watched arrays again (X /= 255), unlike y[y == 10] = 0."""
    watch.restore()
    states = []
    for _ in range(2):
        try:
            fn(theta.copy())
        except Exception:  # the user's code: this probe must not raise
            break
        states.append({k: v.copy() for k, v in watch.arrays.items()})
    watch.restore()
    return len(states) == 2 and any(not np.array_equal(states[0][k], states[1][k]) for k in states[0])


def _gradient_at(ctx: Context, point: Array) -> bool:
    """The analytic gradient is the cost's gradient at ``point`` along a few random directions."""
    rng = np.random.default_rng(0)
    a, eps = ctx.report.analytic, 1e-5
    for _ in range(MODIFIED_DIRECTIONS):
        v = rng.standard_normal(point.size)
        v /= np.linalg.norm(v)
        slope = (call_cost(ctx.cost_fn, point + eps * v) - call_cost(ctx.cost_fn, point - eps * v)) / (2 * eps)
        along = float(a @ v)
        if abs(slope - along) > MODIFIED_RTOL * max(abs(slope), abs(along), 1e-12) + ctx.report.noise:
            return False
    return True


def _detect_modified(ctx: Context) -> list[Diagnosis]:
    """What the cost and the gradient changed in place: from the check's own first calls when
    they were recorded, else by calling each once more on a copy of theta."""
    roles = ["cost", "gradient"] if ctx.grad is not None else ["cost"]
    calls = []
    for role in roles:
        if ctx.first is not None and role in ctx.first.roles:
            fn, changes, left, _ = ctx.first.roles[role]
        else:
            fn = ctx.cost_fn if role == "cost" or ctx.grad is None else ctx.grad
            changes, left = call_and_compare(fn, ctx.theta64, ctx.watch)
        calls.append((role if ctx.grad is not None else "cost-and-gradient", fn, changes, left))
    seen: list[tuple[list[str], Callable, list[Change], Array]] = []  # one per distinct set of changes
    for role, fn, changes, left in calls:
        if not changes:
            continue
        same = next((item for item in seen if _same_changes(item[2], changes)), None)
        if same is not None:
            same[0].append(role)
        else:
            seen.append(([role], fn, changes, left))
    if ctx.watch is not None:
        ctx.watch.restore()
    return [_modified_finding(ctx, names, fn, changes, left) for names, fn, changes, left in seen]


def _same_changes(first: list[Change], second: list[Change]) -> bool:
    return [(c.name, c.indices.tolist(), describe_change(c)) for c in first] == [
        (c.name, c.indices.tolist(), describe_change(c)) for c in second]


FUNCTION_NAMES = {"cost": "the cost", "gradient": "the gradient (grad)",
                  "cost-and-gradient": "the cost (which returns the gradient too)"}


def _modified_finding(ctx: Context, roles: list[str], fn: Callable, changes: list[Change],
                      left: Array) -> Diagnosis:
    r = ctx.report
    what, settle = [], []
    for change in changes:
        if change.name == "theta":
            what.append(f"its argument theta at {_describe_indices(r, change.indices)} "
                        f"({change.indices.size} entries, {describe_change(change)})")
            settle.append(_theta_consequence(ctx, roles[0], change, left))
        else:
            what.append(_array_text(change))
            settle.append(_array_consequence(ctx, fn))
    function = " and ".join(FUNCTION_NAMES[role] for role in roles)
    message = (f"{function} function{'s' if len(roles) > 1 else ''} modif{'y' if len(roles) > 1 else 'ies'} "
               f"{' and '.join(what)} in place{''.join(s for s in settle if s)}.")
    arrays = [c.name for c in changes if c.name != "theta"]
    fix = ("copy before writing: Theta1 = theta[:n].reshape(...) is a view, so Theta1[:, 0] = 0 writes "
           "into theta (use T = Theta1.copy(), or np.c_[np.zeros(rows), Theta1[:, 1:]]); the check passes "
           "copies, but scipy.optimize.minimize and fmin_cg hand the functions their own x"
           if not arrays else
           f"never change the module's {', '.join(arrays)} inside {function}: compute a new array "
           f"(X_scaled = X / 255, labels = np.where(y == 10, 0, y)) or prepare the data once where it "
           f"is loaded")
    evidence = {"functions": roles, "changed": {c.name: {"count": int(c.indices.size),
                                                         "indices": c.indices[:50],
                                                         "how": describe_change(c)} for c in changes}}
    theta_change = next((c for c in changes if c.name == "theta"), None)
    indices = tuple(int(i) for i in theta_change.indices) if theta_change is not None else ()
    block, positions, _ = locate(r, indices) if indices else (None, (), [])
    return Diagnosis("argument-modified", message, block, indices, positions, evidence, fix)


def _theta_consequence(ctx: Context, role: str, change: Change, left: Array) -> str:
    r = ctx.report
    if r.passed:
        return "; the numbers agree here only because the check hands every call a copy"
    if role == "gradient":
        if ctx.f is not None and _gradient_at(ctx, left):
            ctx.settled = True
            return ("; the gradient it returns is the cost's gradient at that modified point (checked "
                    "along random directions), which explains the whole mismatch")
        return "; the gradient was computed at that modified point"
    ctx.usable[change.indices] = False
    if _numerical_at(ctx, left, change.indices):
        ctx.settled = True
        return ("; the cost is evaluated at that modified point, so the numerical gradient is the "
                "gradient there (and 0 at the entries it overwrites), which explains the whole mismatch")
    return ""


def _numerical_at(ctx: Context, point: Array, overwritten: Array) -> bool:
    """The numerical column is the gradient at ``point``, and 0 where the cost overwrites theta."""
    try:
        g = call_gradient(ctx.grad, ctx.cost_fn, point)
    except UserCodeError:
        return False
    n = ctx.report.numerical
    rest = np.setdiff1d(np.arange(n.size), overwritten)
    zero = ctx.judge.agrees(n[overwritten], np.zeros(overwritten.size))
    return zero and ctx.judge.agrees(n[rest], g[rest])


def _array_consequence(ctx: Context, fn: Callable) -> str:
    if ctx.watch is None or not _keeps_changing(fn, ctx.theta64, ctx.watch):
        return "; after the first call it stays the same, so later calls agree with each other"
    if ctx.report.passed:
        return "; every call changes it again"
    ctx.settled = True
    return ("; every call changes it again, so each cost in this check saw different data and the "
            "comparison means nothing until this is fixed")


# --- the registry and the entry points ------------------------------------------------

@dataclass(frozen=True)
class Detector:
    """A detector: ``run(ctx) -> list[Diagnosis]``; ``needs`` says when it applies, ``always``
    that it also runs when the check passed."""

    name: str
    run: Callable[[Context], list]
    needs: str = "columns"   # "columns": always; "function": only with f; "no-function": only without
    always: bool = False
    probe: bool = False      # re-evaluates the cost to test a numerical explanation (noise, float32,
    #                          a kink, the step): pointless when exact relations explain every mismatch


DETECTORS = (
    Detector("argument-modified", _detect_modified, "function", always=True),
    Detector("non-finite", _detect_non_finite),
    Detector("nondeterministic", _detect_nondeterministic, "function", probe=True),
    Detector("low-precision", _detect_low_precision, "function", probe=True),
    Detector("kink", _detect_kink, "function", probe=True),
    Detector("step-size", _detect_step_size, "function", probe=True),
    # our own numerical gradient perturbs every coordinate; only a pasted one can skip some
    Detector("unperturbed-coordinates", _detect_unperturbed, "no-function"),
    Detector("isolated-coordinates", _detect_isolated),
    Detector("blocks", detect_blocks),
)


def _applies(detector: Detector, has_f: bool, passed: bool) -> bool:
    needed = {"columns": True, "function": has_f, "no-function": not has_f}[detector.needs]
    return needed and (detector.always or not passed)


def _infer_n_outputs(report: GradientReport) -> int | None:
    """The size of the last bias vector, else the rows of the last matrix (Theta2)."""
    vectors = [b for b in report.blocks if len(b.shape) == 1 and b.name != "theta"]
    if vectors:
        return int(vectors[-1].size)
    matrices = [b for b in report.blocks if len(b.shape) == 2]
    return int(matrices[-1].shape[0]) if matrices else None


def diagnose(report: GradientReport, *, f: Callable | None = None, grad: Callable | None = None,
             theta=None, n_samples: int | None = None, n_outputs: int | None = None,
             watch=None, n_features: int | None = None, first=None) -> list[Diagnosis]:
    """Explain why a gradient check failed; a passing report gets no finding unless the
    functions modify what they are given.

    Parameters
    ----------
    report : GradientReport
        Updated in place: kink coordinates are marked in ``report.excluded``.
    f, grad : callable, optional
        The cost (and gradient) that produced the report; enable the detectors that
        re-evaluate the cost.  Without ``f`` only the two columns are read.
    theta : array_like, optional
        The checked point (needed for the L2 and bias relations and every ``f`` detector).
    n_samples, n_outputs : int, optional
        Name a scale factor k ≈ m or k ≈ n_outputs (n_outputs defaults to the last bias
        vector's size or the last matrix's rows).
    watch : Watch or dict of name -> ndarray, optional
        Arrays the functions could modify in place (the module's X and y); a dict is copied
        now, so pass a :class:`~gradcheck.check.doctor.mutation.Watch` made before the check (as
        :func:`~gradcheck.check.gradient.check_gradient` does) to catch a first-call change.
        They are put back to those values afterwards.
    n_features : int, optional
        Inputs per sample, for the ``--blocks`` a finding suggests.
    first : FirstCalls, optional
        What the check's first calls of ``f`` and ``grad`` changed and returned
        (:func:`~gradcheck.check.gradient.check_gradient` records it), so no extra call is needed.

    Returns
    -------
    list of Diagnosis
    """
    if f is not None and theta is None:
        raise ConfigError("diagnose needs theta together with f; pass theta=the checked point.")
    watch = Watch(dict(watch)) if isinstance(watch, dict) else watch
    ctx = Context(report, f, grad, theta, n_samples, n_outputs or _infer_n_outputs(report),
                  usable=report.included.copy(), watch=watch, n_features=n_features,
                  certain=report.order_certain, first=first)
    passed = report.passed
    found: list[Diagnosis] = []
    with np.errstate(all="ignore"):  # NaN/Inf columns are findings, not warnings
        for detector in DETECTORS:
            excluded = int(np.count_nonzero(~report.included))
            if _applies(detector, f is not None, passed) and not (detector.probe and _all_explained(ctx)):
                found += detector.run(ctx)
            # only excluding coordinates (kinks) can turn the verdict: recheck it only then
            if ctx.settled or passed or (np.count_nonzero(~report.included) != excluded and report.passed):
                break
    return found


def _all_explained(ctx: Context) -> bool:
    """Exact relations (a factor, a sign, an L2 term ...) account for every one of more than
    :data:`MAX_PROBES` mismatched coordinates: noise, float32 or the step would not fit them and
    kinks are too few, so the probes are skipped.  A handful of coordinates is left to the
    probes: at relu's kinks a = 0 or a = 2 n exactly, which a relation would fit as well."""
    wrong = np.intersect1d(ctx.report.mismatched, np.flatnonzero(ctx.usable))
    return wrong.size > MAX_PROBES and bool(np.all(explained_coordinates(ctx)[wrong]))


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
