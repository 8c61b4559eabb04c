"""Numerical gradients fast: structure-aware for a Network's loss, process-parallel otherwise.

Central differences need ``J(theta + h e_k)`` and ``J(theta - h e_k)`` for every
coordinate ``k``.  The plain loop (:func:`gradcheck.check.numerical_gradient`) runs two
full forward passes per coordinate.  For a :class:`~gradcheck.nn.network.Objective` almost all
of that work repeats itself: perturbing ``W_l[j, i]`` by ``h`` changes only column ``j`` of
layer ``l``'s pre-activations, by ``h * a_{l-1}[:, i]``, and only on the samples where
``a_{l-1}[:, i]`` is not zero; the layers before ``l`` do not change at all.
:func:`structured_gradient` therefore runs one forward pass, then for batches of input
columns ``i`` perturbs every unit ``j`` at once (column ``j`` of a matrix holds coordinate
``(j, i)``), applies the layer's activation, and pushes the change forward:

* into the **output layer**, a change ``D`` of hidden unit ``j`` shifts every output by
  ``D * W_L[:, j]``; for softmax + cross-entropy only ``log sum exp`` is re-evaluated (the
  ``y . z`` part of the fused cost is linear), one output column at a time;
* for an **output-layer** weight only one output column changes: for softmax +
  cross-entropy ``sum exp`` is updated by ``E_k expm1(delta)``; for elementwise outputs
  only that output's term of the cost is re-evaluated;
* anything else (a softmax hidden layer, softmax with another loss, layers further from
  the output) recomputes the remaining layers for a stack of perturbed matrices.

Every perturbed cost is evaluated with the network's own activation functions and
per-sample cost (not a derivative formula), in float64, with the same rounded steps
``(w + eps) - w`` and ``w - (w - eps)`` the plain loop takes, so both evaluators compute
one quantity and agree to round-off.  Work is spread over threads (numpy releases the
GIL inside its loops).

Black-box functions keep the plain loop; :func:`parallel_gradient` splits its coordinates
over worker processes.
"""
from __future__ import annotations

import math
import os
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np

from gradcheck.check.numerical import call_cost, numerical_gradient
from gradcheck.errors import ConfigError
from gradcheck.nn.losses import per_sample_loss, reduction_scale
from gradcheck.nn.network import Network, Objective

__all__ = ["structured_gradient", "parallel_gradient", "numerical_evaluator",
           "supports_structure", "STRUCTURED", "PLAIN"]

Array = np.ndarray

STRUCTURED = "central differences, structure-aware (Network objective)"
PLAIN = "central differences"

# elements per work array: large enough to amortise numpy's per-call cost, small enough
# that a task's few arrays stay in the per-core cache
_TASK_ELEMENTS = 1 << 16
# elements per stack of perturbed matrices on the general path (memory bound: 8 MB each)
_STACK_ELEMENTS = 1 << 20
# |D w| above which exp(z - max + D w) could overflow: such tasks take the general path
_EXP_SAFE = 600.0
# expm1(t) = t + t^2/2 + t^3/6 + t^4/24 + R with |R / expm1(t)| < t^4/120 * 1.01: for
# |t| <= 2^-12 that is below 3e-17, under float64 rounding, so the polynomial *is* expm1
_SERIES_DEGREE = 4
_SERIES_MAX_ARG = 2.0**-12


def supports_structure(f) -> TypeGuard[Objective]:
    """True if ``f`` is a Network objective the structure-aware evaluator understands."""
    return type(f) is Objective and isinstance(f.net, Network)


@dataclass
class _Trace:
    """One forward pass at ``theta`` (float64) and what every task shares.

    ``views[q] = (W, b)``, ``zs[q]`` and ``acts[q + 1]`` belong to layer ``q`` (0-based);
    ``acts[0]`` is X.  ``steps[q]`` holds the rounded steps ``(h_plus, h_minus)`` of
    ``[W | b]``, each of shape ``(n_out, n_in + 1)``, and ``eps[q]`` the nominal steps the
    quotients divide by (a number, or an array of that shape).
    """

    net: Network
    views: list
    zs: list
    acts: list
    Y: Array
    scale: float
    steps: list
    cost: float
    eps: list
    softmax_ce: dict | None = None

    @property
    def tables(self) -> dict:
        """The softmax + cross-entropy tables (:func:`_softmax_tables`); only that pairing has them."""
        assert self.softmax_ce is not None, "only a softmax + cross_entropy trace has tables"
        return self.softmax_ce

    @property
    def n_layers(self) -> int:
        return len(self.views)


