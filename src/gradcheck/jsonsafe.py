"""The one conversion of results into JSON-ready values: NumPy scalars and arrays become Python
numbers and lists, and every NaN or infinite float becomes None (JSON has no such numbers)."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["to_json", "finite_or_none"]


def finite_or_none(x) -> float | None:
    """``float(x)``, or None when it is NaN or infinite."""
    x = float(x)
    return x if math.isfinite(x) else None


def to_json(value):
    """``value`` with dicts, lists, tuples and arrays converted recursively (keys become str)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_json(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return finite_or_none(value)
    return value
