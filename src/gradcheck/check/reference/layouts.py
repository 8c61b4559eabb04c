"""How hand-written networks pack their parameters into one flat ``theta``, and label their classes.

A :class:`Layout` says where each layer's ``W`` (the library's ``(n_out, n_in)``) and ``b``
(``(n_out,)``) sit in a user's flat vector:

``bias``
    ``"first"`` / ``"last"``: one matrix per layer with the bias as its first / last column
    (``Theta = [b W]`` in the course, ``[W b]`` in MATLAB ports; a first / last *row* when the
    weights are ``(in, out)``); ``"separate"``: ``W`` and ``b`` are separate arrays.
``weights``
    ``"out-in"``: ``W`` of shape ``(n_out, n_in)`` (``z = a W' + b``); ``"in-out"``: ``(n_in,
    n_out)`` (``z = a W + b``, CS231n and scikit-learn).
``unroll``
    ``"C"``: row-major (NumPy's ``ravel()``); ``"F"``: column-major (Octave's ``Theta(:)``).
``packing``
    Separate biases only: ``"per-layer"`` (``W1 b1 W2 b2 ...``) or ``"weights-then-biases"``
    (``W1 W2 ... b1 b2 ...``, scikit-learn's ``coefs_ + intercepts_``).

Several layouts can give the same order of the numbers (``(out, in)`` column-major is ``(in, out)``
row-major); :func:`candidate_layouts` keeps one of each order and names the others as its
equivalents.  :data:`LAYOUTS` holds the named ones; a layout is also written as tokens,
``"bias-last,in-out,F"`` (see :func:`parse_layout`), and a partial one narrows the search.

:data:`LABELS` holds the ways class labels are numbered: ``0-based`` (0..K-1), ``1-based`` (1..K,
the course's ``y``, where digit 0 is class 10) and ``K-is-0`` (1..K with K standing for class 0).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np

from gradcheck.errors import ConfigError, DataError, nearest_name
from gradcheck.nn.blocks import Block
from gradcheck.nn.network import Network

__all__ = ["Layout", "LAYOUTS", "LABELS", "Labels", "parse_layout", "candidate_layouts",
           "label_candidates"]

Array = np.ndarray

BIAS = ("first", "last", "separate")
WEIGHTS = ("out-in", "in-out")
UNROLL = ("C", "F")
PACKING = ("per-layer", "weights-then-biases")


@dataclass(frozen=True)
class Layout:
    """Where each layer's W and b sit in a user's flat theta (module docstring)."""

    bias: str = "separate"
    weights: str = "out-in"
    unroll: str = "C"
    packing: str = "per-layer"

    @property
    def tokens(self) -> str:
        """``"bias-first,out-in,F"``: the layout written out, as :func:`parse_layout` reads it."""
        packing = f",{self.packing}" if self.bias == "separate" else ""
        return f"bias-{self.bias},{self.weights},{self.unroll}{packing}"

    @property
    def name(self) -> str:
        """Its name in :data:`LAYOUTS` when it has one, else :attr:`tokens`."""
        return next((name for name, layout in LAYOUTS.items() if layout == self), self.tokens)

    def _matrices(self, net: Network, theta: Array) -> list[tuple[Array, ...]]:
        """Per layer, the user's arrays (views or copies of ``theta`` in the library's layout)."""
        blocks = net.param_blocks()
        layers = []
        for l in range(1, net.n_layers + 1):
            W, b = blocks[f"W{l}"].matrix(theta), blocks[f"b{l}"].matrix(theta)
            if self.bias != "separate":
                W = np.hstack([b[:, None], W] if self.bias == "first" else [W, b[:, None]])
            layers.append((W if self.weights == "out-in" else W.T,) + ((b,) if self.bias == "separate" else ()))
        return layers

    def order(self, net: Network) -> Array:
        """Indices ``p`` such that ``theta_user = theta_library[p]``."""
        layers = self._matrices(net, np.arange(net.n_params))
        if self.packing == "weights-then-biases" and self.bias == "separate":
            layers = [tuple(layer[0] for layer in layers), tuple(layer[1] for layer in layers)]
        unroll: Literal["C", "F"] = "F" if self.unroll == "F" else "C"
        return np.concatenate([a.ravel(order=unroll) for layer in layers for a in layer])

    def blocks(self, net: Network, names=None) -> list[Block]:
        """The user's arrays as :class:`Block` s of the flat vector, named ``names`` (in packing
        order) or ``Theta1, Theta2, ...`` / ``W1, b1, W2, b2, ...``."""
        shapes = [(f"Theta{l}" if self.bias != "separate" else f"W{l}", a.shape, self.unroll)
                  for l, layer in enumerate(self._matrices(net, np.zeros(net.n_params)), 1)
                  for a in layer[:1]]
        if self.bias == "separate":
            biases = [(f"b{l}", (n,), "C") for l, n in enumerate(net.sizes[1:], 1)]
            pairs = zip(shapes, biases)
            shapes = ([s for pair in pairs for s in pair] if self.packing == "per-layer"
                      else shapes + biases)
        if names is not None and len(names) != len(shapes):
            raise ConfigError(f"the layout names {len(names)} blocks ({', '.join(map(str, names))}) "
                              f"but this network packs {len(shapes)} arrays; give one name per array.")
        out, start = [], 0
        for i, (name, shape, order) in enumerate(shapes):
            out.append(Block(str(names[i]) if names is not None else name, start, shape, order))
            start = out[-1].stop
        return out

    def describe(self) -> str:
        """One phrase for people: what the arrays are and how they are unrolled."""
        unroll = ("row-major (C, ravel())" if self.unroll == "C"
                  else "column-major (F, Octave's Theta(:))")
        if self.bias == "separate":
            shape = "(n_out, n_in)" if self.weights == "out-in" else "(n_in, n_out)"
            packing = "W1 b1 W2 b2 ..." if self.packing == "per-layer" else "W1 W2 ... b1 b2 ..."
            return f"W of shape {shape} unrolled {unroll} and b as separate vectors, packed {packing}"
        side = "column" if self.weights == "out-in" else "row"
        shape = "(n_out, n_in + 1)" if self.weights == "out-in" else "(n_in + 1, n_out)"
        return (f"one matrix per layer of shape {shape}, the bias as its {self.bias} {side}, "
                f"unrolled {unroll}")


#: The layouts with a name: this library's, the course's (Octave and its NumPy ports), and the
#: packings of scikit-learn (``coefs_ + intercepts_``) and CS231n (``W1 b1 W2 b2``, ``X W + b``).
LAYOUTS: dict[str, Layout] = {
    "C": Layout(),
    "course": Layout("first", "out-in", "F"),
    "course-C": Layout("first", "out-in", "C"),
    "sklearn": Layout("separate", "in-out", "C", "weights-then-biases"),
    "cs231n": Layout("separate", "in-out", "C"),
}

#: Every layout, the named ones first (so an order they give is reported by their name).
ALL_LAYOUTS: tuple[Layout, ...] = tuple(dict.fromkeys(
    [*LAYOUTS.values()] + [Layout(b, w, u, p) for b, w, u, p in product(BIAS, WEIGHTS, UNROLL, PACKING)
                           if b == "separate" or p == "per-layer"]))

# The words of a layout: each fixes one field (tokens "bias-first", ..., dict values "first-column").
_TOKENS: dict[str, tuple[str, str]] = {
    **{f"bias-{b}": ("bias", b) for b in BIAS}, **{w: ("weights", w) for w in WEIGHTS},
    **{u: ("unroll", u) for u in UNROLL}, **{p: ("packing", p) for p in PACKING},
    "row-major": ("unroll", "C"), "column-major": ("unroll", "F"),
}
_VALUES = {"bias": {**{b: b for b in BIAS}, "first-column": "first", "last-column": "last",
                    "first-row": "first", "last-row": "last"},
           "weights": {w: w for w in WEIGHTS}, "unroll": {**{u: u for u in UNROLL}, "row-major": "C",
                                                          "column-major": "F"},
           "packing": {p: p for p in PACKING}}


def _unknown(what: str, value, known) -> ConfigError:
    return ConfigError(f"layout {what} {value!r} is unknown{nearest_name(str(value), known)} "
                       f"(known: {', '.join(known)}); write e.g. layout=course or "
                       f"layout=bias-last,in-out,F.")


def parse_layout(value) -> tuple[tuple[Layout, ...], tuple[str, ...] | None]:
    """The layouts ``value`` allows, and the block names it gives (None: the default names).

    ``value`` is None (every layout), a name of :data:`LAYOUTS`, tokens separated by commas
    (``"bias-last,in-out,F"``; the fields left out stay open, so ``"F"`` means every
    column-major layout), a :class:`Layout`, or a dict with keys ``bias`` (``first``,
    ``first-column``, ``last``, ``last-column``, ``separate``), ``weights``, ``unroll``,
    ``packing`` and ``blocks`` (the names of the arrays in packing order).
    """
    if value is None:
        return ALL_LAYOUTS, None
    if isinstance(value, Layout):
        return (value,), None
    if isinstance(value, dict):
        return _from_dict(value)
    text = str(value).strip()
    if text in LAYOUTS:
        return (LAYOUTS[text],), None
    fixed: dict[str, str] = {}
    for token in filter(None, (t.strip() for t in text.replace("/", ",").split(","))):
        if token not in _TOKENS:
            raise _unknown("word", token, [*LAYOUTS, *_TOKENS])
        field, choice = _TOKENS[token]
        if fixed.get(field, choice) != choice:
            raise ConfigError(f"layout {text!r} sets {field} twice ({fixed[field]} and {choice}); "
                              f"give one of each.")
        fixed[field] = choice
    return _matching(fixed, text), None


def _from_dict(spec: dict) -> tuple[tuple[Layout, ...], tuple[str, ...] | None]:
    names = spec.get("blocks")
    fixed = {}
    for key, value in spec.items():
        if key == "blocks":
            continue
        if key not in _VALUES:
            raise _unknown("key", key, [*_VALUES, "blocks"])
        if value not in _VALUES[key]:
            raise _unknown(key, value, list(_VALUES[key]))
        fixed[key] = _VALUES[key][value]
    return _matching(fixed, str(spec)), None if names is None else tuple(map(str, names))


def _matching(fixed: dict[str, str], text: str) -> tuple[Layout, ...]:
    # a bias column is packed with its weights: "weights-then-biases" leaves only separate biases
    layouts = tuple(lay for lay in ALL_LAYOUTS if all(getattr(lay, f) == v for f, v in fixed.items()))
    if not layouts:
        raise ConfigError(f"layout {text!r} asks for a packing of separate biases with the bias "
                          f"in the weight matrix; drop one of them.")
    return layouts


def candidate_layouts(net: Network, layouts=ALL_LAYOUTS) -> list[tuple[Layout, Array, tuple[Layout, ...]]]:
    """``[(layout, order, equivalents)]``: one layout per distinct order of ``net``'s numbers."""
    seen: dict[bytes, list] = {}
    for layout in layouts:
        order = layout.order(net)
        seen.setdefault(order.tobytes(), [layout, order, []])[2].append(layout)
    return [(layout, order, tuple(same[1:])) for layout, order, same in seen.values()]


