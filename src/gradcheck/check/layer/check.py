"""Check a layer's backward pass: the numerical vector-Jacobian product of every input.

:func:`check_layer` takes a layer as people write it (a NumPy ``forward``/``backward`` pair, a
loss function returning ``(loss, dx)``, a ``torch.autograd.Function``; see
:mod:`gradcheck.check.layer.calls`) and its inputs by name::

    report = check_layer(affine_forward, affine_backward, {"x": x, "w": w, "b": b})
    report.passed, report.inputs["w"].relative_error, report.diagnoses

Method: a seeded random upstream gradient ``dout`` (standard normal, one per output; 1 for a
loss function that returns its gradients); the scalar ``c = sum(forward(inputs) * dout)``
has the gradient ``backward(dout)`` with respect to every input, so central differences of
``c`` (2 forward calls per input element) give the numerical vector-Jacobian product.  The
differentiated inputs are the blocks of one :class:`~gradcheck.check.report.GradientReport`,
and the doctor's detectors (:func:`~gradcheck.check.doctor.detectors.diagnose`) run per input.  Before
that, the layer-specific findings of :mod:`gradcheck.check.layer.detectors`: the returned
shapes and order, the linearity in ``dout``, and mutation of inputs, cache and ``dout``.
``quick=True`` replaces the coordinate-by-coordinate differences with the directional check
of :func:`~gradcheck.check.quick.quick_check`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from gradcheck.check.doctor.detectors import diagnose
from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.layer.calls import LayerInput, layer_caller, read_gradients, read_inputs
from gradcheck.check.layer.detectors import (
    Fit,
    aliasing_finding,
    changed,
    fit_shapes,
    mutation_findings,
    order_by_values,
    snapshot,
    upstream_findings,
)
from gradcheck.check.layer.reference import match_layer_reference
from gradcheck.check.numerical import TOLERANCE, check_eps, numerical_gradient
from gradcheck.check.quick import QuickReport, quick_check
from gradcheck.check.report import GradientReport
from gradcheck.errors import ConfigError, UserCodeError
from gradcheck.jsonsafe import finite_or_none, to_json
from gradcheck.nn.blocks import make_blocks
from gradcheck.nn.layers import get_layer

__all__ = ["check_layer", "LayerReport", "InputCheck"]

Array = np.ndarray
EVALUATOR = "central differences of sum(forward(inputs) * dout)"
# detectors about the function itself; the others, for an input a layer finding explains, are dropped
_FUNCTION_CODES = frozenset({"non-finite", "nondeterministic", "low-precision", "kink", "step-size"})
_EXPLAINING = frozenset({"upstream-ignored", "upstream-constant-term", "upstream-nonlinear", "wrong-input"})


@dataclass(frozen=True)
class InputCheck:
    """One input of the checked layer."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    differentiated: bool
    returned_shape: tuple[int, ...] | None = None
    relative_error: float | None = None    # full check only
    passed: bool | None = None             # None: a constant, or the quick check

    def to_dict(self) -> dict:
        error = self.relative_error
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "differentiated": self.differentiated,
                "returned_shape": None if self.returned_shape is None else list(self.returned_shape),
                "relative_error": None if error is None else finite_or_none(error), "passed": self.passed}


