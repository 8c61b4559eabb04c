"""Findings that only a layer's backward can have: shapes, order, the upstream gradient, mutation.

* :func:`fit_shapes` reads the returned gradients' shapes against the inputs' and says what a
  wrong shape is: transposed (``shape-transposed``), not summed over the batch or another axis
  (``shape-not-summed``), summed over the wrong axis of ``dout`` (``shape-wrong-axis``),
  flattened (``shape-flattened``), still padded (``shape-padded``: a convolution's padding not
  cut off), returned in another order (``wrong-order``), or just wrong (``shape-mismatch``).
  Where the values can still be compared (a transpose, a sum, a reshape, a crop, a reordering)
  the returned :class:`Fit` does so, and the check goes on with them.
* :func:`order_by_values` finds gradients of equal shapes returned in another order, or one
  input's gradient returned in place of another's (``wrong-order``, ``wrong-input``).
* :func:`upstream_findings` calls backward with ``-2 dout``, a second ``dout'`` and
  ``dout + dout'``: a vector-Jacobian product is linear in ``dout``, so a gradient that does not
  change (``upstream-ignored``), changes by one fixed term (``upstream-constant-term``) or not
  linearly (``upstream-nonlinear``) is named per input.
* :func:`mutation_findings` compares copies of the inputs, the cache and ``dout`` before and
  after each call (``forward-mutates-input``, ``backward-mutates-input``,
  ``backward-mutates-dout``, ``backward-mutates-cache``), and :func:`aliasing_finding` changes
  the output in place, as the next layer's in-place operation would, to see whether the cache
  holds it (``cache-aliases-output``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.doctor.mutation import changed_indices
from gradcheck.check.numerical import relative_error
from gradcheck.check.userinput import from_tensor

__all__ = ["Fit", "fit_shapes", "order_by_values", "upstream_findings", "snapshot", "changed",
           "mutation_findings", "aliasing_finding"]

Array = np.ndarray
LINEARITY_ULPS = 1000.0   # backward(-2 dout) may differ from -2 backward(dout) by this many unit round-offs
MAX_LEAVES = 64           # arrays of a cache compared before and after backward


def _axes(axes) -> str:
    axes = tuple(axes)
    return f"axis {axes[0]}" if len(axes) == 1 else f"axes {axes}"


# --- shapes and order ---------------------------------------------------------------------------

@dataclass
class Fit:
    """How returned gradients are brought to their inputs' shapes.

    ``order[i]`` is the position of input i's gradient among those returned; ``repairs[i]``
    maps it to the input's shape (None: it cannot be compared).
    """

    order: list[int]
    repairs: list[Callable | None]
    findings: list[Diagnosis] = field(default_factory=list)

    def apply(self, grads: list[Array]) -> list[Array | None]:
        return [None if repair is None else repair(grads[j]) for j, repair in zip(self.order, self.repairs)]

    @property
    def unusable(self) -> list[int]:
        return [i for i, repair in enumerate(self.repairs) if repair is None]


def _embedding(small: tuple, big: tuple) -> tuple[int, ...] | None:
    """Axes of ``big`` that keep ``small`` as a subsequence (the trailing match), or None."""
    if len(small) >= len(big):
        return None
    kept, j = [], len(big) - 1
    for size in reversed(small):
        while j >= 0 and big[j] != size:
            j -= 1
        if j < 0:
            return None
        kept.append(j)
        j -= 1
    return tuple(reversed(kept))


def _padding(returned: tuple, expected: tuple) -> int:
    """The border p when ``returned`` is ``expected`` with its last two axes grown by 2p, else 0."""
    if len(returned) != len(expected) or len(expected) < 3 or returned[:-2] != expected[:-2]:
        return 0
    grown = {r - e for r, e in zip(returned[-2:], expected[-2:])}
    pad = grown.pop() // 2 if len(grown) == 1 else 0
    return pad if pad > 0 and returned[-1] - expected[-1] == 2 * pad else 0


def _identity(g: Array) -> Array:
    return g


def _shape_finding(code: str, name: str, returned: tuple, expected: tuple, what: str, fix: str,
                   **evidence) -> Diagnosis:
    message = (f"d{name} has shape {returned} but {name} has shape {expected}: {what}.")
    return Diagnosis(code, message, name, evidence={"returned_shape": returned, "expected_shape": expected,
                                                    **evidence}, fix=fix)


def _repair(name: str, returned: tuple, expected: tuple, dout_shape: tuple, batch: int | None):
    """``(repair or None, finding or None)`` for one gradient's shape."""
    if returned == expected:
        return _identity, None
    size = int(np.prod(returned))
    if all(s == 1 for s in returned + expected):
        return (lambda g: g.reshape(expected)), None  # (1,) for (): the same number
    if len(expected) == 2 and returned == expected[::-1]:
        return (lambda g: g.T), _shape_finding(
            "shape-transposed", name, returned, expected, "it is transposed",
            f"return d{name} with {name}'s own shape: for w (D, M) in out = x w, dw = x^T dout, "
            f"not dout^T x")
    pad = _padding(returned, expected)
    if pad:
        return (lambda g: g[..., pad:-pad, pad:-pad]), _shape_finding(
            "shape-padded", name, returned, expected,
            f"it is the gradient of {name} padded by {pad} on each side; cropped, it is compared below",
            f"cut the padding off: d{name} = d{name}_padded[:, :, pad:-pad, pad:-pad]", pad=pad)
    kept = _embedding(expected, returned)
    if kept is not None:
        summed = tuple(a for a in range(len(returned)) if a not in kept)
        batch_words = " (the batch)" if 0 in summed and batch and returned[0] == batch else ""
        return (lambda g: g.sum(axis=summed)), _shape_finding(
            "shape-not-summed", name, returned, expected,
            f"it is not summed over {_axes(summed)}{batch_words}; summed there it is compared below",
            f"sum d{name} over {_axes(summed)}: every sample (and position) that uses {name} adds "
            f"its contribution, e.g. db = dout.sum(axis=0)", summed_axes=summed)
    wrong, right = _embedding(returned, dout_shape), _embedding(expected, dout_shape)
    if wrong is not None and right is not None:
        summed_wrong = tuple(a for a in range(len(dout_shape)) if a not in wrong)
        summed_right = tuple(a for a in range(len(dout_shape)) if a not in right)
        return None, _shape_finding(
            "shape-wrong-axis", name, returned, expected,
            f"it is summed over {_axes(summed_wrong)} of dout {dout_shape} instead of "
            f"{_axes(summed_right)}", f"sum over {_axes(summed_right)} (where {name} is shared), "
            f"e.g. dgamma = (dout * xhat).sum(axis=0)", summed_axes=summed_wrong,
            right_axes=summed_right)
    if size == int(np.prod(expected)):
        return (lambda g: g.reshape(expected)), _shape_finding(
            "shape-flattened", name, returned, expected,
            "it has the right number of values in another shape (flattened, or not reshaped "
            "back); reshaped to it, it is compared below",
            f"reshape it back: d{name} = d{name}.reshape({name}.shape)")
    return None, _shape_finding("shape-mismatch", name, returned, expected,
                                "a gradient has the shape of its input, and this one cannot be "
                                "compared", f"return d{name} with {name}'s shape {expected}")