# --- class labels -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Labels:
    """A way of numbering K classes: ``column(labels, k)`` gives each label's one-hot column,
    or None when the labels cannot be numbered this way."""

    name: str
    description: str
    column: Callable[[Array, int], Array | None]


def _zero_based(labels: Array, k: int) -> Array | None:
    return labels if labels.min() >= 0 and labels.max() <= k - 1 else None


def _one_based(labels: Array, k: int) -> Array | None:
    return labels - 1 if labels.min() >= 1 and labels.max() <= k else None


def _k_is_zero(labels: Array, k: int) -> Array | None:
    # 1..K with K standing for class 0 (digits labelled 1..10, 10 for the digit 0, read as 0..9)
    return labels % k if labels.min() >= 1 and labels.max() == k else None


LABELS: dict[str, Labels] = {lab.name: lab for lab in (
    Labels("0-based", "classes 0..K-1", _zero_based),
    Labels("1-based", "classes 1..K, as Octave numbers them (digit 0 is class 10: Y = eye(K)(y, :))",
           _one_based),
    Labels("K-is-0", "classes 1..K with K standing for class 0 (Y = eye(K)[y % K])", _k_is_zero),
)}

#: Targets given as a matrix (one-hot rows or regression targets) are used as they are.
AS_GIVEN = ("one-hot", "targets")