@dataclass
class LayerReport:
    """The outcome of :func:`check_layer`.

    Attributes
    ----------
    mode : {"full", "quick"}
    kind : str
        How the layer was called: "numpy", "numpy-loss", "torch.autograd.Function", "torch".
    inputs : dict of name -> InputCheck
    findings : list of Diagnosis
        Layer findings and the doctor's findings per input (empty for a right backward).
    notes : list of Diagnosis
        Coordinates on a kink (ReLU at 0, max-pool ties), left out of the verdict.
    reference : list of Diagnosis
        Reference mode's findings (the catalogued mistakes matched).
    gradient : GradientReport or None
        The full comparison, one block per differentiated input.
    quick : QuickReport or None
        The directional comparison (``quick=True``).
    """

    mode: str
    kind: str
    inputs: dict[str, InputCheck]
    findings: list[Diagnosis] = field(default_factory=list)
    notes: list[Diagnosis] = field(default_factory=list)
    reference: list[Diagnosis] = field(default_factory=list)
    gradient: GradientReport | None = None
    quick: QuickReport | None = None
    n_samples: int | None = None
    seed: int | None = 0
    outputs: list[tuple[tuple[int, ...], str]] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        """The numbers agree (the full check's verdict, or the quick one's)."""
        if self.gradient is not None:
            return self.gradient.passed
        return self.quick is not None and self.quick.passed

    @property
    def passed(self) -> bool:
        return self.agree and not self.findings and not self.reference

    @property
    def diagnoses(self) -> list[Diagnosis]:
        return self.findings + self.reference

    @property
    def relative_error(self) -> float | None:
        return None if self.gradient is None else self.gradient.relative_error

    def summary(self) -> str:
        """One line: each input's relative error (full check) and the verdict."""
        parts = ", ".join(f"{i.name} {i.relative_error:.2e}" for i in self.inputs.values()
                          if i.relative_error is not None)
        codes = ", ".join(d.code for d in self.diagnoses)
        return (f"{self.mode} check of a {self.kind} layer: {parts or 'directional'}; "
                f"{'pass' if self.passed else 'fail'}" + (f" ({codes})" if codes else ""))

    def plot(self, path=None):
        """Analytic vs numerical per input (the full check's :meth:`GradientReport.plot`)."""
        if self.gradient is None:
            raise ConfigError("the quick check compares directions, not coordinates: plot the full check.")
        return self.gradient.plot(path)

    def to_dict(self) -> dict:
        """A JSON-ready summary (schema in the README, "Checking a layer")."""
        numbers = self.gradient if self.gradient is not None else self.quick
        body = numbers.to_dict() if numbers is not None else {}
        body.pop("diagnoses", None)
        return to_json({"mode": self.mode, "kind": self.kind, "passed": self.passed, "n_samples": self.n_samples,
                "seed": self.seed, "outputs": [{"shape": list(s), "dtype": d} for s, d in self.outputs],
                "inputs": [i.to_dict() for i in self.inputs.values()],
                self.mode if self.mode == "quick" else "gradient": body,
                "diagnoses": [d.to_dict() for d in self.findings],
                "notes": [d.to_dict() for d in self.notes],
                "reference": [d.to_dict() for d in self.reference]})


# --- the layer at the checked point, as a function of one flat vector ------------------------------

class _LayerAt:
    """The layer at the checked point: the differentiated inputs as one flat ``theta``."""

    def __init__(self, call, inputs: list[LayerInput], douts: list[Array], fit: Fit,
                 output_shapes: list[tuple]):
        self.call, self.inputs, self.douts, self.fit = call, inputs, douts, fit
        self.douts64 = [np.asarray(d, np.float64) for d in douts]
        self.output_shapes = output_shapes
        self.differentiated = [i for i in inputs if i.differentiable]
        self.blocks = make_blocks({i.name: i.shape or (1,) for i in self.differentiated})
        self.slices = [b.slice for b in self.blocks]
        self.theta = np.concatenate([i.value.astype(np.float64).ravel() for i in self.differentiated])
        low = min((d.dtype for d in douts), key=lambda t: t.itemsize)
        self.cost_type = low.type if low.kind == "f" and low.itemsize < 8 else np.float64

    def arrays(self, theta: Array) -> list[Array]:
        out, slices = [], iter(self.slices)
        for i in self.inputs:
            if i.differentiable:
                out.append(theta[next(slices)].reshape(i.shape).astype(i.value.dtype))
            else:
                out.append(i.value.copy())
        return out

    def cost(self, theta: Array):
        """``sum(forward(inputs) * dout)``, in the precision of the outputs."""
        outputs, _ = self.call.forward(self.arrays(theta), need_cache=False)
        self._same_shapes(outputs)
        total = sum(float(np.vdot(o.astype(np.float64), d)) for o, d in zip(outputs, self.douts64))
        return self.cost_type(total)

    def _same_shapes(self, outputs: list[Array]) -> None:
        shapes = [o.shape for o in outputs]
        if shapes != self.output_shapes:
            raise UserCodeError(f"forward's outputs changed shape from {self.output_shapes} to {shapes} "
                                f"when its inputs moved slightly; a layer's output shape depends on "
                                f"its inputs' shapes only.")

    def backward_at(self, douts: list[Array], theta: Array | None = None) -> list[Array | None]:
        """The fitted gradients of a fresh forward and backward with upstream ``douts``."""
        _, cache = self.call.forward(self.arrays(self.theta if theta is None else theta))
        grads = read_gradients(self.call.backward([d.copy() for d in douts], cache), self.inputs)
        return self.fit.apply(grads)

    def gradient(self, theta: Array) -> Array:
        fitted = self.backward_at(self.douts, theta)
        parts = [np.zeros(b.size) if g is None else g.ravel() for g, b in zip(fitted, self.blocks)]
        return np.concatenate(parts)

    def split(self, vector: Array) -> list[Array]:
        return [b.matrix(vector).reshape(i.shape) for b, i in zip(self.blocks, self.differentiated)]