def _permutation(returned: list[tuple], expected: list[tuple]) -> list[int] | None:
    """Positions of the returned shapes that give the expected ones, keeping matches in place."""
    if sorted(returned) != sorted(expected) or returned == expected:
        return None
    order, free = [], [j for j in range(len(returned)) if returned[j] != expected[j]]
    for i, shape in enumerate(expected):
        if returned[i] == shape:
            order.append(i)
            continue
        j = next(j for j in free if returned[j] == shape)
        free.remove(j)
        order.append(j)
    return order


def _order_finding(order: list[int], names: list[str], how: str) -> Diagnosis:
    returned = ", ".join(f"d{names[order.index(j)]}" for j in range(len(order)))
    expected = ", ".join(f"d{n}" for n in names)
    return Diagnosis("wrong-order", f"backward returns the gradients in the order ({returned}) but the "
                     f"inputs are ({', '.join(names)}) ({how}); reordered, they are compared below.",
                     evidence={"returned_order": returned, "expected_order": expected},
                     fix=f"return ({expected}), in the order forward takes the inputs")


def fit_shapes(grads: list[Array], names: list[str], shapes: list[tuple], dout_shape: tuple,
               batch: int | None) -> Fit:
    """Read the returned gradients' shapes against the inputs' (see the module docstring)."""
    returned = [tuple(g.shape) for g in grads]
    order = _permutation(returned, shapes) or list(range(len(grads)))
    findings = [] if order == list(range(len(grads))) else [
        _order_finding(order, names, "told by their shapes")]
    repairs = []
    for name, shape, j in zip(names, shapes, order):
        repair, finding = _repair(name, returned[j], shape, dout_shape, batch)
        repairs.append(repair)
        findings += [finding] if finding else []
    return Fit(order, repairs, findings)