def _row_losses(net: Network, z: Array, Y: Array) -> Array:
    """Per-sample cost from output pre-activations, exactly as the network computes it."""
    return per_sample_loss(net.pairing, z, Y)


def _rounded_steps(W: Array, b: Array, eps) -> tuple[Array, Array]:
    # the steps the plain loop really takes: theta[k] + eps is rounded, so h != eps
    P = np.hstack([W, b[:, None]])
    return (P + eps) - P, P - (P - eps)


def _layer_eps(net: Network, eps) -> list:
    """The nominal step of each layer's ``[W | b]``: ``eps`` itself, or, for per-coordinate
    steps (an array laid out like theta), an ``(n_out, n_in + 1)`` array per layer."""
    if np.ndim(eps) == 0:
        return [eps] * net.n_layers
    eps = np.asarray(eps, dtype=np.float64)
    return [np.hstack([W, b[:, None]]) for W, b in net.layer_views(eps)]


def _trace(objective: Objective, theta: Array, eps) -> _Trace:
    net = objective.net
    views = net.layer_views(theta)
    zs, acts = net.forward_pass(objective.X, views)  # the network's own pass, in float64
    scale = reduction_scale(len(objective.X), net.reduction)
    cost = float(np.sum(_row_losses(net, zs[-1], objective.Y)) * scale) + net.penalty(views, scale)
    layer_eps = _layer_eps(net, eps)
    steps = [_rounded_steps(W, b, h) for (W, b), h in zip(views, layer_eps)]
    tr = _Trace(net, views, zs, acts, objective.Y, scale, steps, cost, layer_eps)
    if net.pairing.fused and net.pairing.output.name == "softmax":
        tr.softmax_ce = _softmax_tables(tr)
    return tr


def _softmax_tables(tr: _Trace) -> dict:
    """Shifted exponentials of the output, for updating ``log sum exp`` cheaply.

    ``E = exp(z - c)`` (``c`` the row max), ``S = sum_k E_k``; for the last hidden layer
    also the moments ``A_p = sum_k E_k W_L[k, j]^p / p!`` (p = 1..4, shape (m, n_hidden)).
    """
    z = tr.zs[-1]
    shift = z.max(axis=1, keepdims=True)  # exp overflows above ~709: subtract the row max
    E = np.exp(z - shift)
    tables = {"zc_T": np.ascontiguousarray((z - shift).T), "E": E, "S": E.sum(axis=1),
              "ysum": tr.Y.sum(axis=1)}
    if tr.n_layers > 1:
        W_last = tr.views[-1][0]
        tables["yW"] = tr.Y @ W_last
        # one (m, (degree + 1) n_hidden) table: a task gathers its rows once, not five times
        moments = [E @ W_last**p / math.factorial(p) for p in range(1, _SERIES_DEGREE + 1)]
        tables["series"] = np.hstack([tables["yW"], *moments, tables["S"][:, None],
                                      tables["ysum"][:, None]])
    return tables


# --- tasks: a layer and a batch of its input columns -------------------------------------

@dataclass(frozen=True)
class _Task:
    """Input columns ``cols`` of layer ``layer`` (``n_in`` stands for the bias)."""

    layer: int
    cols: tuple[int, ...]


def _column_rows(tr: _Trace, q: int, i: int) -> tuple[Array, Array]:
    """Samples where input ``i`` of layer ``q`` is not zero, and its values there."""
    a_prev = tr.acts[q]
    if i == a_prev.shape[1]:
        return np.arange(len(a_prev)), np.ones(len(a_prev))
    rows = np.flatnonzero(a_prev[:, i])  # z + h * 0 == z exactly: those samples cannot change
    return rows, a_prev[rows, i]


