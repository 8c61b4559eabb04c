"""The doctor's block-by-block findings: explain each disagreeing block, merge what several
blocks share into one finding, and fall back to the generic findings only for what is left.

For each block that disagrees: ``transposed`` if it equals the numerical block read in the
other order; otherwise the simplest split into parts with one relation each
(:func:`~gradcheck.check.doctor.blockwise.explain_block`) and what each part means
(:func:`~gradcheck.check.doctor.blockwise.pieces`).  Pieces with the same code (and, for a factor or a
sign, the same k) in several blocks become one finding that names them all — the whole vector
when every block shares it.  Blocks no relation explains get the generic classifiers
(:data:`BLOCK_CLASSIFIERS`: a partial sign flip, a related but different function, an
unrelated one); when other blocks agree or are explained, those become one ``block-mismatch``
whose hint is derived from which layers and which kinds of blocks differ
(:mod:`gradcheck.check.doctor.hints`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradcheck.check.doctor.blocks_infer import suggest_blocks
from gradcheck.check.doctor.blockwise import Piece, explain_block, pieces
from gradcheck.check.doctor.context import Context, cosine
from gradcheck.check.doctor.diagnosis import GIVE_BLOCKS, Diagnosis, replace_message
from gradcheck.check.doctor.hints import entry_hint, layer_of, what_to_add
from gradcheck.check.doctor.relations import Relation, norm
from gradcheck.check.numerical import relative_error
from gradcheck.nn.blocks import Block

__all__ = ["detect_blocks", "explained_coordinates", "precision_shown", "BLOCK_CLASSIFIERS",
           "SCALE_MEANINGS", "GENERIC"]

Array = np.ndarray

SIGN_FLIP_COSINE = -0.99      # analytic ~ -numerical, though no exact relation fits
PARTIAL_FLIP_COSINE = -0.5    # a flipped data term plus an unflipped (regulariser) term
OPPOSITE_SIGNS = 0.9          # ... when at least this fraction of coordinates has opposite signs
RELATED_COSINE = 0.5          # |cosine| below this: the gradient of another function
FIT_RTOL = 1e-4               # a transposed block must match this well
MEANING_RTOL = 0.01           # k within 1 % of m, 2, n_outputs, ... names the meaning
EXACT_FLIP_RTOL = 1e-6        # |a + n| below this relative amount: exactly flipped
GENERIC = frozenset({"different-function", "uncorrelated"})


def _name(block) -> str | None:
    return None if block is None or block.name == "theta" else block.name


def _where(block) -> str:
    return f"in {block.name} " if block is not None and block.name != "theta" else ""


# --- transposed blocks ---------------------------------------------------------------------

def _other_order(block) -> Array | None:
    """Permutation reading a block's matrix in the other unrolling order (None if 1-D)."""
    if block is None or len(block.shape) != 2 or min(block.shape) < 2:
        return None
    grid = np.arange(block.size).reshape(block.shape, order="C" if block.order == "C" else "F")
    return grid.ravel(order="F" if block.order == "C" else "C")


def _transposed(ctx: Context, block: Block, idx: Array) -> Diagnosis | None:
    perm = _other_order(block)
    if perm is None or idx.size != block.size:
        return None
    a, n = ctx.report.analytic[block.slice], ctx.report.numerical[block.slice]
    fits = {"transposed (other unrolling order)": relative_error(a, n[perm]),
            "transposed back": relative_error(a[perm], n)}
    how = min(fits, key=lambda k: fits[k])
    if fits[how] > FIT_RTOL:
        return None
    rows, cols = block.shape
    return Diagnosis("transposed", f"the analytic {block.name} equals the numerical one transposed "
                     f"(read in {'F' if block.order == 'C' else 'C'} order instead of {block.order}; "
                     f"fit {fits[how]:.1e}).", block.name,
                     evidence={"shape": block.shape, "order": block.order, "fit": fits[how]},
                     fix=f"build the gradient as a {rows}x{cols} matrix like {block.name} (delta^T a, not "
                         f"a^T delta) and unroll it in the same order as theta ({block.order}).")