def order_by_values(fitted: list[Array | None], numerical: list[Array], names: list[str],
                    agree: Callable[[Array, Array], bool]) -> tuple[list[int] | None, list[Diagnosis]]:
    """Gradients returned for the wrong input: ``(new order or None, findings)``.

    ``agree(analytic, numerical)`` is the report's rule.  Only inputs whose own gradient
    disagrees are considered; a returned gradient that agrees with another input's numerical
    one was returned for that input.
    """
    n = len(names)
    usable = {i: g for i, g in enumerate(fitted) if g is not None}
    wrong = [i for i, g in usable.items() if not agree(g, numerical[i])]
    belongs = {i: j for i in wrong for j in range(n)
               if j != i and usable[i].size == numerical[j].size
               and agree(usable[i].reshape(numerical[j].shape), numerical[j])}
    if not belongs:
        return None, []
    if sorted(belongs) == sorted(belongs.values()):  # a permutation of the wrong ones
        order = list(range(n))
        for i, j in belongs.items():
            order[j] = i
        return order, [_order_finding(order, names, "told by their values")]
    findings = [Diagnosis("wrong-input", f"the gradient returned for {names[i]} is {names[j]}'s "
                          f"gradient (it agrees with the numerical d{names[j]}): d{names[i]} is "
                          f"computed from the wrong input or the wrong variable is returned.",
                          names[i], evidence={"returned_for": names[i], "equals_gradient_of": names[j]},
                          fix=f"return d{names[i]} in {names[i]}'s place: the gradient with respect "
                              f"to {names[i]}, e.g. dx = dout @ w.T where dw = x.T @ dout")
                for i, j in belongs.items()]
    return None, findings


# --- the upstream gradient ------------------------------------------------------------------------

def _close(a: Array, b: Array, rtol: float) -> bool:
    return relative_error(a, b) <= rtol


def _upstream_kind(base: Array, scaled: Array, other: Array, summed: Array,
                   rtol: float) -> tuple[str, dict] | None:
    """Classify one input's gradient as a function of dout; None when it is linear."""
    if _close(scaled, -2 * base, rtol) and _close(summed, base + other, rtol):
        return None
    if _close(scaled, base, rtol) and _close(other, base, rtol):
        return "upstream-ignored", {}
    term = (2 * base + scaled) / 3  # B(c d) = c L(d) + T gives T from c = 1 and c = -2
    if _close(summed, base + other - term, rtol) and _close(scaled, -2 * (base - term) + term, rtol):
        share = float(np.linalg.norm(term)) / max(float(np.linalg.norm(base)), 1e-300)
        return "upstream-constant-term", {"term_norm": float(np.linalg.norm(term)), "share": share}
    return "upstream-nonlinear", {"scaling_error": relative_error(scaled, -2 * base),
                                  "additivity_error": relative_error(summed, base + other)}


