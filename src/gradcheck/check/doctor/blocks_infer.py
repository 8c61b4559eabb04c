"""Which blocks tile theta, inferred from what the user's module defines.

People rarely pass ``--blocks``; their module says it anyway.  :func:`infer_blocks` reads,
in this order of trust:

1. **arrays whose values are theta's**: module-level arrays (``Theta1``, ``W1``), arrays in a
   dict (``params["W1"]``) or a list (``coefs_[0]``, ``weights[1]``), matched against theta
   piece by piece in row-major or column-major order — this gives the names, the packing
   order (W1 b1 W2 b2, or every weight then every bias) and the unrolling order;
2. a ``blocks`` / ``shapes`` variable (a dict of name -> shape, or a list of shapes) whose sizes
   tile theta;
3. the course's size variables (``input_layer_size``, ``hidden_layer_size``, ``num_labels``):
   ``Theta1`` of shape (hidden, input + 1) and ``Theta2`` of shape (labels, hidden + 1);
4. the module's weight-like arrays, in the order they are defined, when their sizes tile theta.

Only 1 is certain about the unrolling order; otherwise the doctor reads 2-D blocks both ways
and says which one the evidence supports.  :func:`suggest_blocks` proposes ``--blocks`` when
nothing is found, from the number of features and where the doctor saw the relation change.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradcheck.nn.blocks import Block, parse_shape

__all__ = ["Layout", "infer_blocks", "suggest_blocks", "SHAPE_NAMES", "COURSE_SIZES"]

Array = np.ndarray

#: Module-level variables that may hold the block shapes.
SHAPE_NAMES = ("blocks", "shapes", "layer_shapes", "param_shapes", "block_shapes")
#: The course's size variables: input, hidden, labels.
COURSE_SIZES = ("input_layer_size", "hidden_layer_size", "num_labels")
#: Names of data, not parameters.
DATA_NAMES = frozenset({"X", "y", "Y", "x", "theta", "labels", "targets", "T"})


@dataclass(frozen=True)
class Layout:
    """Blocks tiling theta, where they came from, and the blocks whose unrolling order is certain."""

    blocks: list[Block]
    source: str
    certain: frozenset = field(default_factory=frozenset)


def _numeric(value) -> Array | None:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and 1 <= value.ndim <= 2 and value.size:
        return value
    return None


def _candidates(values: dict, n_params: int) -> list[tuple[str, Array]]:
    """Parameter-like arrays in definition order: top level, in dicts, in lists."""
    found = []
    for name, value in values.items():
        if name.startswith("_") or name in DATA_NAMES:
            continue
        if isinstance(value, dict):
            items = [(str(k), v) for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            items = [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(name, value)]
        for label, item in items:
            array = _numeric(item)
            if array is not None and array.size < n_params:
                found.append((label, array))
    return found


def _unique(candidates: list[tuple[str, Array]]) -> list[tuple[str, Array]]:
    """One entry per array object (``W = Theta1`` and ``params["W"]`` are the same array)."""
    seen, out = set(), []
    for name, array in candidates:
        if id(array) not in seen:
            seen.add(id(array))
            out.append((name, array))
    return out


def _match_values(theta: Array, candidates: list[tuple[str, Array]]) -> Layout | None:
    """Walk theta, at each position taking the first unused array whose values are there."""
    blocks, certain, used, start = [], set(), set(), 0
    while start < theta.size:
        for i, (name, array) in enumerate(candidates):
            piece = theta[start:start + array.size]
            if i in used or piece.size != array.size:
                continue
            fits = [o for o in ("C", "F") if np.array_equal(array.ravel(order=o), piece)]
            if fits:
                used.add(i)
                blocks.append(Block(name, start, _shape(array), fits[0]))
                if len(fits) == 1 or array.ndim == 1 or min(array.shape) == 1:
                    certain.add(name)
                start += array.size
                break
        else:
            return None
    names = ", ".join(b.name for b in blocks)
    orders = {b.order for b in blocks if len(b.shape) == 2}
    read = f", unrolled {'/'.join(sorted(orders))}" if orders else ""
    return Layout(blocks, f"the module's arrays {names} (their values are theta's{read})",
                  frozenset(certain))


def _shape(array: Array) -> tuple[int, ...]:
    """A column or row vector (Nielsen's (n, 1) biases) is a vector."""
    return (array.size,) if array.ndim == 2 and min(array.shape) == 1 else tuple(array.shape)


def _tiling(named_shapes: list[tuple[str, tuple[int, ...]]], n_params: int, order: str) -> list[Block] | None:
    blocks, start = [], 0
    for name, shape in named_shapes:
        block = Block(name, start, shape, order)
        blocks.append(block)
        start = block.stop
    return blocks if start == n_params else None


def _shapes_variable(values: dict, n_params: int) -> Layout | None:
    for var in SHAPE_NAMES:
        spec = values.get(var)
        try:
            if isinstance(spec, dict):
                named = [(str(k), parse_shape(v)) for k, v in spec.items()]
            elif isinstance(spec, (list, tuple)) and spec:
                named = [(str(s[0]), parse_shape(s[1])) if isinstance(s, (list, tuple)) and len(s) == 2
                         and isinstance(s[0], str) else (f"{var}[{i}]", parse_shape(s))
                         for i, s in enumerate(spec)]
            else:
                continue
        except Exception:  # not shapes after all (a list of arrays, of strings...)
            continue
        blocks = _tiling(named, n_params, "C")
        if blocks:
            return Layout(blocks, f"the module's {var} variable")
    return None


def _course_sizes(values: dict, n_params: int) -> Layout | None:
    sizes = [values.get(name) for name in COURSE_SIZES]
    counts = [int(s) for s in sizes if isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0]
    if len(counts) != len(COURSE_SIZES):
        return None
    n_in, hidden, labels = counts
    blocks = _tiling([("Theta1", (hidden, n_in + 1)), ("Theta2", (labels, hidden + 1))], n_params, "F")
    if blocks is None:
        return None
    return Layout(blocks, f"the course's sizes input_layer_size={n_in}, hidden_layer_size={hidden}, "
                          f"num_labels={labels}")


def _arrays_by_size(n_params: int, candidates: list[tuple[str, Array]]) -> Layout | None:
    """The one run of consecutive definitions whose sizes add up to theta's."""
    fits = []
    for i in range(len(candidates)):
        total = 0
        for j in range(i, len(candidates)):
            total += candidates[j][1].size
            if total == n_params:
                fits.append(candidates[i:j + 1])
            if total >= n_params:
                break
    if len(fits) != 1:
        return None
    blocks = _tiling([(name, _shape(array)) for name, array in fits[0]], n_params, "C")
    names = ", ".join(name for name, _ in fits[0])
    return Layout(blocks, f"the module's arrays {names} (their sizes tile theta)") if blocks else None


def infer_blocks(theta, values: dict) -> Layout | None:
    """Blocks that tile ``theta``, from the names a module defines (``vars(module)``); None if none.

    Parameters
    ----------
    theta : array_like
        The flat parameter vector the check runs at.
    values : dict of name -> value
        Module-level names: arrays, dicts and lists of arrays, shape variables, ints.
    """
    theta = np.asarray(theta, dtype=np.float64).ravel()
    candidates = _unique(_candidates(values, theta.size))
    for infer in (lambda: _match_values(theta, candidates), lambda: _shapes_variable(values, theta.size),
                  lambda: _course_sizes(values, theta.size),
                  lambda: _arrays_by_size(theta.size, candidates)):
        layout = infer()
        if layout is not None and len(layout.blocks) > 1:
            return layout
    return None


def _course_layouts(n_params: int, n_in: int) -> list[dict[str, tuple[int, ...]]]:
    """One-hidden-layer shapes with ``n_in`` inputs that hold exactly ``n_params`` numbers."""
    out: list[dict[str, tuple[int, ...]]] = []
    for hidden in range(1, n_params // (n_in + 1) + 1):
        rest = n_params - hidden * (n_in + 1)
        if rest > 0 and rest % (hidden + 1) == 0:
            labels = rest // (hidden + 1)
            out.append({"Theta1": (hidden, n_in + 1), "Theta2": (labels, hidden + 1)})
            out.append({"W1": (n_in, hidden), "b1": (hidden,), "W2": (hidden, labels), "b2": (labels,)})
    return out


def suggest_blocks(n_params: int, n_in: int | None, boundaries: set[int]) -> str | None:
    """A ``--blocks`` value for a one-hidden-layer network whose block edges include ``boundaries``.

    ``n_in`` is the number of input features (X's columns); ``boundaries`` the flat indices at
    which the doctor saw the relation between the two gradients change.  Among the layouts of
    that kind with an edge at every boundary, the one with the fewest other edges; None when
    there is no single such layout.
    """
    if not n_in or not boundaries:
        return None
    fitting = []
    for shapes in _course_layouts(n_params, n_in):
        edges, start = set(), 0
        for shape in shapes.values():
            start += int(np.prod(shape))
            edges.add(start)
        if boundaries <= edges:
            fitting.append((len(edges - boundaries), shapes))
    fewest = [shapes for extra, shapes in fitting if extra == min(e for e, _ in fitting)]
    if len(fewest) != 1:
        return None
    return ",".join(f"{name}={'x'.join(map(str, shape))}" for name, shape in fewest[0].items())
