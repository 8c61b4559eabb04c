"""A finding of the doctor: :class:`Diagnosis` (code, message, fix, evidence), and the codes.

:data:`CODES` is the registry of the black-box doctor's codes: each :class:`Code` holds its
detection rule in one line (the README's codes table lists the same rules) and whether a
finding with it means the gradient cannot be trusted even when the numbers agree (a function
that modifies its argument does; a kink excluded from the verdict does not).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from gradcheck.jsonsafe import to_json

# How a finding asks for more input, in the library's words; the command line adds its flags for
# the options they name (evidence["options"]), the way it does for an error's option.
GIVE_BLOCKS = "give the blocks"
GIVE_REFERENCE = "give reference mode the network you meant"
_OPTION_PHRASES = (("blocks", GIVE_BLOCKS), ("reference", GIVE_REFERENCE))


def options_in(text: str) -> list[str]:
    """The options (``"blocks"``, ``"reference"``) a finding's text asks for."""
    return [name for name, phrase in _OPTION_PHRASES if phrase in text]


@dataclass(frozen=True)
class Diagnosis:
    """One finding of the doctor.

    Attributes
    ----------
    code : str
        Stable identifier, e.g. ``"sign-flip"``.
    message : str
        One plain-language sentence about what is wrong.
    block : str or None
        The block it concerns (None: the whole vector).
    indices : tuple of int
        Flat indices it concerns (may be empty).
    positions : tuple of tuple
        ``(row, col)`` inside the block for those indices, where meaningful.
    evidence : dict
        The numbers behind the finding; ``evidence["options"]`` lists the inputs (``"blocks"``,
        ``"reference"``) its text asks for.
    fix : str
        What to change.
    """

    code: str
    message: str
    block: str | None = None
    indices: tuple = ()
    positions: tuple = ()
    evidence: dict = field(default_factory=dict)
    fix: str = ""

    def __post_init__(self):
        options = options_in(f"{self.message} {self.fix}")
        if options and self.evidence.get("options") != options:
            object.__setattr__(self, "evidence", {**self.evidence, "options": options})

    def __str__(self) -> str:
        where = f" {self.block}" if self.block else ""
        return f"[{self.code}]{where} {self.message}" + (f"\n    fix: {self.fix}" if self.fix else "")

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "block": self.block,
                "indices": to_json(list(self.indices)), "positions": to_json(list(self.positions)),
                "evidence": to_json(self.evidence), "fix": self.fix}


@dataclass(frozen=True)
class Code:
    """One code of the doctor: its name, its detection rule, and whether it fails a passing check."""

    name: str
    rule: str
    fails_passing: bool = False


CODES: dict[str, Code] = {c.name: c for c in (
    Code("argument-modified", "the cost or gradient changes its argument theta or a module-level array "
         "(X, y, a velocity ...) in place: copies compared before and after one call of each", True),
    Code("sign-flip", "a = -k n (k > 0) on a block, a part of one or the whole vector; or a = -n + c theta "
         "(the data term flipped, the L2 term not); or cosine < -0.5 with >= 90 % opposite signs"),
    Code("scale-factor", "a = k n (k > 0, |k - 1| > 1e-3) on a block or the whole vector, or a = k n + c theta "
         "(the data term scaled, the L2 term right); names k = m, 1/m, 2, 1/2, n_outputs, 1/n_outputs"),
    Code("zero-gradient", "an analytic block, or a run of coordinates, exactly 0 where the numerical one is not"),
    Code("transposed", "a block equals the numerical block read in the other unrolling order"),
    Code("bias-regularized", "a - n = c theta, c > 0, on the bias coordinates only (a bias vector, or the "
         "edge column/row of a weight matrix): the gradient penalises biases, the cost does not"),
    Code("bias-regularized-in-cost", "a - n = c theta, c < 0, on the bias coordinates only: the cost "
         "penalises biases, the gradient does not"),
    Code("bias-constant", "a - n = gamma (one constant) on the bias coordinates only: a penalty built "
         "with ones where the bias entries should be 0"),
    Code("regularization-mismatch", "a - n = c theta on a weight block (its bias line excluded): the "
         "gradient's L2 term is not the derivative of the cost's"),
    Code("range-mismatch", "inside one block, some rows or columns r..s disagree (each run with its own "
         "relation: zero, factor, offset) and the rest agrees"),
    Code("isolated-coordinates", "at most max(3, 1 %) of the coordinates disagree, each less than half "
         "of its block, and all the others agree"),
    Code("unperturbed-coordinates", "columns only: numerical exactly 0 where |analytic| > 1e-7 (1 + |J|)"),
    Code("block-mismatch", "some blocks agree or are explained while others only correlate (no relation "
         "fits): names both, with a hint derived from which layer and which kind of block differs"),
    Code("different-function", "|cosine| >= 0.5 but no relation fits what is left after the specific "
         "findings: the gradient of a related but different function"),
    Code("uncorrelated", "|cosine| < 0.5 on what is left: the gradient of some other function, or "
         "another order"),
    Code("nondeterministic", "f(theta) differs over 4 calls"),
    Code("non-finite", "NaN/Inf in the cost at theta, the analytic or the numerical gradient"),
    Code("kink", "at a mismatched coordinate the one-sided differences jump and the analytic value lies "
         "between them; the coordinate is excluded from the verdict"),
    Code("low-precision", "the cost or gradient returns float32, or the cost's third differences show "
         "relative noise > 1e-10"),
    Code("step-size", "an eps sweep 1e-2 .. 1e-10 on the worst coordinates finds an eps at which they agree"),
    Code("diagonal-only", "Jacobians: the analytic Jacobian is diagonal, the numerical one is not"),
    Code("softmax-from-inputs", "Jacobians: diag(s) - s x^T where diag(s) - s s^T belongs"),
)}


def fails(findings) -> bool:
    """Whether any finding means the gradient cannot be trusted even though the numbers agree."""
    return any(CODES[d.code].fails_passing for d in findings if d.code in CODES)


def replace_message(d: Diagnosis, message: str) -> Diagnosis:
    """A copy of ``d`` with a new message."""
    return Diagnosis(d.code, message, d.block, d.indices, d.positions, d.evidence, d.fix)