# --- what a factor means -----------------------------------------------------------------------

SCALE_MEANINGS = (
    ("m", lambda ctx: ctx.n_samples,
     "the gradient sums over the m samples while the cost averages; divide it by m"),
    ("1/m", lambda ctx: 1 / ctx.n_samples if ctx.n_samples else None,
     "the gradient is divided by m once too often (or the cost sums); use one reduction for both"),
    ("2", lambda ctx: 2.0, "a factor 2: the derivative of 1/2 (a - y)^2 is (a - y), not 2 (a - y)"),
    ("1/2", lambda ctx: 0.5, "a missing factor 2: the derivative of (a - y)^2 is 2 (a - y)"),
    ("n_outputs", lambda ctx: ctx.n_outputs,
     "the cost averages over outputs but the gradient does not; use the same reduction for both"),
    ("1/n_outputs", lambda ctx: 1 / ctx.n_outputs if ctx.n_outputs else None,
     "the gradient averages over outputs but the cost does not; use the same reduction for both"),
)


def _scale_meanings(ctx: Context, k: float) -> list[tuple[str, str]]:
    out = []
    for label, value, why in SCALE_MEANINGS:
        v = value(ctx)
        if v and v != 1 and abs(abs(k) / v - 1) <= MEANING_RTOL:
            out.append((label, why))
    return out


# --- generic classifiers: what no relation explains -----------------------------------------------

def _sign_stats(a: Array, n: Array) -> tuple[float, int]:
    """Fraction of significant coordinates with opposite signs, and the count compared."""
    floor = 1e-8 * max(float(np.max(np.abs(a))), float(np.max(np.abs(n))), 1e-300)
    sig = (np.abs(a) > floor) & (np.abs(n) > floor)
    if not np.any(sig):
        return 0.0, 0
    return float(np.mean(np.sign(a[sig]) != np.sign(n[sig]))), int(sig.sum())


def _sign_flip(ctx: Context, block, idx: Array) -> Diagnosis | None:
    a, n = ctx.report.analytic[idx], ctx.report.numerical[idx]
    cos = cosine(a, n)
    opposite, counted = _sign_stats(a, n)
    full = cos < SIGN_FLIP_COSINE
    if not (full or (cos < PARTIAL_FLIP_COSINE and opposite >= OPPOSITE_SIGNS)):
        return None
    exact = np.flatnonzero(np.abs(a + n) <= EXACT_FLIP_RTOL * np.maximum(np.abs(a), np.abs(n)))
    what = ("is the negative of the numerical one" if full else
            "has its data term sign-flipped: the remainder a + n is an unflipped term such as "
            "the regulariser (lambda/m) theta")
    evidence = {"cosine": cos, "opposite_sign_fraction": opposite, "compared": counted,
                "exactly_flipped": len(exact), "norm_ratio": _norm_ratio(ctx)}
    message = (f"the analytic gradient {_where(block)}{what} (cosine {cos:.3f}; "
               f"{round(opposite * counted)}/{counted} coordinates of opposite sign; "
               f"{len(exact)} exactly flipped{_bias_column_note(block, idx[exact])})"
               f"{_norm_ratio_note(evidence['norm_ratio'])}.")
    return Diagnosis("sign-flip", message, _name(block), evidence=evidence, fix=SIGN_FIX)


SIGN_FIX = ("find the sign error: sigmoid is 1/(1 + exp(-z)), the output delta is a - y (not y - a), "
            "and gradient descent subtracts the gradient.")


def _bias_column_note(block, exact: Array) -> str:
    """Exactly flipped on the whole column 0: the bias column, which carries no penalty."""
    if block is None or len(block.shape) != 2 or exact.size != block.shape[0]:
        return ""
    if all(block.position(int(i))[1] == 0 for i in exact):
        return ": all of column 0, the unregularised bias column"
    return ""


def _norm_ratio(ctx: Context) -> float:
    """The popular ``||a - n|| / ||a + n||`` over every finite coordinate, as users print it."""
    r = ctx.report
    keep = np.isfinite(r.analytic) & np.isfinite(r.numerical)
    a, n = r.analytic[keep], r.numerical[keep]
    denominator = norm(a + n)
    return norm(a - n) / denominator if denominator > 0 else float("inf")