# --- the first pass: douts, shapes, mutation ----------------------------------------------------------

@dataclass
class _FirstPass:
    outputs: list[Array]
    douts: list[Array]
    grads: list[Array]
    cache_paths: list[str]
    findings: list[Diagnosis]


def _douts(call, outputs: list[Array], rng: np.random.Generator) -> list[Array]:
    if not call.has_upstream:
        return [np.ones((), outputs[0].dtype)]
    return [rng.standard_normal(o.shape).astype(o.dtype) for o in outputs]


def _shares(leaf: Array, arrays: list[Array]) -> bool:
    return any(np.may_share_memory(leaf, a) for a in arrays)


def _first_pass(call, inputs: list[LayerInput], rng: np.random.Generator) -> _FirstPass:
    """One forward and backward at the checked point, watching what they change."""
    arrays = [i.value.copy() for i in inputs]
    before = snapshot({i.name: a for i, a in zip(inputs, arrays)}, "inputs")
    outputs, cache = call.forward(arrays)
    stages = {"forward-mutates-input": _named(changed(before))}
    douts = _douts(call, outputs, rng)
    sent = [d.copy() for d in douts]
    watched = [(p, live, copy) for p, live, copy in snapshot(cache, "cache") if not _shares(live, arrays)]
    after_forward = snapshot({i.name: a for i, a in zip(inputs, arrays)}, "inputs")
    raw = call.backward(sent, cache)
    grads = read_gradients(raw, inputs)
    stages["backward-mutates-input"] = _named(changed(after_forward))
    stages["backward-mutates-dout"] = changed([(f"dout[{k}]" if len(douts) > 1 else "dout", s, d)
                                               for k, (d, s) in enumerate(zip(douts, sent))])
    stages["backward-mutates-cache"] = changed(watched)
    again = bool(stages["backward-mutates-cache"]) and _differs(grads, read_gradients(
        call.backward([d.copy() for d in douts], cache), inputs))
    aliased = [p for p, live, _ in watched if _shares(live, outputs)] if call.kind == "numpy" else []
    return _FirstPass(outputs, douts, grads, aliased, mutation_findings(stages, again))


def _named(paths: dict[str, str]) -> dict[str, str]:
    return {p.removeprefix("inputs[").removesuffix("]").strip("'"): n for p, n in paths.items()}


def _differs(a: list[Array], b: list[Array]) -> bool:
    return any(x.shape != y.shape or not np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))


_Aliasing = tuple[list[str], list[Array | None], list[Array | None], list[str]]


