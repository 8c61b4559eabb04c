"""The outcome of a gradient check: :class:`GradientReport` (per-coordinate values,
per-block errors, the verdict and its JSON form)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradcheck.check.doctor.diagnosis import fails
from gradcheck.check.numerical import TOLERANCE, coord_limit, relative_error
from gradcheck.jsonsafe import finite_or_none
from gradcheck.nn.blocks import Block
from gradcheck.plots import plot_report

Array = np.ndarray

@dataclass
class GradientReport:
    """The outcome of a gradient check.

    Attributes
    ----------
    numerical, analytic : ndarray of shape (n_params,), float64
    blocks : list of Block
    cost : float
        ``J(theta)`` at the checked point.
    eps : float
        Step of the central differences.
    steps : ndarray of shape (n_params,) or None
        The step each coordinate really took, when not ``eps`` everywhere
        (:func:`~gradcheck.check.gradient.check_network` shrinks the steps of weights whose
        inputs are large); the round-off allowance follows them.
    evaluator : str
        How the numerical gradient was computed.
    tolerance : float
    rounding : float
        Relative rounding of given numbers (pasted to d significant digits: 10^(1 - d));
        each coordinate may then differ by ``rounding (|a_i| + |n_i|) / 2`` more.
    excluded : ndarray of bool, shape (n_params,)
        Coordinates left out of the verdict (kinks found by the doctor).
    diagnoses : list
        Findings attached by :mod:`gradcheck.check.doctor.detectors` (empty for a correct gradient).
    layout : str or None
        Where the blocks came from when they were inferred (the module's arrays, a shapes
        variable, the course's sizes); None when given or when there is one block.
    order_certain : frozenset of str
        Blocks whose unrolling order is known (their values were matched to theta's); the
        doctor reads the others in both orders.
    """

    numerical: Array
    analytic: Array
    blocks: list[Block]
    cost: float = float("nan")
    eps: float = 1e-6
    evaluator: str = "central differences"
    tolerance: float = TOLERANCE
    excluded: Array | None = None
    rounding: float = 0.0
    diagnoses: list = field(default_factory=list)
    layout: str | None = None
    order_certain: frozenset = field(default_factory=frozenset)
    steps: Array | None = None

    def __post_init__(self):
        if self.excluded is None:
            self.excluded = np.zeros(self.numerical.shape, dtype=bool)

    @property
    def included(self) -> Array:
        assert self.excluded is not None  # set by __post_init__
        return ~self.excluded

    @property
    def relative_error(self) -> float:
        keep = self.included
        return relative_error(self.analytic[keep], self.numerical[keep])

    @property
    def block_errors(self) -> dict[str, float]:
        """Relative error of each block (excluded coordinates left out)."""
        errors = {}
        for b in self.blocks:
            keep = self.included[b.slice]
            errors[b.name] = relative_error(self.analytic[b.slice][keep], self.numerical[b.slice][keep])
        return errors

    @property
    def mismatched(self) -> Array:
        """Indices of coordinates outside the per-coordinate tolerance (NaN and Inf count)."""
        a, n = self.analytic, self.numerical
        scale = 1 + abs(self.cost) if np.isfinite(self.cost) else 1.0
        limit = coord_limit(a, n, scale, self.rounding)
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, which fails below anyway
            close = np.abs(a - n) <= limit
        # an Inf on both sides is "within" an infinite limit; never call it agreement
        bad = ~(close & np.isfinite(a) & np.isfinite(n)) & self.included
        return np.flatnonzero(bad)

    @property
    def noise(self) -> float:
        """Round-off floor of one difference quotient: ``16 eps_mach (1 + |J|) / eps``."""
        scale = 1 + abs(self.cost) if np.isfinite(self.cost) else 1.0
        return 16 * float(np.finfo(np.float64).eps) * scale / self.eps

    def _round_off(self, part: slice, keep: Array) -> float:
        """The round-off allowance of a part: ``noise sqrt(size)``, or with per-coordinate
        steps the root sum of squares of each coordinate's ``noise eps / step``."""
        if self.steps is None:
            return self.noise * np.sqrt(int(keep.sum()))
        return self.noise * self.eps * float(np.linalg.norm(1.0 / self.steps[part][keep]))

    def _agrees(self, part: slice) -> bool:
        keep = self.included[part]
        a, n = self.analytic[part][keep], self.numerical[part][keep]
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, which does not agree
            diff = float(np.linalg.norm(a - n))
        allowed = self.tolerance * max(float(np.linalg.norm(a)), float(np.linalg.norm(n)))
        return diff <= allowed + self._round_off(part, keep)

    @property
    def passed(self) -> bool:
        parts = [slice(None), *(b.slice for b in self.blocks)]
        return all(self._agrees(p) for p in parts) and self.mismatched.size == 0

    @property
    def agrees(self) -> bool:
        """Passed, and no finding says the gradient cannot be trusted anyway (it modifies theta)."""
        return self.passed and not fails(self.diagnoses)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    def summary(self) -> str:
        """One line: the relative error, each block's, and the verdict."""
        blocks = ", ".join(f"{name} {err:.2e}" for name, err in self.block_errors.items())
        return (f"relative error {self.relative_error:.2e} (tolerance {self.tolerance:g}); "
                f"per block: {blocks}; {self.verdict}")

    def block_of(self, index: int) -> Block:
        """The block holding flat ``index``."""
        for b in self.blocks:
            if b.start <= index < b.stop:
                return b
        raise IndexError(index)

    def worst(self, k: int = 10) -> list[dict]:
        """The ``k`` coordinates with the largest absolute difference, worst first."""
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, sorted first below
            diff = np.abs(self.analytic - self.numerical)
        order = np.argsort(-np.nan_to_num(diff, nan=np.inf), kind="stable")[:k]
        return [self.coordinate(int(i)) for i in order]

    def coordinate(self, i: int) -> dict:
        b = self.block_of(i)
        a, n = float(self.analytic[i]), float(self.numerical[i])
        return {"index": i, "block": b.name, "position": list(b.position(i)), "label": b.label(i),
                "numerical": n, "analytic": a, "abs_diff": abs(a - n)}  # Python floats: inf - inf warns not

    def plot(self, path=None):
        """Analytic vs numerical per block (symlog) and per-block errors; see :mod:`gradcheck.plots`."""

        return plot_report(self, path)

    def to_dict(self, n_worst: int = 10) -> dict:
        """A JSON-ready summary (schema in the README)."""
        return {
            "passed": self.passed,
            "relative_error": finite_or_none(self.relative_error),
            "tolerance": self.tolerance,
            "cost": finite_or_none(self.cost),
            "eps": self.eps,
            "noise": self.noise,
            "evaluator": self.evaluator,
            "n_params": int(self.numerical.size),
            "n_mismatched": int(self.mismatched.size),
            "n_excluded": int(self.numerical.size - self.included.sum()),
            "blocks": [{"name": b.name, "shape": list(b.shape), "order": b.order,
                        "start": b.start, "relative_error": finite_or_none(self.block_errors[b.name])}
                       for b in self.blocks],
            "worst": [{**c, **{k: finite_or_none(c[k]) for k in ("numerical", "analytic", "abs_diff")}}
                      for c in self.worst(n_worst)],
            "diagnoses": [d.to_dict() if hasattr(d, "to_dict") else d for d in self.diagnoses],
        }

