"""Reference mode for layers: which textbook mistake a user's backward pass made.

The reference layer (:mod:`gradcheck.nn.layers`) runs forward on the user's inputs and
parameters, in float64; its right backward and every applicable catalogued mistake
(:mod:`gradcheck.check.layer.mistakes`) are evaluated with the same upstream gradient the
check used.  Each of the user's gradients is compared with the right one and with the wrong
ones that change it, as returned (a wrong shape is a clue: ``db = dout`` has dout's shape).
A mistake is named when the user's gradients equal its gradients for every input it changes.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.layer.calls import LayerInput
from gradcheck.check.layer.mistakes import LayerMistake, mistakes_of
from gradcheck.check.numerical import relative_error
from gradcheck.check.reference.compare import MATCH_CEILING, MATCH_MARGIN
from gradcheck.errors import ConfigError
from gradcheck.nn.layers import Layer, get_layer

__all__ = ["match_layer_reference", "reference_params"]

Array = np.ndarray
FORWARD_RTOL = 1e-6   # the user's forward agrees with the reference's (float64)


def reference_params(layer: Layer, params: Mapping | None) -> dict:
    """The user's params the reference layer knows; a dict value (``conv_param``) is read inside."""
    flat: dict = {}
    for key, value in (params or {}).items():
        flat.update(value if isinstance(value, Mapping) else {key: value})
    return {k: flat[k] for k in layer.params if k in flat}


def _mask_from_output(inputs: list[Array], outputs: list[Array]) -> Array:
    return (outputs[0] != 0) | (inputs[0] == 0)  # a kept unit is nonzero unless its input was 0


# inputs the reference needs that a course-style layer draws itself, read back from its output
_RECOVERABLE = {("dropout", "mask"): _mask_from_output}


def _reference_inputs(layer: Layer, inputs: list[LayerInput], outputs: list[Array]) -> list[Array]:
    given = [np.asarray(i.value, np.float64) if i.value.dtype.kind == "f" else i.value for i in inputs]
    missing = layer.inputs[len(given):]
    if len(given) > len(layer.inputs) or any((layer.name, m) not in _RECOVERABLE for m in missing):
        raise ConfigError(f"the reference {layer.name} takes the inputs ({', '.join(layer.inputs)}) but "
                          f"yours are ({', '.join(i.name for i in inputs)}); give them in that order.")
    recovered = [_RECOVERABLE[layer.name, m](given, outputs) for m in missing]
    user_constants = {i.name for i in inputs if not i.differentiable}
    wanted = {n for n, i in zip(layer.inputs, inputs) if n in layer.constants and i.name not in user_constants}
    if wanted:
        names = [i.name for n, i in zip(layer.inputs, inputs) if n in wanted]
        raise ConfigError(f"the reference {layer.name} holds {', '.join(names)} fixed; pass "
                          f"constants={names} to check it.", option="constants")
    return given + recovered


def _forward_finding(layer: Layer, user: Array, out: Array) -> Diagnosis | None:
    if user.shape != np.shape(out):
        return Diagnosis("reference-forward-mismatch", f"your forward returns shape {user.shape} but the "
                         f"reference {layer.name} returns {np.shape(out)} for these inputs and params: "
                         f"it is another layer, or the params differ.",
                         evidence={"shape": user.shape, "reference_shape": np.shape(out)},
                         fix=f"check the reference name and its params ({', '.join(layer.params) or 'none'})")
    error = relative_error(np.asarray(user, np.float64), np.asarray(out, np.float64))
    if error <= max(FORWARD_RTOL, 100 * float(np.finfo(user.dtype).eps)):
        return None
    return Diagnosis("reference-forward-mismatch", f"your forward's output differs from the reference "
                     f"{layer.name}'s (relative error {error:.2g}); the gradients below are compared "
                     f"with the reference's at its own output.", evidence={"relative_error": error},
                     fix=f"compute the forward pass as {layer.name} does: {layer.formula}")


def _distance(user: Array, other) -> float:
    other = np.asarray(other)
    if user.shape != other.shape:
        return np.inf
    return relative_error(np.asarray(user, np.float64), np.asarray(other, np.float64))