def _plan(tr: _Trace, layers_cols: dict[int, list[int]]) -> list[_Task]:
    """Group each layer's columns into tasks of about ``_TASK_ELEMENTS`` elements."""
    tasks = []
    for q, cols in layers_cols.items():
        n_out = tr.views[q][0].shape[0]
        nonzero = np.count_nonzero(tr.acts[q], axis=0).tolist() + [len(tr.acts[q])]
        batch, size = [], 0
        for i in cols:
            if nonzero[i] == 0:
                continue  # the cost cannot depend on this weight through the data
            batch.append(i)
            size += 2 * nonzero[i] * n_out
            if size >= _TASK_ELEMENTS:
                tasks.append(_Task(q, tuple(batch)))
                batch, size = [], 0
        if batch:
            tasks.append(_Task(q, tuple(batch)))
    return tasks


def _task_changes(tr: _Trace, task: _Task):
    """Rows, segment starts, and the signed change of layer ``q``'s pre-activations.

    Returns ``rows`` (R,), ``starts`` (n_cols,), ``delta`` (2, R, n_out): ``delta[0]`` is
    ``+h_plus * a`` and ``delta[1]`` is ``-h_minus * a``; column ``j`` of a row from input
    column ``i``'s segment belongs to coordinate ``(j, i)``.
    """
    pieces = [_column_rows(tr, task.layer, i) for i in task.cols]
    lengths = [len(rows) for rows, _ in pieces]
    rows = np.concatenate([r for r, _ in pieces])
    values = np.concatenate([v for _, v in pieces])[:, None]
    h_plus, h_minus = (np.repeat(h[:, task.cols].T, lengths, axis=0) for h in tr.steps[task.layer])
    delta = np.stack([h_plus * values, -(h_minus * values)])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return rows, starts, delta


def _run_task(tr: _Trace, task: _Task) -> Array:
    """``sum over samples of (L+ - L-)`` for every coordinate of the task, (n_cols, n_out)."""
    rows, starts, delta = _task_changes(tr, task)
    q = task.layer
    if q == tr.n_layers - 1:
        diff = _output_layer_diff(tr, rows, delta)
    elif tr.net.activations[q].elementwise:
        shifted = tr.net.activations[q].fn(tr.zs[q][rows] + delta)
        shifted -= tr.acts[q + 1][rows]
        diff = _hidden_change_diff(tr, q + 1, rows, shifted)
    else:
        diff = _replaced_column_diff(tr, q, rows, delta)
    return np.add.reduceat(diff, starts, axis=0)


# --- kernels: L+ - L- per sample row and unit --------------------------------------------

def _output_layer_diff(tr: _Trace, rows: Array, delta: Array) -> Array:
    """Output-layer weights: coordinate ``(k, i)`` moves output column ``k`` only."""
    net, Y = tr.net, tr.Y[rows]
    if tr.softmax_ce is not None:
        t = tr.softmax_ce
        # sum_k exp(z_k - c) with E_k replaced by E_k e^delta: S + E_k expm1(delta)
        S = t["S"][rows, None] + t["E"][rows] * np.expm1(delta)
        return t["ysum"][rows, None] * np.log(S[0] / S[1]) - Y * (delta[0] - delta[1])
    if net.pairing.output.elementwise:
        terms = _elementwise_terms(net, tr.zs[-1][rows] + delta, Y)
        return terms[0] - terms[1]  # the other outputs' terms are identical and cancel
    return _replaced_column_diff(tr, tr.n_layers - 1, rows, delta)


def _elementwise_terms(net: Network, z: Array, Y: Array) -> Array:
    """Each output's own term of the per-sample cost (output activation elementwise)."""
    Yb = np.broadcast_to(Y, z.shape).reshape(-1, 1)
    return _row_losses(net, z.reshape(-1, 1), Yb).reshape(z.shape)


def _hidden_change_diff(tr: _Trace, p: int, rows: Array, D: Array) -> Array:
    """Unit ``j`` of layer ``p - 1`` changed by ``D[:, :, j]``: layer ``p`` moves by ``D W_p[:, j]``."""
    W = tr.views[p][0]
    bound = float(np.abs(D).max(initial=0.0)) * float(np.abs(W).max(initial=0.0))
    if p == tr.n_layers - 1 and tr.softmax_ce is not None and bound <= _SERIES_MAX_ARG:
        return _softmax_ce_series(tr, rows, D)
    if p == tr.n_layers - 1 and tr.softmax_ce is not None and bound < _EXP_SAFE:
        return _softmax_ce_shift(tr, rows, D, W)
    if p == tr.n_layers - 1 and tr.net.pairing.output.elementwise:
        return _elementwise_shift(tr, rows, D, W)
    base = tr.zs[p][rows]

    def stack(J):  # (2, |J|, R, n_p): unit J[u]'s change spread over layer p
        return base + np.moveaxis(D[:, :, J], 2, 1)[..., None] * W[:, J].T[None, :, None, :]

    return _stacked_diff(tr, p, rows, D.shape[2], stack)


