"""Parts of the parameter vector: lines of a block, runs of lines, contiguous runs of coordinates.

The doctor explains a disagreement part by part.  A :class:`Part` is a set of flat indices with
a name a person recognises ("column 0 of Theta1", "rows 3-4 of W2", "coordinates 20-37").  This
module finds the parts; :mod:`gradcheck.check.doctor.relations` says how each behaves.

* :func:`edge_lines`: the first and last row and column of a 2-D block, where a bias lives
  when it is stored inside the weight matrix (``[b W]``, ``[W b]``, or a bias row for
  ``[X 1] @ W``), in the block's unrolling order and, when not certain, the other one.
* :func:`line_runs`: rows or columns that disagree, grouped into runs r..s.
* :func:`segment`: without any block, contiguous runs of coordinates with one relation each
  (found left to right, each run as long as its relation keeps fitting, every prefix's fit
  read off cumulative sums at once).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcheck.check.doctor.relations import MODELS, Judge, Relation, fit_relation, longest_prefix
from gradcheck.nn.blocks import Block

__all__ = ["Part", "edge_lines", "line_runs", "segment", "span"]

Array = np.ndarray

#: More runs than this and a segmentation explains nothing: the answer stays generic.
MAX_SEGMENTS = 4
#: At most this many runs of disagreeing lines make a "range inside a block".
MAX_LINE_RUNS = 2
#: A run with a fitted relation (a factor, an offset) is at least this long: shorter ones are
#: single coordinates any number fits.
RUN_MIN = 3


@dataclass(frozen=True)
class Part:
    """Some coordinates of theta with a human name; ``edge`` marks a block's first/last line."""

    indices: Array
    label: str
    block: str | None = None
    edge: bool = False
    axis: str = ""           # "row" / "column" for lines, "" otherwise
    lines: tuple = ()        # the line numbers, for lines and runs of lines


def span(first: int, last: int) -> str:
    """``"3"`` or ``"3-5"``."""
    return f"{first}" if first == last else f"{first}-{last}"


def _grid(block: Block, order: str) -> Array:
    """Flat indices of the block laid out as its matrix, read in ``order``."""
    return block.start + np.arange(block.size).reshape(block.shape, order="F" if order == "F" else "C")


def _lines_of(grid: Array, axis: str) -> list[Array]:
    return [grid[i, :] for i in range(grid.shape[0])] if axis == "row" else [
        grid[:, j] for j in range(grid.shape[1])]


def _line_part(block: Block, grid: Array, axis: str, numbers: list[int], order: str) -> Part:
    lines = _lines_of(grid, axis)
    idx = np.sort(np.concatenate([lines[i] for i in numbers]))
    words = f"{axis} {numbers[0]}" if len(numbers) == 1 else f"{axis}s {span(numbers[0], numbers[-1])}"
    read = "" if order == block.order else f" (read in {order} order)"
    last = grid.shape[0 if axis == "row" else 1] - 1
    edge = len(numbers) == 1 and numbers[0] in (0, last)
    return Part(idx, f"{words} of {block.name}{read}", block.name, edge, axis, tuple(numbers))


def orders(block: Block, certain: bool) -> tuple[str, ...]:
    """The unrolling orders to read a 2-D block in: its own, and the other unless certain."""
    other = "F" if block.order == "C" else "C"
    return (block.order,) if certain else (block.order, other)


def edge_lines(block: Block, certain: bool = False) -> list[tuple[str, Part, Part]]:
    """``(order, edge line, the rest of the block)`` for each first/last row and column."""
    if len(block.shape) != 2 or min(block.shape) < 2:
        return []
    out = []
    for order in orders(block, certain):
        grid = _grid(block, order)
        for axis, count in (("column", block.shape[1]), ("row", block.shape[0])):
            for number in sorted({0, count - 1}):
                line = _line_part(block, grid, axis, [number], order)
                rest = np.setdiff1d(grid.ravel(), line.indices)
                others = tuple(i for i in range(count) if i != number)
                out.append((order, line, Part(rest, _rest_label(block, axis, number, order),
                                              block.name, axis=axis, lines=others)))
    return out