def _norm_ratio_note(ratio: float) -> str:
    if not ratio > 1:
        return ""
    return (f"; the often-printed ||a - n|| / ||a + n|| = {ratio:.3g} is large because of the flip, "
            f"not because of the size of the error: a + n cancels and the ratio exceeds 1 only when "
            f"the vectors point apart (gradcheck divides by max(||a||, ||n||) instead)")


def _related(ctx: Context, block, idx: Array, uncorrelated: bool) -> Diagnosis | None:
    a, n = ctx.report.analytic[idx], ctx.report.numerical[idx]
    cos = cosine(a, n)
    if (abs(cos) < RELATED_COSINE) != uncorrelated:
        return None
    opposite, counted = _sign_stats(a, n)
    sig = np.abs(n) > 1e-8 * max(float(np.max(np.abs(n))), 1e-300)
    ratios = a[sig] / n[sig] if np.any(sig) else np.array([np.nan])
    evidence = {"cosine": cos, "same_sign_fraction": 1 - opposite, "compared": counted,
                "ratio_min": float(np.min(ratios)), "ratio_max": float(np.max(ratios)),
                "relative_error": relative_error(a, n)}
    return (_uncorrelated_finding if uncorrelated else _different_finding)(block, evidence)


def _different_finding(block, ev: dict) -> Diagnosis:
    return Diagnosis("different-function", f"the analytic gradient {_where(block)}correlates with the "
                     f"numerical one (cosine {ev['cosine']:.4f}; same sign at "
                     f"{round(ev['same_sign_fraction'] * ev['compared'])}/{ev['compared']}) but no "
                     f"relation (factor, sign, L2 term, constant) fits (ratios {ev['ratio_min']:.3g} to "
                     f"{ev['ratio_max']:.3g}): it is the gradient of a related but different function.",
                     _name(block), evidence=ev,
                     fix="derive the gradient from the cost you evaluate: the output delta a - y belongs "
                         "to softmax + cross-entropy (or sigmoid + binary cross-entropy), and each hidden "
                         "layer needs its own activation's derivative at z.")


def _uncorrelated_finding(block, ev: dict) -> Diagnosis:
    return Diagnosis("uncorrelated", f"the analytic gradient {_where(block)}is unrelated to the numerical "
                     f"one (cosine {ev['cosine']:.3f}): it is the gradient of some other function, or its "
                     f"coordinates are in another order.", _name(block), evidence=ev,
                     fix="check that cost and gradient use the same parameters in the same layout, "
                         "the same data and the same loss.")


BLOCK_CLASSIFIERS = (
    _sign_flip,
    lambda ctx, block, idx: _related(ctx, block, idx, uncorrelated=False),
    lambda ctx, block, idx: _related(ctx, block, idx, uncorrelated=True),
)


def _classify(ctx: Context, block, idx: Array) -> Diagnosis:
    for classify in BLOCK_CLASSIFIERS:
        found = classify(ctx, block, idx)
        if found is not None:
            return found
    raise AssertionError("uncorrelated always classifies")  # pragma: no cover


# --- the detector ------------------------------------------------------------------------------

def _columns(ctx: Context) -> tuple[Array, Array]:
    """The two columns with every coordinate the detectors cannot use set to 0 on both sides
    (NaN, kinks, an entry the cost overwrites): they agree and add nothing to any fit."""
    r = ctx.report
    return np.where(ctx.usable, r.analytic, 0.0), np.where(ctx.usable, r.numerical, 0.0)


@dataclass
class _Outcome:
    """Each block's outcome while the detector runs."""

    agreeing: dict = field(default_factory=dict)     # name -> relative error
    found: list = field(default_factory=list)        # pieces explained by a relation
    quiet: dict = field(default_factory=dict)        # name -> labels of its parts that agree
    specials: list = field(default_factory=list)     # transposed blocks
    unexplained: list = field(default_factory=list)  # blocks no relation explains

    def explained(self, block: Block, split) -> None:
        self.found += pieces(block, split)
        self.quiet[block.name] = [p.label for p, rel in split.parts
                                  if rel.model == "agree" and p.label != block.name]