def _aliasing(point: _LayerAt, first: _FirstPass, names: list[str], rng) -> _Aliasing | None:
    """Change the output in place after forward, as the next layer might, and call backward:
    ``(names, gradients before, after, cache paths)`` when the gradients moved."""
    if not first.cache_paths:
        return None
    outputs, cache = point.call.forward(point.arrays(point.theta))
    for o in outputs:
        if o.flags.writeable:
            o[...] = rng.standard_normal(o.shape)
    moved = point.fit.apply(read_gradients(point.call.backward([d.copy() for d in point.douts], cache),
                                           point.inputs))
    before = point.fit.apply(first.grads)
    if not any(a is not None and b is not None and not np.array_equal(a, b) for a, b in zip(before, moved)):
        return None
    return names, before, moved, first.cache_paths


# --- the checks ---------------------------------------------------------------------------------------

def _batch_size(outputs: list[Array], inputs: list[LayerInput]) -> int | None:
    """N: the output's first axis; for a scalar loss, the labels' length or the data's rows."""
    if outputs[0].ndim >= 1:
        return int(outputs[0].shape[0])
    labels = [i for i in inputs if i.value.dtype.kind in "iu" and i.value.ndim == 1]
    rows = [i for i in inputs if i.value.ndim >= 2]
    return len(labels[0].value) if labels else (rows[0].shape[0] if rows else None)


def _agree_rule(report_tol: float, noise: float):
    def agree(a: Array, n: Array) -> bool:
        a, n = a.ravel(), n.ravel()
        allowed = report_tol * max(float(np.linalg.norm(a)), float(np.linalg.norm(n)))
        return float(np.linalg.norm(a - n)) <= allowed + noise * np.sqrt(a.size)
    return agree


def _full(point: _LayerAt, eps: float, tol: float) -> tuple[GradientReport, list[Diagnosis]]:
    """The coordinate-by-coordinate comparison, with gradients of equal shapes put in order."""
    numerical = numerical_gradient(point.cost, point.theta, eps)
    report = _report(point, numerical, eps, tol)
    findings: list[Diagnosis] = []
    if not report.passed:
        names = [i.name for i in point.differentiated]
        order, findings = order_by_values(point.fit.apply(_by_order(point)), point.split(numerical),
                                          names, _agree_rule(tol, report.noise))
        if order is not None:
            point.fit.order = [point.fit.order[j] for j in order]
            report = _report(point, numerical, eps, tol)
    return report, findings


def _by_order(point: _LayerAt) -> list[Array]:
    """The returned gradients (before fitting) at the checked point."""
    _, cache = point.call.forward(point.arrays(point.theta))
    return read_gradients(point.call.backward([d.copy() for d in point.douts], cache), point.inputs)


def _report(point: _LayerAt, numerical: Array, eps: float, tol: float) -> GradientReport:
    excluded = np.zeros(point.theta.size, dtype=bool)
    for i in point.fit.unusable:
        excluded[point.blocks[i].slice] = True
    return GradientReport(numerical, point.gradient(point.theta), list(point.blocks),
                          cost=float(point.cost(point.theta)), eps=eps, evaluator=EVALUATOR,
                          tolerance=tol, excluded=excluded)


def _layer_diagnoses(report: GradientReport, point: _LayerAt, n_samples, scalar: bool,
                     explained: set[str]) -> tuple[list[Diagnosis], list[Diagnosis]]:
    """The doctor's findings per input: ``(findings, kink notes)``."""
    found = diagnose(report, f=point.cost, grad=point.gradient, theta=point.theta,
                     n_samples=n_samples, n_outputs=1)
    notes = [d for d in found if d.code == "kink"]
    kept = []
    for d in found:
        if d.code == "kink" or (d.code not in _FUNCTION_CODES and _explained(d, explained)):
            continue
        kept.append(d if scalar else _batch_scaling(d, n_samples))
    if len(point.differentiated) == 1:  # a whole-vector finding of a one-input layer is that input's
        only = point.differentiated[0].name
        kept = [replace(d, block=only) if d.block is None and d.code not in _FUNCTION_CODES else d
                for d in kept]
    torch = point.call.kind in _TORCH_KINDS
    return [_torch_precision(_in_layer_words(d), point.inputs) if torch else _in_layer_words(d)
            for d in kept], notes


