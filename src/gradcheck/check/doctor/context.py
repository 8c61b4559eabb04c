"""What the doctor's detectors share while diagnosing one report: :class:`Context`.

The report, the user's functions and point (when given), what the module told us (samples,
outputs, features, watched arrays, whether a block's unrolling order is certain), the
coordinates still usable, and whether a finding already explains the whole mismatch.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradcheck.check.doctor.mutation import FirstCalls, Watch
from gradcheck.check.doctor.relations import Judge, dot, norm
from gradcheck.check.numerical import coord_limit
from gradcheck.check.report import GradientReport
from gradcheck.errors import ConfigError

__all__ = ["Context", "locate", "listing", "within", "agrees", "cosine", "MAX_PROBES"]

Array = np.ndarray
MAX_PROBES = 24               # coordinates the function-based detectors re-evaluate


@dataclass
class Context:
    """What the detectors read and update while diagnosing one report."""

    report: GradientReport
    f: Callable | None
    grad: Callable | None
    theta: Array | None           # as the caller passed it (its dtype is evidence)
    n_samples: int | None
    n_outputs: int | None
    usable: Array                 # coordinates the column detectors may read
    watch: Watch | None = None    # module arrays the functions might modify
    n_features: int | None = None
    certain: frozenset = field(default_factory=frozenset)  # blocks whose unrolling order is known
    first: FirstCalls | None = None  # what the check's first calls changed and returned
    settled: bool = False         # a finding explains the whole mismatch: stop
    structure: tuple | None = None  # (usable then, each block's explanation): computed once

    @property
    def cost_fn(self) -> Callable:
        """The cost; the detectors that call it run only when it was given."""
        if self.f is None:
            raise ConfigError("this detector needs the cost function; pass f= to diagnose.")
        return self.f

    @property
    def theta64(self) -> Array:
        return np.array(self.theta, dtype=np.float64).ravel()

    @property
    def cost_scale(self) -> float:
        cost = self.report.cost
        return 1.0 + abs(cost) if np.isfinite(cost) else 1.0

    @property
    def judge(self) -> Judge:
        r = self.report
        return Judge(r.tolerance, r.noise, self.cost_scale, r.rounding)

    def suspects(self, k: int = MAX_PROBES) -> Array:
        """Usable mismatched coordinates, worst first (the worst usable ones if none)."""
        r = self.report
        diff = np.abs(r.analytic - r.numerical)
        usable = np.flatnonzero(self.usable & r.included)
        candidates = np.intersect1d(r.mismatched, usable)
        if candidates.size == 0 and not agrees(r.analytic[usable], r.numerical[usable], self):
            candidates = usable  # no coordinate fails alone, but the norms do
        order = np.argsort(-diff[candidates], kind="stable")
        return candidates[order][:k]


def locate(report: GradientReport, indices) -> tuple[str | None, tuple, list[str]]:
    """The common block (or None), the in-block positions and labels of flat indices."""
    indices = [int(i) for i in indices]
    blocks = {report.block_of(i).name for i in indices}
    positions = tuple(report.block_of(i).position(i) for i in indices)
    labels = [report.block_of(i).label(i) for i in indices]
    return (blocks.pop() if len(blocks) == 1 else None), positions, labels


def listing(labels: list[str], limit: int = 6) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def within(a: Array, n: Array, ctx: Context) -> Array:
    """Per-coordinate agreement, the same rule as :attr:`GradientReport.mismatched`."""
    return np.abs(a - n) <= coord_limit(a, n, ctx.cost_scale, ctx.report.rounding)


def agrees(a: Array, n: Array, ctx: Context) -> bool:
    """The report's own rule on a subset: norms within tolerance plus the round-off floor."""
    return ctx.judge.agrees(a, n)


def cosine(a: Array, n: Array) -> float:
    size = norm(a) * norm(n)
    return dot(a, n) / size if size > 0 else 0.0
