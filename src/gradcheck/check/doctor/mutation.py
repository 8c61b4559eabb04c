"""What user code changes in place: the theta it is given, or arrays it reaches (X, y, a velocity).

``Theta1 = theta[:n].reshape(...)`` is a view: ``Theta1[:, 0] = 0`` then writes into theta
itself, and ``X /= 255`` inside a cost divides the module's data again on every call.  The
check passes copies of theta, so the numbers it compares stay sound, but an optimizer that
hands its own ``x`` to the gradient (``scipy.optimize.minimize``, ``fmin_cg``) does not.

:class:`Watch` keeps copies of the arrays to watch, taken before the first call;
:func:`call_and_compare` calls one function on a copy of theta, starting from those copies,
and returns what it changed (:class:`Change`), putting the watched arrays back afterwards.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Watch", "Change", "Spy", "FirstCalls", "changed_indices", "call_and_compare", "describe_change"]

Array = np.ndarray


def changed_indices(before: Array, after: Array) -> Array:
    """Flat indices where two arrays of one shape differ (NaN equals NaN)."""
    b, a = before.ravel(), after.ravel()
    same = (b == a) | (np.isnan(b) & np.isnan(a)) if b.dtype.kind in "fc" else (b == a)  # NaN == NaN here
    return np.flatnonzero(~same)


@dataclass
class Watch:
    """Arrays user code may modify in place, with their values before any call.

    ``arrays`` maps a name (``"X"``, ``"params['W1']"``) to the live array; the copies are
    taken when the Watch is made.
    """

    arrays: dict[str, Array]
    saved: dict[str, Array] = field(init=False)

    def __post_init__(self):
        self.arrays = {k: v for k, v in self.arrays.items()
                       if isinstance(v, np.ndarray) and v.dtype.kind in "biufc" and v.size}
        self.saved = {k: v.copy() for k, v in self.arrays.items()}

    def restore(self) -> None:
        """Put the values from before the first call back (in place: the module keeps its objects)."""
        for k, v in self.arrays.items():
            if v.flags.writeable and not np.array_equal(v, self.saved[k], equal_nan=v.dtype.kind in "fc"):
                v[...] = self.saved[k]


@dataclass(frozen=True)
class Change:
    """One array a call changed: its name, the flat indices, the values before and after."""

    name: str
    shape: tuple[int, ...]
    indices: Array
    before: Array
    after: Array


def _change(name: str, before: Array, after: Array) -> Change | None:
    idx = changed_indices(before, after)
    if idx.size == 0:
        return None
    return Change(name, before.shape, idx, before.ravel()[idx], after.ravel()[idx])


class Spy:
    """A user function that keeps the argument it was last given and what it returned.

    The check's own first call of the cost and of the gradient go through a Spy, so what they
    did to their copy of theta (and the dtype they returned) costs no extra call to find out.
    """

    def __init__(self, fn: Callable):
        self.fn, self.arg, self.value = fn, None, None

    def __call__(self, theta):
        self.arg = theta
        self.value = self.fn(theta)
        return self.value


@dataclass
class FirstCalls:
    """What the check's first call of each function changed (theta, watched arrays) and returned.

    ``roles`` maps "cost" and "gradient" to ``(function, changes, argument as left, dtype of
    the value that matters)``; with one function returning (J, grad), both roles hold it.
    """

    theta: Array
    watch: Watch | None
    roles: dict = field(default_factory=dict)

    def record(self, role: str, spy: Spy, position: int | None) -> None:
        """After ``spy``'s call: compare with theta and the watched copies, then restore them."""
        changes = [_change("theta", self.theta, np.asarray(spy.arg, dtype=np.float64))]
        if self.watch is not None:
            changes += [_change(k, self.watch.saved[k], v) for k, v in self.watch.arrays.items()]
            self.watch.restore()
        value = spy.value[position] if position is not None and isinstance(spy.value, tuple) else spy.value
        try:
            dtype = np.asarray(value).dtype
        except Exception:  # already refused by the check; nothing to learn here
            dtype = np.dtype(np.float64)
        self.roles[role] = (spy.fn, [c for c in changes if c is not None], np.array(spy.arg), dtype)


def call_and_compare(fn: Callable, theta: Array, watch: Watch | None) -> tuple[list[Change], Array]:
    """Call ``fn`` on a copy of ``theta``, the watched arrays at their first values; what changed.

    Returns the changes (theta first, named ``"theta"``) and the copy as ``fn`` left it.  The
    watched arrays are restored afterwards; an exception from ``fn`` counts as no change (it
    ran without one during the check).
    """
    arg = np.array(theta, dtype=np.float64)
    if watch is not None:
        watch.restore()
    try:
        fn(arg)
    except Exception:  # the user's code: this probe must not turn into a new error
        pass
    changes = [_change("theta", np.asarray(theta, dtype=np.float64), arg)]
    if watch is not None:
        changes += [_change(k, watch.saved[k], v) for k, v in watch.arrays.items()]
        watch.restore()
    return [c for c in changes if c is not None], arg


def describe_change(change: Change) -> str:
    """How the values moved: "set to 0", "each multiplied by 0.00392 (divided by 255)", "changed"."""
    before, after = change.before.astype(np.float64), change.after.astype(np.float64)
    if np.all(after == after.flat[0]):
        return f"set to {after.flat[0]:g}"
    nonzero = before != 0
    if np.all(nonzero):
        ratio = after / before
        if np.allclose(ratio, ratio[0], rtol=1e-9):
            r = float(ratio[0])
            inverse = f" (divided by {1 / r:.6g})" if abs(r) < 1 else ""
            return f"multiplied by {r:.6g}{inverse}"
    shift = after - before
    if np.allclose(shift, shift[0], rtol=1e-9):
        return f"shifted by {shift[0]:+.6g}"
    return "changed"