def _explained(d: Diagnosis, explained: set[str]) -> bool:
    if d.block is not None:
        return d.block in explained
    disagreeing = d.evidence.get("disagreeing", {})
    return bool(disagreeing) and set(disagreeing) <= explained


def _batch_scaling(d: Diagnosis, n: int | None) -> Diagnosis:
    """A factor 1/N in a layer whose output is not a loss: the mean belongs to the loss alone."""
    if d.code != "scale-factor" or "1/m" not in d.evidence.get("meanings", ()):
        return d
    where = f"d{d.block}" if d.block else "every gradient"
    return Diagnosis("batch-scaling", f"{where} is {d.evidence['k']:.6g} times the numerical one, 1/N with "
                     f"N = {n} the batch size: the layer divides by N, but its output is not the loss — the "
                     f"mean over the batch belongs to the loss layer, whose gradient already carries the "
                     f"1/N into dout.", d.block, evidence={**d.evidence, "N": n},
                     fix="drop the / N from the layer's backward: dw = x.T @ dout, db = dout.sum(axis=0)")


def _names(d: Diagnosis) -> str:
    blocks = list(d.evidence.get("disagreeing", {})) or ([d.block] if d.block else [])
    return ", ".join(f"d{b}" for b in blocks) or "every gradient"


def _scale_words(d: Diagnosis) -> Diagnosis:
    ev = d.evidence
    meanings = {"m": "N times, N the batch size: a sum over the batch where the loss's mean needs 1/N",
                "1/m": "1/N: divided by the batch size once too often",
                "2": "a factor 2: a square's derivative (2 reg W) where the loss has 0.5 reg W^2, or a "
                     "term counted twice", "1/2": "a missing factor 2: the derivative of reg W^2 is 2 reg W"}
    named = [meanings[m] for m in ev.get("meanings", []) if m in meanings]
    message = (f"{_names(d)} is {ev['k']:.6g} times the numerical one (consistent to {ev['residual']:.1e})"
               + "".join(f"; {m}" for m in named) + ".")
    return Diagnosis(d.code, message, d.block, d.indices, d.positions, ev,
                     "find the constant: a 1/N (only a loss's gradient carries it), a factor 2 of a "
                     "square, the keep probability p of dropout")


def _block_mismatch_words(d: Diagnosis) -> Diagnosis:
    ev = d.evidence
    detail = "; ".join(f"d{n} disagrees (cosine {e['cosine']:.3f}, relative error {e['relative_error']:.1e})"
                       for n, e in ev.get("disagreeing", {}).items())
    agree = ", ".join(f"d{n} agrees to {err:.1e}" for n, err in ev.get("agreeing", {}).items())
    return Diagnosis(d.code, f"the error is confined to {_names(d)}: {detail}; {agree} — the lines that "
                     f"compute {_names(d)} are wrong while the others are right.", d.block, d.indices,
                     d.positions, ev, _DERIVE)


_DERIVE = ("re-derive it from your forward pass: each intermediate's local derivative at the values "
           "forward cached (sigmoid's s(1 - s) from the output s), multiplied along the chain from dout; "
           "a term through a shared intermediate (a mean, a sum over the row) is the one most often lost")

# the doctor's findings in a layer's words: its fixes speak of networks (a - y, delta^T a)
_LAYER_WORDS = {
    "block-mismatch": _block_mismatch_words,
    "scale-factor": _scale_words,
    "different-function": lambda d: replace(d, fix=_DERIVE),
    "uncorrelated": lambda d: replace(d, fix="it is the gradient of another function: check it is computed "
                                      "for this input (not another's), from this call's cache, and "
                                      "multiplied by dout"),
    "sign-flip": lambda d: replace(d, fix="find the sign: a difference written the other way round (mu - x "
                                   "for x - mu), the minus of d(-log p), or one dropped when expanding"),
    "zero-gradient": lambda d: replace(d, fix=f"d{d.block} is never filled in: assign it (a zeros_like left "
                                       f"unfilled, or a loop that never runs)"),
    "transposed": lambda d: replace(d, fix=f"return d{d.block} with {d.block}'s own orientation: for out = "
                                    f"x w, dw = x.T @ dout, not dout.T @ x"),
}