def explained_coordinates(ctx: Context) -> Array:
    """Which coordinates agree or are explained by an exact relation (no generic finding needed)."""
    out = _structure(ctx)
    mask = np.ones(ctx.report.numerical.size, bool)
    for block, _ in out.unexplained:
        mask[block.slice] = False
    return mask


def precision_shown(ctx: Context) -> bool:
    """Some block with a clearly non-zero gradient agrees to the tolerance: the cost is then
    deterministic and resolves steps of eps (noise or float32 would spoil that block too)."""
    r = ctx.report
    for name in _structure(ctx).agreeing:
        block = next(b for b in r.blocks if b.name == name)
        n = r.numerical[block.slice]
        if norm(n) > PRECISION_MARGIN * r.noise * np.sqrt(n.size):
            return True
    return False


PRECISION_MARGIN = 1e3


def _structure(ctx: Context) -> _Outcome:
    """Each block's outcome, computed once for the coordinates usable now."""
    if ctx.structure is not None and np.array_equal(ctx.structure[0], ctx.usable):
        return ctx.structure[1]
    out = _explain_blocks(ctx)
    ctx.structure = (ctx.usable.copy(), out)
    return out


def _explain_blocks(ctx: Context) -> _Outcome:
    a, n = _columns(ctx)
    theta = ctx.theta64 if ctx.theta is not None else None
    out = _Outcome()
    for b in ctx.report.blocks:
        idx = np.flatnonzero(ctx.usable[b.slice]) + b.start
        if idx.size == 0:
            continue
        if ctx.judge.agrees(a[b.slice], n[b.slice]):
            out.agreeing[b.name] = relative_error(a[b.slice], n[b.slice])
        elif (t := _transposed(ctx, b, idx)) is not None:
            out.specials.append(t)
        elif (split := explain_block(b, a, n, theta, ctx.judge, b.name in ctx.certain)) is not None:
            out.explained(b, split)
        else:
            out.unexplained.append((b, idx))
    _second_look(ctx, out, a, n, theta)
    return out


def detect_blocks(ctx: Context) -> list[Diagnosis]:
    """Explain every disagreeing block; merge what blocks share; generic findings for the rest."""
    out = _structure(ctx)
    generic, partial = {}, []
    for b, idx in out.unexplained:
        d = _classify(ctx, b, idx)
        if d.code in GENERIC:
            generic[b.name] = d
        else:
            partial.append(d)  # a sign flip with no exact relation (columns without theta)
    findings = out.specials + _merge(ctx, out.found, out.agreeing, out.quiet,
                                     whole=not (out.agreeing or out.unexplained or out.specials))
    findings += _partial(ctx, partial, out.agreeing,
                         whole=not (out.agreeing or generic or out.specials or out.found))
    if generic:
        findings += _generic(ctx, generic, out.agreeing, explained=bool(findings))
    return findings


def _partial(ctx: Context, partial: list[Diagnosis], agreeing: dict, whole: bool) -> list[Diagnosis]:
    """Sign flips no exact relation fits: one for the whole vector when every block has one."""
    if whole and len(partial) > 1:
        found = _classify(ctx, None, np.flatnonzero(ctx.usable))
        if found.code == "sign-flip":
            return [found]
    agree = _agree_text(agreeing, set(), {})
    return [replace_message(d, f"{d.message[:-1]}{agree}.") for d in partial]


def _known(found: list[Piece]) -> list[Relation]:
    """The relations other blocks showed, and their parts alone (a factor without its L2 term)."""
    out: list[Relation] = []
    for rel in (p.relation for p in found if p.relation.n_free):
        for k, c, gamma in ((rel.k, rel.c, rel.gamma), (rel.k, 0.0, 0.0), (1.0, rel.c, 0.0), (1.0, 0.0, rel.gamma)):
            model = "+".join(name for name, on in (("factor", k != 1), ("theta", c), ("constant", gamma)) if on)
            if model and all(model != r.model or (k, c, gamma) != (r.k, r.c, r.gamma) for r in out):
                out.append(Relation(model, k, c, gamma))
    return out


