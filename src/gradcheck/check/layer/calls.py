"""Calling a user's layer the way it is written, and reading what it returns.

Four ways of writing a layer are understood (:func:`layer_caller` picks one):

``"numpy"``
    ``forward(*inputs, **params) -> out`` or ``-> (out, cache)`` (or ``(out1, out2, cache)``)
    and ``backward(dout, cache) -> gradients`` (``backward(dout1, dout2, cache)``); with no
    cache, ``backward(dout, *inputs, **params)``.
``"numpy-loss"``
    no backward: ``forward(*inputs, **params) -> (loss, gradients)``, the course's
    ``softmax_loss(x, y) -> (loss, dx)``.  Its upstream gradient is 1.
``"torch.autograd.Function"``
    a ``torch.autograd.Function`` subclass: ``Function.apply(*tensors, *params)``, and its own
    ``backward(ctx, *grad_outputs)`` called on the ``ctx`` of that call, so the gradients are
    read exactly as returned (torch's engine would quietly sum a gradient of a broadcast shape).
``"torch"``
    a forward/backward pair written with torch tensors: inputs given as tensors are passed as
    tensors of their dtype.

``params`` reach ``forward`` by keyword; a forward with one parameter left after the arrays
that takes none of the given names (the course's ``conv_forward(x, w, b, conv_param)``) gets
the whole dict as that argument.
"""
from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.check.userinput import describe_value, from_tensor
from gradcheck.errors import ConfigError, UserCodeError, nearest_name

__all__ = ["LayerInput", "read_inputs", "layer_caller", "read_gradients", "is_torch_function"]

Array = np.ndarray
_NO_CACHE = object()


# --- the inputs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerInput:
    """One array input of the layer, as a NumPy array of the dtype it was given in."""

    name: str
    value: Array
    differentiable: bool
    tensor: bool = False    # given as a torch tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)


def _is_tensor(value) -> bool:
    torch = sys.modules.get("torch")  # a tensor can only exist if the user imported torch
    return torch is not None and isinstance(value, torch.Tensor)


def _read_input(name: str, value, constants: set) -> LayerInput:
    tensor = _is_tensor(value)
    array = np.array(from_tensor(value) if tensor else value)  # a copy: the user's stays untouched
    kind = array.dtype.kind
    if kind not in "biuf":
        what = "complex numbers" if kind == "c" else f"values of type {array.dtype}"
        raise ConfigError(f"input {name!r} holds {what}; give real float arrays (integer arrays "
                          f"for labels and indices).")
    if array.size == 0:
        raise ConfigError(f"input {name!r} is empty (shape {array.shape}); give at least one value.")
    if kind == "f" and not np.all(np.isfinite(array)):
        raise ConfigError(f"input {name!r} holds NaN or infinite values; check at finite inputs.")
    return LayerInput(str(name), array, kind == "f" and name not in constants, tensor)


def read_inputs(inputs: Mapping, constants=()) -> list[LayerInput]:
    """The layer's inputs in order; float ones are differentiated unless named in ``constants``."""
    if not isinstance(inputs, Mapping) or not inputs:
        raise ConfigError("inputs must be a dict of name -> array in the order forward takes them, "
                          "e.g. {'x': x, 'w': w, 'b': b}.")
    constants = set(constants or ())
    unknown = constants - set(inputs)
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(f"constants names {name!r}, which is not an input"
                          f"{nearest_name(name, inputs)} (inputs: {', '.join(inputs)}).")
    read = [_read_input(name, value, constants) for name, value in inputs.items()]
    if not any(i.differentiable for i in read):
        raise ConfigError("no input is differentiated: give at least one float array that is not "
                          "in constants.")
    return read


# --- calling the user's code ------------------------------------------------------------------

def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _call(fn, role: str, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (Exception, SystemExit) as exc:  # the user's code: any failure becomes one sentence
        raise UserCodeError(f"the layer's {role} {_name(fn)} raised {type(exc).__name__}: {exc}; "
                            f"fix it.") from exc


@functools.lru_cache(maxsize=64)
def _signature(fn) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or C function: keywords are all we can do
        return None


def _bind(fn, params: dict, n_arrays: int) -> tuple[tuple, dict]:
    """``(extra positional args, keyword args)`` that pass ``params`` to ``fn``."""
    signature = _signature(fn) if params else None
    if signature is None:
        return (), dict(params)
    names = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in names.values())
    if takes_any or all(k in names for k in params):
        return (), dict(params)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ordered = [p.name for p in names.values() if p.kind in positional]
    rest = ordered[n_arrays:]
    if len(rest) == 1 and not any(k in names for k in params):
        return (dict(params),), {}  # the course's conv_forward(x, w, b, conv_param)
    raise ConfigError(f"{_name(fn)}({', '.join(ordered)}) gets {n_arrays} array(s) and then the params "
                      f"{', '.join(map(repr, params))}, which name none of ({', '.join(rest)}): give every "
                      f"array input in order, and params by those names (or one dict for a single dict "
                      f"parameter).")


