"""A finding of the doctor: :class:`Diagnosis` (code, message, fix, evidence)."""
from __future__ import annotations

from dataclasses import dataclass, field

from gradcheck.jsonsafe import to_json


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
        The numbers behind the finding.
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

    def __str__(self) -> str:
        where = f" {self.block}" if self.block else ""
        return f"[{self.code}]{where} {self.message}" + (f"\n    fix: {self.fix}" if self.fix else "")

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "block": self.block,
                "indices": to_json(list(self.indices)), "positions": to_json(list(self.positions)),
                "evidence": to_json(self.evidence), "fix": self.fix}


def replace_message(d: Diagnosis, message: str) -> Diagnosis:
    """A copy of ``d`` with a new message."""
    return Diagnosis(d.code, message, d.block, d.indices, d.positions, d.evidence, d.fix)