def _second_look(ctx: Context, out: _Outcome, a: Array, n: Array, theta: Array | None) -> None:
    """Blocks no relation of their own explained, tried again with the relations other blocks
    showed (a 2-entry bias vector scaled like every other block, a 2-entry bias column)."""
    known = tuple(rel for rel in _known(out.found) if theta is not None or not rel.c)
    if not known:
        return
    left = []
    for block, idx in out.unexplained:
        split = explain_block(block, a, n, theta, ctx.judge, block.name in ctx.certain, known)
        if split is None:
            left.append((block, idx))
        else:
            out.explained(block, split)
    out.unexplained = left


# --- merging pieces into findings ------------------------------------------------------------------

def _groups(found: list[Piece]) -> list[list[Piece]]:
    """Pieces with the same code (and the same k for a factor or a sign), in order of appearance."""
    groups: list[list[Piece]] = []
    for piece in found:
        for group in groups:
            head = group[0]
            if head.code == piece.code and (head.code not in ("scale-factor", "sign-flip") or abs(
                    head.relation.k - piece.relation.k) <= MEANING_RTOL * abs(head.relation.k)):
                group.append(piece)
                break
        else:
            groups.append([piece])
    return groups


#: Codes told once for every block they concern: the biases are penalised (or not) in one place.
ONE_STORY = frozenset({"bias-regularized", "bias-regularized-in-cost", "bias-constant"})


def _per_block(groups: list[list[Piece]], blocks: list[Block]) -> list[list[Piece]]:
    """A story every block shares stays one finding for the whole vector, and so does one about
    the biases (:data:`ONE_STORY`); the others are told block by block (each finding names one
    block, as its ``block`` field says)."""
    every = {b.name for b in blocks}
    out = []
    for group in groups:
        names = {p.block or "theta" for p in group}
        if names >= every or len(names) == 1 or group[0].code in ONE_STORY:
            out.append(group)
        else:
            out += [[p for p in group if (p.block or "theta") == name]
                    for name in dict.fromkeys(p.block or "theta" for p in group)]
    return out


def _merge(ctx: Context, found: list[Piece], agreeing: dict, quiet: dict, whole: bool) -> list[Diagnosis]:
    groups = _per_block(_groups(found), ctx.report.blocks)
    out = []
    for group in groups:
        own = list(dict.fromkeys(p.block or "theta" for p in group))
        everywhere = (whole and len(groups) == 1 and set(own) >= {b.name for b in ctx.report.blocks}
                      and not any(quiet.get(name) for name in own))
        out.append(WORDING[group[0].code](ctx, group, everywhere, _agree_text(agreeing, own, quiet)))
    return out


def _agree_text(agreeing: dict, own, quiet: dict) -> str:
    """``"; W2 agrees to 1.2e-09, column 0 of Theta1 agrees"``: what agrees beside a finding."""
    parts = [f"{name} agrees to {err:.1e}" for name, err in agreeing.items()]
    parts += [f"{label} agree{'s' if label.startswith(('column ', 'row ')) else ''}"
              for name in own for label in quiet.get(name, [])]
    return "; " + ", ".join(parts) if parts else ""


def _labels(group: list[Piece]) -> str:
    return _and([p.part.label for p in group])