def _softmax_ce_series(tr: _Trace, rows: Array, D: Array) -> Array:
    """:func:`_softmax_ce_shift` for tiny ``t = D W_L[k, j]``, with expm1 as its polynomial.

    ``sum_k E_k e^t = S + sum_k E_k expm1(t) = S + M`` and, the polynomial being exact to
    rounding here, ``M = D A_1 + D^2 A_2 + D^3 A_3 + D^4 A_4`` with the moments of
    :func:`_softmax_tables`; then ``lse+ - lse- = log1p((M+ - M-) / (S + M-))``.  No
    derivative of the network enters: this is the cost's own ``log sum exp``, evaluated
    without rounding ``e^t`` to a number next to 1.
    """
    n = D.shape[2]
    table = tr.tables["series"][rows]
    yW, S, ysum = table[:, :n], table[:, -2:-1], table[:, -1:]
    moments = [table[:, p * n:(p + 1) * n] for p in range(1, _SERIES_DEGREE + 1)]
    M = D * moments[-1]
    for A in moments[-2::-1]:  # Horner: D (A_1 + D (A_2 + D (A_3 + D A_4)))
        M += A
        M *= D
    ratio = np.subtract(M[0], M[1])
    ratio /= S + M[1]
    diff = ysum * np.log1p(ratio)
    diff -= (D[0] - D[1]) * yW
    return diff


def _softmax_ce_shift(tr: _Trace, rows: Array, D: Array, W: Array) -> Array:
    """``ysum (lse(z + D w)+ - lse(z + D w)-) - (D+ - D-) y.w`` for every hidden unit."""
    t = tr.tables
    zc_T = t["zc_T"][:, rows]
    S = np.zeros_like(D)
    term = np.empty_like(D)
    for k in range(W.shape[0]):  # one output at a time: contiguous (2, R, n_hidden) passes
        np.multiply(D, W[k], out=term)
        term += zc_T[k][:, None]
        np.exp(term, out=term)
        S += term
    return t["ysum"][rows, None] * np.log(S[0] / S[1]) - (D[0] - D[1]) * t["yW"][rows]


def _elementwise_shift(tr: _Trace, rows: Array, D: Array, W: Array) -> Array:
    """Elementwise output: sum over outputs of each output's own cost term."""
    z, Y = tr.zs[-1][rows], tr.Y[rows]
    diff = np.zeros(D.shape[1:])
    for k in range(W.shape[0]):
        terms = _elementwise_terms(tr.net, z[:, k, None] + D * W[k], Y[:, k, None])
        diff += terms[0] - terms[1]
    return diff


def _replaced_column_diff(tr: _Trace, q: int, rows: Array, delta: Array) -> Array:
    """Column ``j`` of layer ``q``'s pre-activations moved by ``delta[:, :, j]``, rest recomputed."""
    base = tr.zs[q][rows]

    def stack(J):  # (2, |J|, R, n_q): slab u has only column J[u] moved
        Z = np.repeat(base[None, None], len(J), axis=1).repeat(2, axis=0)
        for u, j in enumerate(J):
            Z[:, u, :, j] += delta[:, :, j]
        return Z

    return _stacked_diff(tr, q, rows, delta.shape[2], stack)


