"""Explain a failed check block by block, part by part, and say what each part's relation means.

For every block that disagrees, :func:`explain_block` looks for the simplest way to split it
into parts that each fit one relation (:mod:`gradcheck.check.doctor.relations`):

1. the whole block (a factor, a sign, an L2 term c theta, a constant, all zero);
2. one edge line and the rest: the bias column or row with its own relation (a penalty on
   the biases, a constant on every bias gradient) while the weights have another (agree, or a
   scaled or flipped data term);
3. a few runs of rows or columns that disagree while the rest agrees (a slice one short, a
   loop that skips the first unit);
4. contiguous runs of coordinates (what is left when nothing else fits, and the only option
   when no block is known).

Splits are compared by the number of parts that disagree, then the free numbers fitted, then
the block's declared unrolling order.  :func:`pieces` turns each part's relation into what it
means — a ``Piece`` with a code — and :func:`merge` joins pieces that tell the same story in
several blocks into one finding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcheck.check.doctor.relations import Judge, Relation, fit_relation
from gradcheck.check.doctor.segments import Part, edge_lines, line_runs, segment
from gradcheck.nn.blocks import Block

__all__ = ["Piece", "Split", "explain_block", "pieces", "whole_pieces", "is_bias_block"]

Array = np.ndarray
#: Factors within this relative distance are the same factor (one finding for several blocks).
SAME_FACTOR = 0.01


@dataclass(frozen=True)
class Piece:
    """What one part's relation means: a code, the part, the relation, and a phrase for it."""

    code: str
    block: str | None
    part: Part
    relation: Relation
    phrase: str          # "a = -1 n + 0.2 theta: the data term negated, the L2 term (0.1 theta) not"


def is_bias_block(block: Block) -> bool:
    """A vector block is a bias (weights are matrices)."""
    return len(block.shape) == 1 and block.name != "theta"


KINDS = ("whole", "edge", "lines", "runs")


@dataclass(frozen=True)
class Split:
    """A block cut into parts, each with its relation; ``kind`` is one of :data:`KINDS`."""

    kind: str
    parts: tuple
    declared: bool = True    # read in the block's declared unrolling order

    def score(self) -> tuple:
        off = [rel for _, rel in self.parts if rel.model != "agree"]
        return (len(off), sum(rel.n_free for rel in off), 0 if self.declared else 1,
                KINDS.index(self.kind), len(self.parts))


def _fitted(parts: list[Part], a: Array, n: Array, theta: Array | None, judge: Judge, known=(),
            whole: bool = False):
    out = []
    for part in parts:
        t = theta[part.indices] if theta is not None else None
        rel = fit_relation(a[part.indices], n[part.indices], t, judge, known=known, whole=whole)
        if rel is None:
            return None
        out.append((part, rel))
    return tuple(out)


def _candidates(block: Block, a: Array, n: Array, theta: Array | None, judge: Judge,
                certain: bool, known=()) -> list[Split]:
    """Every split of the block whose parts all fit a relation."""
    whole = _fitted([Part(np.arange(block.start, block.stop), block.name, block.name)], a, n, theta,
                    judge, known, whole=True)
    if whole:
        return [Split("whole", whole)]
    found = []
    for order, line, rest in edge_lines(block, certain):
        parts = _fitted([line, rest], a, n, theta, judge, known)
        if parts:
            found.append(Split("edge", parts, order == block.order))
    for order, runs, rest in line_runs(block, a, n, judge, certain):
        parts = _fitted(runs, a, n, theta, judge, known)
        if parts:
            agree = (rest, Relation("agree", size=rest.indices.size))
            found.append(Split("lines", (*parts, agree), order == block.order))
    if not found:
        t = theta[block.slice] if theta is not None else None
        segments = segment(a[block.slice], n[block.slice], t, judge, offset=block.start)
        if segments and len(segments) > 1:
            found.append(Split("runs", tuple((_named_run(block, p), r) for p, r in segments)))
    return found


def _named_run(block: Block, part: Part) -> Part:
    if block.name == "theta":
        return part
    first, last = part.indices[0] - block.start, part.indices[-1] - block.start
    return Part(part.indices, f"entries {first}-{last} of {block.name} (flat, {block.order} order)",
                block.name)


def explain_block(block: Block, a: Array, n: Array, theta: Array | None, judge: Judge,
                  certain: bool = False, known: tuple[Relation, ...] = ()) -> Split | None:
    """The simplest split of a disagreeing block into parts with one relation each; None if none.

    ``a``, ``n`` (and ``theta``) are the full columns; coordinates the caller cannot use should
    already be set equal in ``a`` and ``n``.  ``known`` relations, found in other blocks, may
    hold in parts too small to fit one of their own.
    """
    found = _candidates(block, a, n, theta, judge, certain, known)
    return min(found, key=Split.score) if found else None


# --- what a part's relation means --------------------------------------------------------------

def _sign_or_scale(rel: Relation) -> str:
    return "sign-flip" if rel.k < 0 else "scale-factor"