_UPSTREAM = {
    "upstream-ignored": (
        "d{name} does not depend on dout: backward(-2 dout), backward(dout') and backward(dout) all "
        "return the same d{name}; it is the local derivative alone, not multiplied by the upstream "
        "gradient",
        "multiply by dout (the chain rule's upstream factor): dx = dout * local derivative, "
        "dx = dout @ w.T"),
    "upstream-constant-term": (
        "d{name} has a term that does not scale with dout (norm {term_norm:.3g}, {share:.0%} of "
        "d{name}): backward(-2 dout) + 2 backward(dout) is one fixed array instead of 0",
        "multiply every term by dout; a term added on its own (a regulariser's gradient, a "
        "constant) belongs to the loss's gradient, not to the layer's"),
    "upstream-nonlinear": (
        "d{name} is not linear in dout: backward(-2 dout) differs from -2 backward(dout) (relative "
        "{scaling_error:.2g}) and backward(dout + dout') from the sum (relative {additivity_error:.2g}): "
        "dout is squared, passed through abs/max/sign, or used as a mask",
        "use dout only as a factor: dx = dout * (...); a mask comes from the forward's values "
        "(x > 0), never from dout"),
}


def upstream_findings(backward_at: Callable[[list[Array]], list[Array | None]], douts: list[Array],
                      names: list[str], rng: np.random.Generator) -> list[Diagnosis]:
    """Per input: is its gradient linear in ``dout``?  (``backward_at`` runs a fresh forward.)"""
    others = [rng.standard_normal(d.shape).astype(d.dtype) for d in douts]
    base = backward_at(douts)
    scaled = backward_at([-2 * d for d in douts])
    other = backward_at(others)
    summed = backward_at([d + o for d, o in zip(douts, others)])
    findings = []
    for i, name in enumerate(names):
        first = base[i]
        if first is None:
            continue
        rtol = LINEARITY_ULPS * float(np.finfo(np.result_type(first.dtype, np.float32)).eps)
        b, s, o, t = (np.asarray(v[i], np.float64) for v in (base, scaled, other, summed))
        if not all(np.all(np.isfinite(a)) for a in (b, s, o, t)):
            continue  # NaN/Inf: the non-finite finding says where, linearity cannot be judged
        with np.errstate(all="ignore"):
            kind = _upstream_kind(b, s, o, t, rtol)
        if kind:
            code, evidence = kind
            what, fix = _UPSTREAM[code]
            findings.append(Diagnosis(code, what.format(name=name, **evidence) + ".", name,
                                      evidence=evidence, fix=fix))
    return findings


# --- mutation ---------------------------------------------------------------------------------------

def _leaves(tree, path: str, depth: int = 0):
    """``(path, array)`` for the arrays (and tensors) inside tuples, lists, dicts and objects."""
    value = from_tensor(tree)
    if isinstance(value, np.ndarray):
        yield path, value
        return
    if depth >= 3:
        return
    if isinstance(tree, (tuple, list)):
        for i, v in enumerate(tree):
            yield from _leaves(v, f"{path}[{i}]", depth + 1)
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, f"{path}[{k!r}]", depth + 1)
    else:
        for k, v in _attributes(tree):
            yield from _leaves(v, f"{path}.{k}", depth + 1)


def _attributes(obj) -> list:
    saved = []
    if type(obj).__name__.endswith("Backward"):  # a torch ctx: what it saved for backward
        try:
            saved = [("saved_tensors", tuple(obj.saved_tensors))]
        except Exception:  # freed or never saved: nothing to compare
            saved = []
    try:
        own = list(vars(obj).items())
    except TypeError:
        own = []
    return saved + [(k, v) for k, v in own if not k.startswith("_")]