def _and(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _detail(group: list[Piece]) -> str:
    """``"W1 and W2: a - n = -0.1 theta ..."``: parts that read the same are named together."""
    by_phrase: dict[str, list[str]] = {}
    for p in group:
        by_phrase.setdefault(p.phrase, []).append(p.part.label)
    return "; ".join(f"{_and(labels)}: {phrase}" for phrase, labels in by_phrase.items())


def _diagnosis(code: str, message: str, group: list[Piece], everywhere: bool, evidence: dict,
               fix: str, ctx: Context) -> Diagnosis:
    indices = np.unique(np.concatenate([p.part.indices for p in group]))
    blocks = {p.block for p in group}
    block = None if everywhere or len(blocks) != 1 else blocks.pop()
    evidence = {**evidence, "parts": [{"label": p.part.label, "block": p.block, **p.relation.to_dict(),
                                       "relative_error": relative_error(ctx.report.analytic[p.part.indices],
                                                                        ctx.report.numerical[p.part.indices])}
                                      for p in group]}
    shown = indices if indices.size <= 64 else ()
    positions = tuple(ctx.report.block_of(int(i)).position(int(i)) for i in shown)
    return Diagnosis(code, message, block, tuple(int(i) for i in shown), positions, evidence, fix)


def _factor(ctx: Context, group, everywhere: bool, agree: str) -> Diagnosis:
    k = group[0].relation.k
    flip = k < 0
    meanings = _scale_meanings(ctx, k)
    where = "" if everywhere else f"in {_and([p.block or p.part.label for p in group])} "
    size = ("the negative of the numerical one" if flip and abs(k + 1) <= MEANING_RTOL else
            f"{k:.6g} times the numerical one")
    named = "".join(f"; k ≈ {label}: {why}" for label, why in meanings if not flip)
    note = _norm_ratio_note(_norm_ratio(ctx)) if flip and everywhere else ""
    message = f"the analytic gradient {where}is {size} ({_detail(group)}){named}{agree}{note}."
    fix = _sign_fix(ctx, group, everywhere) if flip else _scale_fix(ctx, group, meanings, everywhere)
    evidence = {"k": k, "meanings": [m for m, _ in meanings], "norm_ratio": _norm_ratio(ctx),
                "residual": max(p.relation.residual for p in group)}
    return _diagnosis("sign-flip" if flip else "scale-factor", message, group, everywhere, evidence, fix, ctx)


def _sign_fix(ctx: Context, group, everywhere: bool) -> str:
    data_term = any(p.relation.c for p in group)
    if everywhere:
        return ("the output delta is a - y, not y - a (the L2 term kept its sign, so the flip is in the "
                "data term)" if data_term else
                "the whole gradient is negated: the output delta a - y (not y - a) with no penalty, "
                "sigmoid written 1/(1 + exp(z)), or a gradient read off an update step that adds it")
    table = layer_of(ctx.report.blocks)
    flipped = sorted({table[p.block] for p in group if p.block in table})
    last = max(table.values(), default=1)
    if not flipped:
        return (f"only {_labels(group)} flipped while the rest agrees: the sign is in how that part "
                f"of the gradient is formed{_blocks_hint(ctx, group)}")
    if last not in flipped:
        return (f"the last layer agrees, so the output delta has the right sign; the flip enters on "
                f"the way back into layer {max(flipped)}: its activation's derivative written with "
                f"the wrong sign (h**2 - 1 for 1 - h**2), y - a used only there, or its gradient "
                f"accumulated with -=")
    return (f"the earlier layers agree, and they are computed from the same output delta, so the "
            f"delta has the right sign: the flip is in layer {last}'s own gradient — Delta -= ... "
            f"instead of +=, a minus in front of it, or W + alpha * grad in the update step the "
            f"gradient was read off")


def _scale_fix(ctx: Context, group, meanings, everywhere: bool) -> str:
    base = meanings[0][1] if meanings else ("find the constant factor: the reduction (1/m, sum vs mean), "
                                            "a 1/2 in the cost, or a learning-rate-like scale")
    if everywhere:
        return base
    return (f"{base} — in {_and([p.block or p.part.label for p in group])} only, since the other blocks "
            f"agree: the factor is in how {'that block is' if len(group) == 1 else 'those blocks are'} "
            f"formed, not in the delta they share")


def _zero(ctx: Context, group, everywhere: bool, agree: str) -> Diagnosis:
    n = np.concatenate([ctx.report.numerical[p.part.indices] for p in group])
    message = (f"the analytic gradient of {_labels(group)} is all 0 while the numerical one is not "
               f"(largest {np.max(np.abs(n)):.2e}){agree}.")
    fix = ("this part of the gradient is never written: a misspelt key (grads['b_2'] for 'b2'), a "
           "slice that is empty or one short, or a value computed and never stored in the flat vector")
    return _diagnosis("zero-gradient", message, group, everywhere,
                      {"numerical_norm": norm(n)}, fix + _blocks_hint(ctx, group), ctx)


def _bias(ctx: Context, group, everywhere: bool, agree: str) -> Diagnosis:
    code = group[0].code
    message = (f"only the bias coordinates differ — {_detail(group)}{agree}"
               f"{_lambda_note(ctx, group)}.")
    return _diagnosis(code, message, group, everywhere, {"c": group[0].relation.c,
                                                        "gamma": group[0].relation.gamma},
                      BIAS_FIXES[code], ctx)


BIAS_FIXES = {
    "bias-regularized": "leave the biases out of the gradient's penalty: add (lambda/m) * theta to the "
                        "weights only (Theta[:, 1:] with the bias first, Theta[:, :-1] with it last; "
                        "never to a bias vector b).",
    "bias-regularized-in-cost": "leave the biases out of the cost's penalty: sum the squares of the "
                                "weights only (Theta[:, 1:]**2, not Theta**2; the coefs, not the "
                                "intercepts).",
    "bias-constant": "the penalty matrix has ones where the bias entries should be 0: build it from "
                     "zeros (np.c_[np.zeros(rows), Theta[:, 1:]], or a copy with its bias column set to 0).",
}


def _lambda_note(ctx: Context, group) -> str:
    rel = group[0].relation
    value = rel.gamma or rel.c
    if not ctx.n_samples or not value:
        return ""
    return f" (= lambda/m with lambda = {abs(value) * ctx.n_samples:.4g} for m = {ctx.n_samples})"


def _regularization(ctx: Context, group, everywhere: bool, agree: str) -> Diagnosis:
    c = group[0].relation.c
    message = f"{_detail(group)}{agree}{_per_sample_note(ctx, group)}."
    fix = ("the gradient adds a penalty the cost lacks, or adds it too often: lambda * theta instead of "
           "lambda/m * theta, or the penalty added inside a loop over the samples" if c > 0 else
           "the gradient lacks part of the cost's penalty: add (lambda/m) * W to these weights' gradient, "
           "or give the cost's penalty its 1/2 (lambda/(2m) sum W^2)")
    return _diagnosis("regularization-mismatch", message, group, everywhere, {"c": c}, fix, ctx)


def _per_sample_note(ctx: Context, group) -> str:
    m = ctx.n_samples
    cs = [p.relation.c for p in group]
    if not m or m < 2 or min(cs) <= 0 or np.ptp(cs) > MEANING_RTOL * max(cs):
        return ""
    return (f"; if the gradient adds the penalty m = {m} times (lambda theta, or once per sample) "
            f"where the cost's derivative adds it once, c = lambda (1 - 1/m), i.e. lambda = "
            f"{cs[0] * m / (m - 1):.4g}")


def _range(ctx: Context, group, everywhere: bool, agree: str) -> Diagnosis:
    swapped = _swapped_penalty(group)
    message = f"only part of {_and([p.block for p in group])} disagrees — {_detail(group)}{agree}{swapped}."
    kinds = {p.relation.model for p in group}
    fix = ("exclude the same column from the penalty in cost and gradient: the bias column (the last "
           "when a1 = [X 1], the first when a1 = [1 X])" if swapped else
           "these rows/columns are never written: a loop that starts at 1 (range(1, n)) or a slice "
           "that stops one short" if kinds == {"zero"} else
           "the penalty's slice is one off: regularise every weight column (Theta[:, 1:] when the bias "
           "is column 0), only the bias excluded" if kinds == {"theta"} else
           "look at how exactly these rows/columns are computed: an index off by one, a special "
           "first or last unit")
    return _diagnosis("range-mismatch", message, group, everywhere, {}, fix, ctx)


def _swapped_penalty(group) -> str:
    """Both edge columns off by opposite L2 terms: cost and gradient exclude different columns."""
    edges = [p for p in group if p.part.edge and p.relation.model == "theta"]
    signs = {np.sign(p.relation.c) for p in edges}
    if len(edges) < 2 or signs != {-1.0, 1.0}:
        return ""
    return ("; the cost penalises the first of these and not the second, the gradient the reverse: "
            "they leave different columns out of the penalty")


def _other(ctx: Context, group, everywhere: bool, agree: str) -> Diagnosis:
    message = f"{_detail(group)}: no textbook reading of this relation{agree}."
    return _diagnosis("different-function", message, group, everywhere, {},
                      "look at how these coordinates are computed" + _blocks_hint(ctx, group), ctx)


def _blocks_hint(ctx: Context, group) -> str:
    """For runs found without blocks: the blocks that would name them."""
    if len(ctx.report.blocks) > 1 or not ctx.n_features:
        return ""
    edges = {int(p.part.indices[-1]) + 1 for p in group} | {int(p.part.indices[0]) for p in group}
    edges -= {0, ctx.report.numerical.size}
    suggestion = suggest_blocks(ctx.report.numerical.size, ctx.n_features, edges)
    return f"; {GIVE_BLOCKS} {suggestion} (these runs) to see them named" if suggestion else ""


WORDING = {
    "sign-flip": _factor,
    "scale-factor": _factor,
    "zero-gradient": _zero,
    "bias-regularized": _bias,
    "bias-regularized-in-cost": _bias,
    "bias-constant": _bias,
    "regularization-mismatch": _regularization,
    "range-mismatch": _range,
    "different-function": _other,
}


# --- what no relation explains ----------------------------------------------------------------------

def _generic(ctx: Context, generic: dict, agreeing: dict, explained: bool) -> list[Diagnosis]:
    if agreeing or explained:
        return [_block_mismatch(ctx, generic, agreeing)]
    return _everywhere(ctx, generic)


def _block_mismatch(ctx: Context, generic: dict, agreeing: dict) -> Diagnosis:
    blocks = ctx.report.blocks
    detail = "; ".join(f"{name} disagrees (cosine {d.evidence['cosine']:.3f}, relative error "
                       f"{d.evidence.get('relative_error', float('nan')):.1e})" for name, d in generic.items())
    agree = ", ".join(f"{name} agrees to {err:.1e}" for name, err in agreeing.items())
    why, look = entry_hint(blocks, set(generic), set(agreeing))
    message = (f"the error is confined to {', '.join(generic)}: {detail}"
               f"{'; ' + agree if agree else ''} — {why}, and no relation (factor, sign, L2 term, "
               f"constant) fits what differs.")
    return Diagnosis("block-mismatch", message, next(iter(generic)) if len(generic) == 1 else None,
                     evidence={"disagreeing": {k: d.evidence for k, d in generic.items()},
                               "agreeing": agreeing},
                     fix=f"{look}; {_add(ctx)}")


def _add(ctx: Context) -> str:
    return what_to_add(ctx.report.blocks, None, ctx.n_features, ctx.n_outputs)


def _everywhere(ctx: Context, per_block: dict) -> list[Diagnosis]:
    """Every block disagrees with no relation: one whole-vector finding when they tell the same story."""
    codes = {d.code for d in per_block.values()}
    found = list(per_block.values())
    if codes <= GENERIC or codes == {"sign-flip"}:
        whole = _classify(ctx, None, np.flatnonzero(ctx.usable))
        if whole.code in codes:
            found = [whole]
    blocks = ctx.report.blocks
    if len(blocks) > 1:
        why, look = entry_hint(blocks, {b.name for b in blocks}, set())
        fix = f"{why[0].upper()}{why[1:]}: {look}; {_add(ctx)}"
    else:
        fix = f"{GENERIC_FIX} {_add(ctx)[0].upper()}{_add(ctx)[1:]}"
    return [replace_fix(d, fix) if d.code in GENERIC else d for d in found]


GENERIC_FIX = ("derive the gradient from the cost you evaluate: the output delta a - y belongs to "
               "softmax + cross-entropy (or sigmoid + binary cross-entropy), and each hidden layer needs "
               "its own activation's derivative at z.")


def replace_fix(d: Diagnosis, fix: str) -> Diagnosis:
    return Diagnosis(d.code, d.message, d.block, d.indices, d.positions, d.evidence, fix)