def _in_layer_words(d: Diagnosis) -> Diagnosis:
    return _LAYER_WORDS.get(d.code, lambda same: same)(d)


_TORCH_KINDS = ("torch", "torch.autograd.Function")
_TORCH_FLOAT32 = (
    " PyTorch: torch.autograd.gradcheck fails on float32 tensors too ('Jacobian mismatch for output 0 "
    "with respect to input 0'), because its step eps=1e-6 is only a few float32 spacings (1.2e-7 near "
    "1): the rounded inputs and outputs put errors of several per cent into every difference quotient")
_TORCH_PRECISION_ONLY = ("; that is not a bug in backward: check with float64 tensors (x.double() and "
                         "every parameter .double()), and keep float32 for training.")
_TORCH_AND_A_BUG = ("; here a real mismatch remains at float32's step as well: check with float64 "
                    "tensors (x.double() and every parameter .double()) and read the other findings.")


def _torch_precision(d: Diagnosis, inputs: list[LayerInput]) -> Diagnosis:
    low = [i for i in inputs if i.value.dtype.kind == "f" and i.value.dtype.itemsize < 8]
    if d.code != "low-precision" or not low:
        return d
    tail = _TORCH_PRECISION_ONLY if d.evidence.get("goes_away") else _TORCH_AND_A_BUG
    return replace(d, message=d.message + _TORCH_FLOAT32 + tail,
                   evidence={**d.evidence, "float32_tensors": [i.name for i in low]})


def _input_checks(point: _LayerAt, first: _FirstPass, report: GradientReport | None) -> dict:
    returned = {i.name: tuple(first.grads[j].shape) for i, j in zip(point.differentiated, point.fit.order)}
    unusable = {point.differentiated[i].name for i in point.fit.unusable}
    blocks = {b.name: b for b in point.blocks}
    checks = {}
    for i in point.inputs:
        error, passed = None, None
        if i.name in unusable:
            passed = False
        elif i.differentiable and report is not None:
            error, passed = report.block_errors[i.name], _block_passed(report, blocks[i.name])
        checks[i.name] = InputCheck(i.name, i.shape, str(i.value.dtype), i.differentiable,
                                    returned.get(i.name), error, passed)
    return checks


def _block_passed(report: GradientReport, block) -> bool:
    """The report's rule on one block: its norm within tolerance and no coordinate outside."""
    keep = report.included[block.slice]
    a, n = report.analytic[block.slice][keep], report.numerical[block.slice][keep]
    inside = not np.any((report.mismatched >= block.start) & (report.mismatched < block.stop))
    return bool(inside and _agree_rule(report.tolerance, report.noise)(a, n))


def _reference_constants(reference, inputs: Mapping) -> list[str]:
    """The user's names of the inputs the reference layer holds fixed (matched by position)."""
    layer = get_layer(reference)
    return [name for name, ref in zip(inputs, layer.inputs) if ref in layer.constants]