def snapshot(tree, path: str) -> list[tuple[str, Array, Array]]:
    """Copies of the arrays inside ``tree``: ``(path, live array, copy)``."""
    out: list[tuple[str, Array, Array]] = []
    for p, array in _leaves(tree, path):
        if len(out) >= MAX_LEAVES:
            break
        out.append((p, array, array.copy()))
    return out


def changed(snap: list[tuple[str, Array, Array]]) -> dict[str, str]:
    """Paths whose arrays no longer equal their copies: ``{path: "3 of 20 entries"}``."""
    out = {}
    for path, live, copy in snap:
        if live.shape != copy.shape:
            out[path] = f"reshaped from {copy.shape} to {live.shape}"
            continue
        n_changed = changed_indices(copy, live).size
        if n_changed:
            out[path] = f"{n_changed} of {copy.size} entries"
    return out


_MUTATION = {
    "forward-mutates-input": (
        "forward changed its input{s} in place ({paths}): the caller's arrays now hold other values, "
        "so the next use of them (by you, another layer or an optimizer) is wrong",
        "compute into new arrays (out = np.maximum(x, 0), not x[x < 0] = 0); copy first if an in-place "
        "update is wanted"),
    "backward-mutates-input": (
        "backward changed the input{s} in place ({paths}), through the cache that holds them: "
        "after one backward pass the caller's arrays hold other values",
        "do not write into cached inputs (x -= mean); compute new arrays"),
    "backward-mutates-dout": (
        "backward changed dout in place ({paths}): an upstream gradient shared with another "
        "branch (a residual connection, a second use of the output) is corrupted",
        "leave dout untouched: dx = dout * mask or dx = dout.copy(); dx[x <= 0] = 0"),
    "backward-mutates-cache": (
        "backward changed the cache in place ({paths}){again}: a second backward pass through the "
        "same cache (two losses, gradient accumulation) gets other gradients",
        "treat the cache as read-only in backward; compute new arrays from it"),
}


def mutation_finding(code: str, paths: dict[str, str], again: bool = False) -> Diagnosis:
    what, fix = _MUTATION[code]
    listing = ", ".join(f"{p}: {n}" for p, n in paths.items())
    note = "; a second backward with the same cache returned other gradients" if again else ""
    block = next(iter(paths)) if code.endswith("-input") and len(paths) == 1 else None
    return Diagnosis(code, what.format(s="s" if len(paths) > 1 else "", paths=listing, again=note) + ".",
                     block, evidence={"changed": paths, "second_call_differs": again}, fix=fix)


def mutation_findings(stages: dict[str, dict[str, str]], again: bool) -> list[Diagnosis]:
    """Findings from what each stage changed: ``{"forward-mutates-input": {path: n}, ...}``."""
    return [mutation_finding(code, paths, again and code == "backward-mutates-cache")
            for code, paths in stages.items() if paths]


def aliasing_finding(names: list[str], before: list[Array | None], after: list[Array | None],
                     paths: list[str], agree: bool = True) -> Diagnosis:
    """The cache holds the output: changing ``out`` in place after forward changed the gradients."""
    moved = {n: relative_error(a, b) for n, a, b in zip(names, after, before)
             if a is not None and b is not None and not np.array_equal(a, b)}
    listing = ", ".join(f"d{n} by {e:.2g}" for n, e in moved.items())
    head = f"the cache holds the output array itself ({', '.join(paths)})"
    message = (f"{head}: right as long as out is not changed in place later — an in-place change (an "
               f"in-place ReLU in the next layer, out *= 2) changes the gradients ({listing})." if agree else
               f"{head}, and the gradients disagree: if forward changed out after caching it (out = xhat; "
               f"out *= gamma changes the cached xhat too), backward reads the changed values "
               f"(changing out in place moves {listing}).")
    return Diagnosis("cache-aliases-output", message, evidence={"cache_paths": paths, "relative_change": moved,
                                                                "gradients_agree": agree},
                     fix="cache what backward needs as its own array (xhat.copy(), or out = gamma * xhat + "
                         "beta as a new array), and never change a cached array in place")