def _output(value, i: int, fn) -> Array:
    array = np.asarray(from_tensor(value))
    if array.dtype.kind != "f":
        where = f"output {i + 1} of {_name(fn)}" if i else f"the output of {_name(fn)}"
        raise UserCodeError(f"{where} is {describe_value(value)}, not an array of floats; forward must "
                            f"return out or (out, cache) with out a float array.")
    return array


def _split(value, fn) -> tuple[list, object]:
    """``(outputs, cache)`` from what forward returned: out, (out, cache) or (out1, ..., cache)."""
    if isinstance(value, tuple):
        if not value:
            raise UserCodeError(f"{_name(fn)} returned an empty tuple; return out or (out, cache).")
        return (list(value[:-1]), value[-1]) if len(value) > 1 else ([value[0]], _NO_CACHE)
    return [value], _NO_CACHE


def _plain_tree(value):
    """Tensors inside a tuple, list or dict as NumPy arrays."""
    if isinstance(value, (tuple, list)):
        return type(value)(_plain_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain_tree(v) for k, v in value.items()}
    return from_tensor(value) if _is_tensor(value) else value


@dataclass
class _Stateless:
    """The 'cache' of a forward that returned none: backward gets the inputs themselves."""

    args: tuple


@dataclass
class _Pair:
    """A forward/backward pair, called with NumPy arrays or (``tensors``) torch tensors."""

    forward_fn: Callable
    backward_fn: Callable
    params: dict
    inputs: list[LayerInput]
    tensors: bool = False
    has_upstream = True

    @property
    def kind(self) -> str:
        return "torch" if self.tensors else "numpy"

    def _user(self, array: Array, like: Array):
        if not self.tensors:
            return array
        import torch  # the user gave tensors, so torch is installed and imported

        return torch.from_numpy(np.ascontiguousarray(array, dtype=like.dtype))

    def forward(self, arrays: list[Array], need_cache: bool = True):
        args = tuple(self._user(a, i.value) for a, i in zip(arrays, self.inputs))
        extra, kwargs = _bind(self.forward_fn, self.params, len(args))
        outputs, cache = _split(_call(self.forward_fn, "forward", *args, *extra, **kwargs), self.forward_fn)
        if cache is _NO_CACHE:
            cache = _Stateless(args)
        return [_output(o, i, self.forward_fn) for i, o in enumerate(outputs)], cache

    def backward(self, douts: list[Array], cache):
        d = [self._user(g, g) for g in douts]
        if isinstance(cache, _Stateless):
            extra, kwargs = _bind(self.backward_fn, self.params, len(d) + len(cache.args))
            value = _call(self.backward_fn, "backward", *d, *cache.args, *extra, **kwargs)
        else:
            value = _call(self.backward_fn, "backward", *d, cache)
        return _plain_tree(value)


@dataclass
class _CombinedLoss:
    """A loss function returning ``(loss, gradients)`` together: no backward, upstream 1."""

    forward_fn: Callable
    params: dict
    inputs: list[LayerInput]
    kind = "numpy-loss"
    has_upstream = False

    def forward(self, arrays: list[Array], need_cache: bool = True):
        extra, kwargs = _bind(self.forward_fn, self.params, len(arrays))
        value = _call(self.forward_fn, "forward", *arrays, *extra, **kwargs)
        if not (isinstance(value, tuple) and len(value) == 2):
            raise UserCodeError(f"{_name(self.forward_fn)} returned {describe_value(value)}; with no "
                                f"backward it must return (loss, gradients) like the course's "
                                f"softmax_loss(x, y) -> (loss, dx); or give its backward too.")
        loss = _output(value[0], 0, self.forward_fn)
        if loss.size != 1:
            raise UserCodeError(f"{_name(self.forward_fn)} returned a loss of shape {loss.shape}, "
                                f"not one number; return (loss, gradients) with a scalar loss.")
        return [loss.reshape(())], _plain_tree(value[1])

    def backward(self, douts: list[Array], cache):
        return cache