def check_layer(forward, backward=None, inputs: Mapping | None = None, *, params: Mapping | None = None,
                constants=(), seed: int | None = 0, eps: float | None = None, tol: float = TOLERANCE,
                reference=None, quick: bool = False, k: int = 3, n_samples: int | None = None) -> LayerReport:
    """Check a layer's backward pass against central differences of its forward pass.

    Parameters
    ----------
    forward : callable or torch.autograd.Function subclass
        ``forward(*inputs, **params) -> out`` or ``-> (out, cache)``; with ``backward=None`` a
        loss function ``-> (loss, gradients)``, or a ``torch.autograd.Function`` subclass.
    backward : callable or None
        ``backward(dout, cache) -> gradients``: a tuple in the inputs' order, one array for a
        single input, or a dict by name (``"dx"`` or ``"x"``); constants get no gradient.
    inputs : dict of name -> array (or torch tensor)
        In the order forward takes them.  Float arrays are differentiated; integer ones
        (labels, indices) and those named in ``constants`` are held fixed.
    params : dict, optional
        Non-array arguments of forward (``{"stride": 2, "pad": 1}``, ``{"conv_param": {...}}``).
    seed : int
        Seeds the random upstream gradient ``dout``.
    eps : float, optional
        Central-difference step: 1e-6 (full), 1e-5 (quick).
    tol : float
        Largest relative error that passes, per input and overall.
    reference : str, optional
        A reference layer (:data:`gradcheck.nn.layers.LAYERS`): name the catalogued mistake.
    quick : bool
        Compare along ``k`` random directions instead of every coordinate.
    n_samples : int, optional
        The batch size N (default: the output's first axis), to name a factor 1/N.

    Returns
    -------
    LayerReport
    """
    suggested = 1e-5 if quick else 1e-6
    eps = check_eps(suggested if eps is None else eps, suggested)
    if inputs is None:
        raise ConfigError("give the layer's inputs, e.g. {'x': x, 'w': w, 'b': b}.")
    if reference is not None and not constants:
        constants = _reference_constants(reference, inputs)
    layer_inputs = read_inputs(inputs, constants)
    call = layer_caller(forward, backward, params, layer_inputs)
    rng = np.random.default_rng(seed)
    first = _first_pass(call, layer_inputs, rng)
    point, n = _at_point(call, layer_inputs, first, n_samples)
    names = [i.name for i in point.differentiated]
    findings = point.fit.findings + first.findings
    if call.has_upstream:
        findings += upstream_findings(point.backward_at, first.douts, names, rng)
    aliasing = _aliasing(point, first, names, rng)
    report = quick_report = None
    notes: list[Diagnosis] = []
    if quick:
        quick_report = quick_check(point.cost, point.gradient, point.theta, k=k, eps=eps, seed=seed,
                                   blocks=list(point.blocks), tol=tol)
    else:
        report, more, notes = _compare(point, n, eps, tol, findings, scalar=first.outputs[0].ndim == 0)
        findings += more
    if aliasing is not None:  # caching the output is right as long as nobody changes it: a note
        agree = report.passed if report is not None else quick_report is not None and quick_report.passed
        names_, before, after, paths = aliasing
        notes.append(aliasing_finding(names_, before, after, paths, agree=bool(agree)))
    matched = [] if reference is None else match_layer_reference(
        reference, layer_inputs, params, first.douts, first.outputs, [first.grads[j] for j in point.fit.order])
    return LayerReport("quick" if quick else "full", call.kind, _input_checks(point, first, report),
                       findings, notes, matched, report, quick_report, n, seed,
                       [(o.shape, str(o.dtype)) for o in first.outputs])


def _at_point(call, inputs: list[LayerInput], first: _FirstPass, n_samples: int | None):
    """The layer as a function of the flat vector of its differentiated inputs, and N."""
    diff = [i for i in inputs if i.differentiable]
    n = n_samples or _batch_size(first.outputs, inputs)
    fit = fit_shapes(first.grads, [i.name for i in diff], [i.shape for i in diff], first.outputs[0].shape, n)
    return _LayerAt(call, inputs, first.douts, fit, [o.shape for o in first.outputs]), n


def _compare(point: _LayerAt, n, eps: float, tol: float, found: list[Diagnosis], scalar: bool):
    """The full check: ``(report, its findings, kink notes)``; inputs ``found`` explains are spared."""
    explained = {d.block for d in found if d.code in _EXPLAINING and d.block}
    report, order_findings = _full(point, eps, tol)
    explained |= {d.block for d in order_findings if d.block}
    more, notes = _layer_diagnoses(report, point, n, scalar, explained)
    return report, order_findings + more, notes
