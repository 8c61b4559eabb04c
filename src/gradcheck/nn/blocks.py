"""Parameter layout: named blocks of a flat parameter vector.

A :class:`Block` says where one matrix (``W1``, ``Theta2``) lives in the flat vector
``theta`` and how it is unrolled there: ``"C"`` (row-major, NumPy's default) or ``"F"``
(column-major, what Octave's ``Theta(:)`` gives).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from gradcheck.errors import ConfigError

__all__ = ["Block", "make_blocks", "parse_shape", "mlp_n_params"]


@dataclass(frozen=True)
class Block:
    """One named matrix inside a flat vector: ``theta[start:start + size]``."""

    name: str
    start: int
    shape: tuple[int, ...]
    order: str = "C"

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def stop(self) -> int:
        return self.start + self.size

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)

    def matrix(self, vector: np.ndarray) -> np.ndarray:
        """This block of a flat ``vector`` as a matrix of :attr:`shape` (a view where possible)."""
        order: Literal["C", "F"] = "F" if self.order == "F" else "C"
        return vector[self.slice].reshape(self.shape, order=order)

    def position(self, index: int) -> tuple[int, ...]:
        """The (row, column) inside this block of the flat vector's ``index``."""
        order: Literal["C", "F"] = "F" if self.order == "F" else "C"
        return tuple(int(i) for i in np.unravel_index(index - self.start, self.shape, order=order))

    def label(self, index: int) -> str:
        """``"W2[3, 0]"``: the block name and 0-based position of a flat index."""
        return f"{self.name}[{', '.join(map(str, self.position(index)))}]"


_SHAPE = re.compile(r"^\s*(\d+)(?:\s*[xX*,]\s*(\d+))?\s*$")


def parse_shape(text) -> tuple[int, ...]:
    """``"25x401"`` -> ``(25, 401)``; tuples and ints pass through."""
    if isinstance(text, (int, np.integer)):
        return (int(text),)
    if isinstance(text, (tuple, list)):
        return tuple(int(s) for s in text)
    match = _SHAPE.match(str(text))
    if not match:
        raise ConfigError(f"block shape {text!r} is not of the form ROWSxCOLS; write e.g. 25x401.")
    return tuple(int(g) for g in match.groups() if g is not None)


def make_blocks(spec=None, n: int | None = None, order: str = "C") -> list[Block]:
    """Build the block list from a spec and check it covers ``n`` parameters.

    Parameters
    ----------
    spec : None, dict of name -> shape, dict of name -> Block, or list of Block
        None means one block named ``"theta"``.  Shapes may be tuples or strings ``"25x401"``.
    n : int, optional
        Length of the flat vector the blocks must cover exactly.
    order : {"C", "F"}
        Unrolling order for blocks given by shape.
    """
    if order not in ("C", "F"):
        raise ConfigError(f"order must be 'C' (row-major) or 'F' (column-major, Octave), got {order!r}.")
    if spec is None:
        if n is None:
            raise ConfigError("make_blocks needs the vector's length n when no blocks are given.")
        return [Block("theta", 0, (int(n),))]
    if not isinstance(spec, dict):
        spec = list(spec)
        if not all(isinstance(b, Block) for b in spec):
            try:
                spec = dict(spec)  # a list of (name, shape) pairs
            except (TypeError, ValueError):
                raise ConfigError("blocks must be a dict of name -> shape, e.g. "
                                  "{'Theta1': '25x401', 'Theta2': '10x26'}.") from None
    items = list(spec.values()) if isinstance(spec, dict) else spec
    if all(isinstance(b, Block) for b in items):
        blocks = sorted(items, key=lambda b: b.start)
        _check_tiling(blocks)
    else:
        blocks, start = [], 0
        for name, shape in spec.items():
            block = Block(str(name), start, parse_shape(shape), order)
            blocks.append(block)
            start = block.stop
    total = sum(b.size for b in blocks)
    if n is not None and total != n:
        listed = ", ".join(f"{b.name}={'x'.join(map(str, b.shape))}" for b in blocks)
        raise ConfigError(f"the blocks ({listed}) cover {total} parameters but theta has {n}; "
                          f"fix the block shapes.")
    return blocks


def _check_tiling(blocks: list[Block]) -> None:
    """Blocks given with offsets must follow each other from 0 with no gap or overlap."""
    expected = 0
    for b in blocks:
        if b.start != expected:
            raise ConfigError(f"block {b.name} starts at {b.start} but the blocks before it end at "
                              f"{expected}; blocks must tile theta without gaps or overlaps.")
        expected = b.stop


def mlp_n_params(sizes) -> int:
    """Parameters of a fully connected network with layer widths ``sizes``: sum of n_out (n_in + 1)."""
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