@dataclass
class _TorchFunction:
    """A ``torch.autograd.Function`` subclass, its backward called on the ctx of one apply."""

    function: Any   # a torch.autograd.Function subclass
    params: dict
    inputs: list[LayerInput]
    kind = "torch.autograd.Function"
    has_upstream = True

    def forward(self, arrays: list[Array], need_cache: bool = True):
        import torch  # given a torch.autograd.Function, torch is imported already

        tensors = [torch.from_numpy(np.ascontiguousarray(a, dtype=i.value.dtype))
                   .requires_grad_(need_cache and i.differentiable) for a, i in zip(arrays, self.inputs)]
        with torch.set_grad_enabled(need_cache):
            value = _call(self.function.apply, "forward", *tensors, *self.params.values())
        outputs = list(value) if isinstance(value, tuple) else [value]
        ctx = next((o.grad_fn for o in outputs if getattr(o, "grad_fn", None) is not None), None)
        if need_cache and ctx is None:
            raise UserCodeError(f"{_name(self.function)}.apply returned tensors with no grad_fn: "
                                f"forward must return new tensors computed from its inputs (not "
                                f"detached ones) for backward to be called.")
        return [_output(o, i, self.function) for i, o in enumerate(outputs)], ctx

    def backward(self, douts: list[Array], ctx):
        import torch

        grads = [torch.from_numpy(np.ascontiguousarray(g)) for g in douts]
        with torch.no_grad():
            value = _call(self.function.backward, "backward", ctx, *grads)
        value = value if isinstance(value, tuple) else (value,)
        return _plain_tree(value[:len(self.inputs)] if len(value) > len(self.inputs) else value)


def is_torch_function(obj) -> bool:
    """True for a ``torch.autograd.Function`` subclass (without importing torch)."""
    torch = sys.modules.get("torch")
    return (torch is not None and isinstance(obj, type)
            and issubclass(obj, torch.autograd.Function))


def layer_caller(forward, backward, params: Mapping | None, inputs: list[LayerInput]):
    """The adapter that calls the user's layer (see the module docstring for the four kinds)."""
    params = dict(params or {})
    if is_torch_function(forward):
        if backward is not None:
            raise ConfigError(f"{_name(forward)} is a torch.autograd.Function: pass backward=None, "
                              f"its own backward is called.")
        return _TorchFunction(forward, params, inputs)
    for role, fn in (("forward", forward), ("backward", backward)):
        if fn is not None and not callable(fn):
            raise ConfigError(f"the {role} must be a function, got {describe_value(fn)}.")
    if forward is None:
        raise ConfigError("give the layer's forward function (or a torch.autograd.Function).")
    if backward is None:
        return _CombinedLoss(forward, params, inputs)
    return _Pair(forward, backward, params, inputs, tensors=any(i.tensor for i in inputs))


# --- reading the gradients backward returned ----------------------------------------------------

def _by_name(raw: dict, inputs: list[LayerInput]) -> list:
    wanted = [i for i in inputs if i.differentiable]
    keys = {}
    for key in raw:
        plain = str(key)
        match = next((i.name for i in wanted if plain in (i.name, f"d{i.name}", f"grad_{i.name}")), None)
        if match is None:
            expected = ", ".join(f"d{i.name}" for i in wanted)
            raise UserCodeError(f"backward returned a dict with the key {plain!r}, which names no "
                                f"input{nearest_name(plain, [f'd{i.name}' for i in wanted])}; use "
                                f"the keys {expected}.")
        keys[match] = raw[key]
    missing = [i.name for i in wanted if i.name not in keys]
    if missing:
        raise UserCodeError(f"backward returned no gradient for {', '.join(missing)}; return one "
                            f"per input (d{missing[0]} included), or hold it fixed with constants.",
                            option="constants")
    return [keys[i.name] for i in wanted]


def _by_position(raw: list, inputs: list[LayerInput]) -> list:
    wanted = [i for i in inputs if i.differentiable]
    if len(raw) == len(wanted):
        return raw
    if len(raw) == len(inputs):  # one slot per input, constants' slots ignored (None in torch)
        return [g for g, i in zip(raw, inputs) if i.differentiable]
    names = ", ".join(f"d{i.name}" for i in wanted)
    raise UserCodeError(f"backward returned {len(raw)} gradient(s) for the {len(wanted)} "
                        f"differentiated input(s); return ({names}) in this order, or name the "
                        f"inputs held fixed in constants.", option="constants")


def read_gradients(raw, inputs: list[LayerInput]) -> list[Array]:
    """One float array per differentiated input, as returned (shapes not yet checked)."""
    wanted = [i for i in inputs if i.differentiable]
    if isinstance(raw, dict):
        grads = _by_name(raw, inputs)
    elif isinstance(raw, (tuple, list)):
        grads = _by_position(list(raw), inputs)
    elif len(wanted) == 1:
        grads = [raw]
    else:
        raise UserCodeError(f"backward returned {describe_value(raw)}; return a tuple of "
                            f"{len(wanted)} gradients (" + ", ".join(f"d{i.name}" for i in wanted) + ").")
    return [_gradient(g, i.name) for g, i in zip(grads, wanted)]


def _gradient(value, name: str) -> Array:
    value = from_tensor(value)
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists, objects whose __array__ raises
        raise UserCodeError(f"the gradient for {name} is {describe_value(value)}, which NumPy cannot "
                            f"read ({exc}); return a float array of {name}'s shape.") from exc
    if value is None or array.dtype.kind not in "biuf":
        raise UserCodeError(f"the gradient for {name} is {describe_value(value)}, not an array of real "
                            f"numbers; return d{name} as a float array of {name}'s shape.")
    return array