def _rest_label(block: Block, axis: str, number: int, order: str) -> str:
    other = "columns" if axis == "column" else "rows"
    count = block.shape[1] if axis == "column" else block.shape[0]
    first, last = (1, count - 1) if number == 0 else (0, count - 2)
    read = "" if order == block.order else f" (read in {order} order)"
    return f"{other} {span(first, last)} of {block.name}{read}"


def _runs(numbers: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in numbers:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def line_runs(block: Block, a: Array, n: Array, judge: Judge, certain: bool = False
              ) -> list[tuple[str, list[Part], Part]]:
    """Ways to see the block as a few runs of disagreeing lines and the rest, which agrees.

    Returns ``(order, runs, rest)`` for each order and axis where some but not all lines
    disagree, the disagreeing lines form at most :data:`MAX_LINE_RUNS` runs and the others
    agree together.  ``a`` and ``n`` are the full columns (indexed by flat indices).
    """
    if len(block.shape) != 2 or min(block.shape) < 2:
        return []
    out = []
    for order in orders(block, certain):
        grid = _grid(block, order)
        off = ~judge.within(a[grid], n[grid])  # per coordinate, laid out as the matrix
        for axis in ("row", "column"):
            lines = _lines_of(grid, axis)
            bad = np.flatnonzero(off.any(axis=1 if axis == "row" else 0)).tolist()
            runs = _runs(bad)
            if not bad or len(bad) == len(lines) or len(runs) > MAX_LINE_RUNS:
                continue
            rest = np.sort(np.concatenate([idx for i, idx in enumerate(lines) if i not in bad]))
            if judge.agrees(a[rest], n[rest]):
                parts = [_line_part(block, grid, axis, run, order) for run in runs]
                out.append((order, parts, Part(rest, f"the other {axis}s of {block.name}", block.name)))
    return out


# --- contiguous runs of coordinates, when no block is known -------------------------------------

def _longest(a: Array, n: Array, theta: Array | None, judge: Judge, start: int) -> tuple[int, Relation | None]:
    """The longest run from ``start`` that one relation fits, and that relation.

    Every model's longest prefix comes from cumulative sums at once
    (:func:`~gradcheck.check.doctor.relations.longest_prefix`); the longest is then fitted properly,
    shortened by bisection in the rare case the per-coordinate rule refuses it.  Among
    relations, the longest run wins, then the fewest free numbers.
    """
    t = theta[start:] if theta is not None else None
    best_stop, best = start, None
    for model in MODELS:
        length = longest_prefix(model, a[start:], n[start:], t, judge)
        if length < (RUN_MIN if model.free else 1) or start + length < best_stop:
            continue
        stop, rel = _confirmed(a, n, theta, judge, start, start + length, model)
        if rel is not None and (best is None or stop > best_stop or
                                (stop == best_stop and rel.n_free < best.n_free)):
            best_stop, best = stop, rel
    return best_stop, best


def _fit_run(a, n, theta, judge, start, stop, models) -> Relation | None:
    t = theta[start:stop] if theta is not None else None
    return fit_relation(a[start:stop], n[start:stop], t, judge, models)


def _confirmed(a, n, theta, judge, start, stop, model) -> tuple[int, Relation | None]:
    """``[start, stop)`` fitted by ``model`` with every rule, or the longest shorter run that is."""
    rel = _fit_run(a, n, theta, judge, start, stop, (model,))
    if rel is not None:
        return stop, rel
    lo, hi = start + model.min_size, stop
    if _fit_run(a, n, theta, judge, start, lo, (model,)) is None:
        return start, None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _fit_run(a, n, theta, judge, start, mid, (model,)) is None:
            hi = mid
        else:
            lo = mid
    return lo, _fit_run(a, n, theta, judge, start, lo, (model,))


def segment(a: Array, n: Array, theta: Array | None, judge: Judge,
            offset: int = 0) -> list[tuple[Part, Relation]] | None:
    """Contiguous runs of coordinates, each with one relation; None if they are too many.

    ``offset`` is added to the indices (and to the names: "coordinates 20-37").
    """
    runs: list[tuple[Part, Relation]] = []
    start = 0
    while start < a.size:
        stop, rel = _longest(a, n, theta, judge, start)
        if rel is None or stop <= start or len(runs) == MAX_SEGMENTS:
            return None
        idx = offset + np.arange(start, stop)
        runs.append((Part(idx, f"coordinates {span(idx[0], idx[-1])}"), rel))
        start = stop
    return runs