def label_candidates(y, k: int, wanted: str | None = None) -> list[tuple[str, Array]]:
    """``[(convention, Y)]``: every way of reading ``y`` as targets of ``k`` outputs.

    ``y`` of shape ``(m, k)`` (or any ``y`` when ``k == 1``) is used as given; class labels
    ``(m,)`` or ``(m, 1)`` give one ``(m, k)`` one-hot matrix per convention of :data:`LABELS`
    they fit (``wanted`` picks one).
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1 and k > 1:
        y = y[:, 0]
    if y.ndim != 1 or k == 1:
        return [(wanted or "targets", y)]
    if wanted is not None and wanted not in LABELS and wanted not in AS_GIVEN:
        raise _unknown_labels(wanted)
    labels = _whole_numbers(y)
    out: list[tuple[str, Array]] = []
    for lab in LABELS.values():
        column = None if wanted not in (None, lab.name) or not labels.size else lab.column(labels, k)
        if column is not None and not any(np.array_equal(column, c) for _, c in out):
            out.append((lab.name, column))
    if not out:
        known = "; ".join(f"{lab.name}: {lab.description}" for lab in LABELS.values())
        raise DataError(f"labels range from {labels.min()} to {labels.max()}, which fits "
                        f"{'labels=' + wanted if wanted else 'no numbering'} of the network's {k} "
                        f"outputs ({known}); give labels that number the {k} classes.")
    return [(name, np.eye(k)[column]) for name, column in out]


def _whole_numbers(y: Array) -> Array:
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.isfinite(y))):
        raise DataError(f"class labels must be whole numbers, got {y.dtype} values; pass integer "
                        f"labels.")
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise DataError("class labels must be whole numbers; pass integer labels.")
    return y.astype(np.int64)


def _unknown_labels(wanted: str) -> ConfigError:
    known = [*LABELS, *AS_GIVEN]
    return ConfigError(f"labels {wanted!r} is unknown{nearest_name(wanted, known)} (known: "
                       f"{', '.join(known)}).")