def _variants(layer: Layer, dout, cache: dict, correct: dict, tol: float) -> list[tuple[LayerMistake, dict]]:
    """Each applicable mistake with the gradients it changes (those equal to the right ones dropped)."""
    out = []
    for mistake in mistakes_of(layer.name):
        try:
            if not mistake.applies(cache):
                continue
            with np.errstate(all="ignore"):
                wrong = mistake.backward(dout, cache)
        except (ValueError, IndexError, ZeroDivisionError):  # not defined at these shapes
            continue
        changed = {k: v for k, v in wrong.items() if _distance(np.asarray(v), correct[k]) > tol}
        if changed:
            out.append((mistake, changed))
    return out


def _matches(user: dict, variants: list, correct: dict, tol: float) -> list[tuple[LayerMistake, dict]]:
    """The mistakes whose gradients equal the user's for every input they change."""
    found = []
    for mistake, changed in variants:
        errors = {k: _distance(user[k], v) for k, v in changed.items()}
        floor = [_distance(user[k], correct[k]) for k in changed] + [
            _distance(user[k], other[k]) for m, other in variants if m is not mistake
            for k in changed if k in other]
        best = max(errors.values())
        if best <= tol or (best < MATCH_CEILING and all(best * MATCH_MARGIN <= e for e in floor)):
            found.append((mistake, errors))
    return found


def _mistake_finding(mistake: LayerMistake, errors: dict, user: dict, correct: dict) -> Diagnosis:
    names = ", ".join(f"d{k}" for k in errors)
    right = {k: _distance(user[k], correct[k]) for k in errors}
    return Diagnosis(mistake.code, f"Your {names} match{'es' if len(errors) == 1 else ''} the textbook "
                     f"mistake: {mistake.title} — {mistake.explanation}", next(iter(errors)),
                     evidence={"relative_error": errors, "relative_error_to_correct": right},
                     fix=mistake.fix)


def _unmatched(layer: Layer, name: str, user: Array, right: Array, variants: list) -> Diagnosis:
    closest = min(((m.code, _distance(user, v[name])) for m, v in variants if name in v),
                  key=lambda item: item[1], default=None)
    error = _distance(user, right)
    note = (f"; the closest catalogued mistake is {closest[0]} (relative error {closest[1]:.2g})"
            if closest and np.isfinite(closest[1]) else "")
    what = (f"relative error {error:.2g}" if np.isfinite(error) else
            f"shape {user.shape}, the reference's is {np.shape(right)}")
    return Diagnosis("reference-mismatch", f"d{name} matches neither the reference {layer.name}'s gradient "
                     f"({what}) nor any catalogued mistake of {layer.name}{note}.", name,
                     evidence={"relative_error": error, "closest": closest},
                     fix=f"compare with the reference: {layer.formula}")


def match_layer_reference(reference: str | Layer, inputs: list[LayerInput], params: Mapping | None,
                          douts: list[Array], outputs: list[Array], grads: list[Array],
                          tol: float = 1e-6) -> list[Diagnosis]:
    """Name the catalogued mistakes behind a layer's gradients.

    Parameters
    ----------
    reference : str or Layer
        The reference layer, e.g. ``"batchnorm"``.
    inputs : list of LayerInput
        The user's inputs, in the order the reference layer takes them.
    params : mapping
        The user's params (a nested dict such as ``{"conv_param": {...}}`` is read inside).
    douts, outputs : list of ndarray
        The upstream gradient the check used and the user's forward outputs.
    grads : list of ndarray
        The user's gradients in input order, in the shapes returned.

    Returns
    -------
    list of Diagnosis
        Empty when every gradient is right; else one ``"mistake:..."`` finding per mistake
        recognised, ``"reference-mismatch"`` for a gradient no entry explains, and
        ``"reference-forward-mismatch"`` when the forward passes differ.
    """
    layer = get_layer(reference)
    values = _reference_inputs(layer, inputs, outputs)
    out, cache = layer.forward(*values, **reference_params(layer, params))
    found = [f for f in [_forward_finding(layer, outputs[0], out)] if f]
    if found and found[0].evidence.get("shape") is not None:
        return found
    upstream = np.asarray(douts[0], np.float64)
    dout = float(upstream) if upstream.ndim == 0 else upstream
    correct = dict(zip(layer.differentiable, layer.backward(dout, cache)))
    user = {n: g for n, g in zip(layer.differentiable, grads)}
    variants = _variants(layer, dout, cache, correct, tol)
    matched = _matches(user, variants, correct, tol)
    explained = {k for _, errors in matched for k in errors}
    found += [_mistake_finding(m, errors, user, correct) for m, errors in matched]
    found += [_unmatched(layer, n, user[n], correct[n], variants) for n in layer.differentiable
              if n not in explained and _distance(user[n], correct[n]) > tol]
    return found