def _stacked_diff(tr: _Trace, p: int, rows: Array, n_units: int, stack: Callable) -> Array:
    """The general path: recompute layers ``p..L`` for stacks of perturbed matrices.

    ``stack(J)`` gives layer ``p``'s pre-activations, shape ``(2, |J|, R, n_p)``, for the
    plus and minus perturbations of units ``J``; returns ``L+ - L-`` of shape (R, n_units).
    """
    widest = max(W.shape[0] for W, _ in tr.views[p:])
    chunk = max(1, _STACK_ELEMENTS // (2 * len(rows) * widest))
    diff = np.empty((len(rows), n_units))
    for start in range(0, n_units, chunk):
        J = np.arange(start, min(start + chunk, n_units))
        Z = stack(J)
        losses = _tail_losses(tr, p, Z.reshape(-1, Z.shape[-1]), np.tile(rows, 2 * len(J)))
        losses = losses.reshape(2, len(J), len(rows))
        diff[:, J] = (losses[0] - losses[1]).T
    return diff


def _tail_losses(tr: _Trace, p: int, Z: Array, rows: Array) -> Array:
    """Per-row cost when layer ``p``'s pre-activations are ``Z`` (N, n_p) on samples ``rows``."""
    net = tr.net
    if p < tr.n_layers - 1:  # the rest of the network's own forward pass, from layer p + 1;
        # the cost needs only z_L: an output softmax on the stack would add a third (bench)
        Z = net.forward_pass(net.activations[p].fn(Z), tr.views[p + 1:],
                             activations=net.activations[p + 1:], last_activation=False)[0][-1]
    return per_sample_loss(net.pairing, Z, tr.Y[rows])


# --- assembling the gradient -------------------------------------------------------------

def _penalty_quotient(tr: _Trace, q: int) -> Array:
    """The penalty's part of ``J+ - J-``: ``l2/2 scale ((w + h+)^2 - (w - h-)^2)``, 0 for biases."""
    W = tr.views[q][0]
    out = np.zeros((W.shape[0], W.shape[1] + 1))
    if tr.net.l2:
        h_plus, h_minus = (h[:, :-1] for h in tr.steps[q])
        # (w + h+)^2 - (w - h-)^2 factored: no cancellation between two squares
        out[:, :-1] = 0.5 * tr.net.l2 * tr.scale * (h_plus + h_minus) * (2 * W + h_plus - h_minus)
    return out


def _requested_columns(tr: _Trace, indices) -> dict[int, list[int]]:
    """Input columns (bias = ``n_in``) per layer holding the requested flat indices."""
    blocks = tr.net.param_blocks()
    wanted = None if indices is None else np.unique(np.asarray(indices, dtype=np.int64))
    layers = {}
    for q, (W, _) in enumerate(tr.views):
        n_out, n_in = W.shape
        if wanted is None:
            layers[q] = list(range(n_in + 1))
            continue
        Wb, bb = blocks[f"W{q + 1}"], blocks[f"b{q + 1}"]
        inside = wanted[(wanted >= Wb.start) & (wanted < Wb.stop)]
        cols = set(((inside - Wb.start) % n_in).tolist())
        if np.any((wanted >= bb.start) & (wanted < bb.stop)):
            cols.add(n_in)
        layers[q] = sorted(cols)
    return layers


def _scatter(tr: _Trace, sums: list[Array]) -> Array:
    """Flat gradient from per-layer ``(n_out, n_in + 1)`` sums of ``L+ - L-``."""
    blocks = tr.net.param_blocks()
    out = np.empty(tr.net.n_params)
    for q, total in enumerate(sums):
        quotient = (total * tr.scale + _penalty_quotient(tr, q)) / (2 * tr.eps[q])
        out[blocks[f"W{q + 1}"].slice] = quotient[:, :-1].ravel()
        out[blocks[f"b{q + 1}"].slice] = quotient[:, -1]
    return out


def usable_cpus() -> int:
    """The CPUs this process may run on (a container's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _structured(tr: _Trace, indices=None, threads: int | None = None) -> Array:
    layers = _requested_columns(tr, indices)
    tasks = _plan(tr, layers)
    sums = [np.zeros((W.shape[0], W.shape[1] + 1)) for W, _ in tr.views]
    threads = max(1, min(threads or usable_cpus(), len(tasks) or 1))
    with ThreadPoolExecutor(threads) as pool:
        for task, block in zip(tasks, pool.map(lambda t: _run_task(tr, t), tasks)):
            sums[task.layer][:, list(task.cols)] = block.T
    grad = _scatter(tr, sums)
    if indices is not None:
        keep = np.zeros(grad.size, dtype=bool)
        keep[np.asarray(indices, dtype=np.int64)] = True
        grad[~keep] = 0.0  # as the plain loop: coordinates not asked for stay 0
    return grad


def structured_gradient(objective: Objective, theta, eps=1e-6, indices=None,
                        threads: int | None = None) -> Array:
    """Central differences of a Network objective, re-evaluating only what each weight moves.

    Equals :func:`gradcheck.check.numerical_gradient` (same rounded steps, same cost
    function) up to round-off, at a fraction of the cost.

    Parameters
    ----------
    objective : Objective
        ``net.objective(X, Y)``.
    theta : array_like of shape (n_params,)
        Evaluated in float64.
    eps : float, or ndarray of shape (n_params,)
        Step of the central differences, or one per coordinate.
    indices : array of int, optional
        Coordinates to evaluate (all by default); the others are left at 0.
    threads : int, optional
        Worker threads (default: the CPUs this process may use).

    Returns
    -------
    ndarray of shape (n_params,), float64
    """
    if not supports_structure(objective):
        raise ConfigError(f"structured_gradient needs a Network objective (net.objective(X, Y)), "
                          f"got {type(objective).__name__}; use check.numerical_gradient.")
    theta = np.array(theta, dtype=np.float64)
    return _structured(_trace(objective, theta, eps), indices, threads)


# --- the plain loop over processes ---------------------------------------------------------

def _limit_blas_threads() -> None:
    # each worker is one process on one core: BLAS threads on top would oversubscribe
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def _plain_chunk(f: Callable, theta: Array, eps: float, indices: Array) -> Array:
    return numerical_gradient(f, theta, eps, indices)[indices]


def parallel_gradient(f: Callable, theta, eps: float = 1e-6, workers: int = 2,
                      indices=None) -> Array:
    """The plain central-difference loop with its coordinates split over ``workers`` processes.

    Gives exactly the values of :func:`gradcheck.check.numerical_gradient`; ``f`` must be
    picklable (a module-level function or a callable object, not a lambda or closure).

    Parameters
    ----------
    f : callable, ``f(theta) -> float``
    theta : array_like of shape (n_params,)
    workers : int
        Number of processes (>= 1).
    indices : array of int, optional
        Coordinates to evaluate (all by default); the others are left at 0.
    """
    if not (isinstance(workers, (int, np.integer)) and workers >= 1):
        raise ConfigError(f"workers must be a whole number >= 1, got {workers!r}.")
    theta = np.array(theta, dtype=np.float64)
    if workers == 1:
        return numerical_gradient(f, theta, eps, indices)
    try:
        pickle.dumps(f)
    except Exception as exc:  # pickling can fail with any error type the object raises
        raise ConfigError(f"workers={workers} sends the cost function to other processes, but it "
                          f"cannot be pickled ({type(exc).__name__}: {exc}); define it at module "
                          f"level (not a lambda or a nested function), or use workers=None.") from exc
    wanted = np.arange(theta.size) if indices is None else np.asarray(indices, dtype=np.int64)
    out = np.zeros_like(theta)
    chunks = [c for c in np.array_split(wanted, 4 * workers) if c.size]
    with ProcessPoolExecutor(workers, initializer=_limit_blas_threads) as pool:
        for chunk, values in zip(chunks, pool.map(_plain_chunk, *zip(*[(f, theta, eps, c) for c in chunks]))):
            out[chunk] = values
    return out


def numerical_evaluator(f: Callable, theta: Array, eps: float = 1e-6, workers: int | None = None,
                        cost: float | None = None) -> tuple[Array, str]:
    """The numerical gradient by the fastest evaluator that fits ``f``, and its description.

    A Network objective gets :func:`structured_gradient` (on ``workers`` threads) once its
    own forward pass reproduces ``f(theta)`` — a subclass or patch that changes the cost
    gets the plain loop.  Any other function gets the plain loop, over ``workers``
    processes if ``workers > 1``.  ``cost`` is ``f(theta)`` when the caller has it.
    """
    if workers is not None and not (isinstance(workers, (int, np.integer)) and workers >= 1):
        raise ConfigError(f"workers must be a whole number >= 1, got {workers!r}.")
    theta = np.asarray(theta, dtype=np.float64)
    if supports_structure(f):
        tr = _trace(f, theta, eps)
        value = call_cost(f, theta) if cost is None else cost
        if abs(tr.cost - value) <= 1e-12 * (1.0 + abs(value)):
            return _structured(tr, threads=workers), STRUCTURED
    if workers is not None and workers > 1:
        return parallel_gradient(f, theta, eps, workers), f"{PLAIN}, {workers} processes"
    return numerical_gradient(f, theta, eps), PLAIN