def _data_term_phrase(rel: Relation) -> str:
    """``a = k n + c theta`` read as a scaled/flipped data term beside a right L2 term."""
    l2 = rel.c / (1 - rel.k)
    what = "negated" if rel.k < 0 and abs(rel.k + 1) <= SAME_FACTOR else f"{rel.k:.6g} times the numerical one's"
    if l2 > 0:
        return (f"{rel.formula()}: the data term is {what} while the L2 term ({l2:.4g} theta) is "
                f"not{' flipped' if rel.k < 0 else ' scaled'}")
    return f"{rel.formula()}: the data term is {what}, and the L2 terms differ by {rel.c:.4g} theta too"


def _offset_code(rel: Relation) -> str:
    if rel.c and not rel.gamma:
        return "bias-regularized" if rel.c > 0 else "bias-regularized-in-cost"
    return "bias-constant"


def _offset_phrase(rel: Relation) -> str:
    if rel.c:
        side = ("the gradient penalises these biases and the cost does not" if rel.c > 0 else
                "the cost penalises these biases and the gradient does not")
        return f"a - n = {rel.c:.4g} theta: {side}"
    return f"a - n = {rel.gamma:.4g} on every one: a constant added to each bias gradient"


def _bias_pieces(block: Block, part: Part, rel: Relation, rest_k: float = 1.0) -> list[Piece]:
    """A bias part: its offset (c theta or gamma) and, if scaled like the rest, the factor."""
    out = []
    if rel.k != 1.0 and not _same(rel.k, rest_k):
        out.append(Piece(_sign_or_scale(rel), block.name, part, rel, f"{rel.formula()}"))
    if rel.has_offset:
        out.append(Piece(_offset_code(rel), block.name, part, rel, _offset_phrase(rel)))
    return out


def _same(k1: float, k2: float) -> bool:
    return abs(k1 - k2) <= SAME_FACTOR * max(abs(k1), abs(k2))


def whole_pieces(block: Block, part: Part, rel: Relation) -> list[Piece]:
    """A part that is a whole block, the weights beside a bias line, or a run of coordinates."""
    if is_bias_block(block) and rel.has_offset:
        return _bias_pieces(block, part, rel)
    name = None if block.name == "theta" else block.name
    if rel.model == "zero":  # some lines of a block never written: a range; a whole block: zero
        return [Piece("range-mismatch", name, part, rel, _line_phrase(rel)) if part.lines else
                Piece("zero-gradient", name, part, rel, "a = 0")]
    if rel.model == "factor":
        return [Piece(_sign_or_scale(rel), name, part, rel, rel.formula())]
    if rel.model == "factor+theta":
        return [Piece(_sign_or_scale(rel), name, part, rel, _data_term_phrase(rel))]
    if rel.model == "theta":
        return [Piece("regularization-mismatch", name, part, rel,
                      f"a - n = {rel.c:.4g} theta: the gradient's L2 term is not the derivative of the "
                      f"cost's ({'larger' if rel.c > 0 else 'smaller'} by {abs(rel.c):.4g} theta)")]
    return [Piece("range-mismatch" if part.lines else "different-function", name, part, rel,
                  f"{rel.formula()}")]


def pieces(block: Block, split: Split) -> list[Piece]:
    """What each disagreeing part of a block's split means."""
    if split.kind == "edge":
        return _edge_pieces(block, split)
    off = [(p, r) for p, r in split.parts if r.model != "agree"]
    if split.kind == "lines":
        return [Piece("range-mismatch", block.name, p, r, _line_phrase(r)) for p, r in off]
    return [piece for p, r in off for piece in whole_pieces(block, p, r)]


def _edge_pieces(block: Block, split: Split) -> list[Piece]:
    """An edge line (the bias column or row, or a unit never written) and the rest of the block."""
    (line, line_rel), (rest, rest_rel) = split.parts
    rest_pieces = whole_pieces(block, rest, rest_rel) if rest_rel.model != "agree" else []
    if line_rel.has_offset:
        return _bias_pieces(block, line, line_rel, rest_rel.k) + rest_pieces
    if line_rel.model == "factor" and rest_rel.model != "agree" and _same(line_rel.k, rest_rel.k):
        whole = Part(np.arange(block.start, block.stop), block.name, block.name)
        return [Piece(rest_pieces[0].code, block.name, whole, rest_rel,
                      f"{rest_pieces[0].phrase} on {rest.label}; a = {line_rel.k:.6g} n on {line.label}")]
    if line_rel.model != "agree":
        rest_pieces.insert(0, Piece("range-mismatch", block.name, line, line_rel, _line_phrase(line_rel)))
    return rest_pieces


def _line_phrase(rel: Relation) -> str:
    if rel.model == "zero":
        return "all 0 in the analytic gradient"
    if rel.model == "theta":
        what = "an L2 term the cost lacks" if rel.c > 0 else "the L2 term missing"
        return f"a - n = {rel.c:.4g} theta ({what})"
    return rel.formula()
