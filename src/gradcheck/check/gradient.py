"""Check a gradient against central differences: :func:`check_gradient` for any
cost, :func:`check_network` for a :class:`~gradcheck.nn.network.Network`."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck.check.doctor.blocks_infer import Layout
from gradcheck.check.doctor.detectors import diagnose as run_doctor
from gradcheck.check.doctor.mutation import FirstCalls, Spy, Watch
from gradcheck.check.fast import numerical_evaluator
from gradcheck.check.numerical import TOLERANCE, call_cost, call_gradient, check_eps, flat_theta
from gradcheck.check.report import GradientReport
from gradcheck.errors import ConfigError, UserCodeError
from gradcheck.nn.blocks import make_blocks

Array = np.ndarray

def _numerical(f: Callable, theta: Array, eps: float, workers, cost: float) -> tuple[Array, str]:
    """The numerical gradient and how it was computed (see :mod:`gradcheck.check.fast`)."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return numerical_evaluator(f, theta, eps, workers, cost=cost)
    except BrokenProcessPool as exc:  # a worker killed (out of memory, a signal, os._exit in f)
        raise UserCodeError("a worker process died while evaluating the cost function (killed, "
                            "out of memory, or os._exit in the cost); run with workers=None to see the "
                            "error in this process.", option="workers") from exc


def first_calls(f: Callable, grad: Callable | None, theta: Array,
                watch: Watch | None = None) -> tuple[float, Array, FirstCalls]:
    """The cost and the analytic gradient at ``theta``, each from a call on its own copy, and
    what those calls changed in place (``theta``'s copy, the watched arrays) and returned."""
    first = FirstCalls(theta.copy(), watch)
    cost_spy, grad_spy = Spy(f), Spy(grad if grad is not None else f)
    cost = call_cost(cost_spy, theta)
    first.record("cost", cost_spy, 0)
    analytic = call_gradient(grad_spy if grad is not None else None, grad_spy, theta)
    first.record("gradient", grad_spy, None if grad is not None else 1)
    return cost, analytic, first


def check_gradient(f: Callable, grad: Callable | None, theta, *, eps: float = 1e-6, blocks=None,
                   order: str = "C", tol: float = TOLERANCE, workers: int | None = None,
                   diagnose: bool = True, n_samples: int | None = None, watch=None,
                   n_features: int | None = None, steps=None) -> GradientReport:
    """Check ``grad`` against central differences of ``f`` at ``theta``, in float64.

    Parameters
    ----------
    f : callable
        ``f(theta) -> J``, or ``f(theta) -> (J, grad)`` when ``grad`` is None.
    grad : callable or None
        ``grad(theta) -> array`` of theta's size.
    theta : array_like of shape (n_params,)
    eps : float
        Step of the central differences.
    blocks : dict of name -> shape, dict of name -> Block (``net.param_blocks()``), a
        :class:`~gradcheck.check.doctor.blocks_infer.Layout`
        (:func:`~gradcheck.check.doctor.blocks_infer.infer_blocks`), or None
    order : {"C", "F"}
        How blocks given by shape are unrolled ("F" for Octave's ``Theta(:)``).
    tol : float
        Largest relative error that passes.
    workers : int, optional
        A Network objective (``net.objective(X, Y)``) is differenced layer by layer by the
        structure-aware evaluator, on ``workers`` threads; any other ``f`` by the plain loop,
        over ``workers`` processes when > 1 (``f`` must then be picklable).
        ``report.evaluator`` says which ran.
    diagnose : bool
        Attach the doctor's findings to ``report.diagnoses`` when the check fails
        (:func:`gradcheck.check.doctor.detectors.diagnose`); a passing check gets none.
    n_samples : int, optional
        The number of samples behind the cost, so a scale factor k ≈ m can be named.
    watch : dict of name -> ndarray, optional
        Arrays the functions could modify in place (the data X and y they close over): copied
        before the first call, compared by the ``argument-modified`` detector and put back.
    n_features : int, optional
        Inputs per sample, for the ``--blocks`` a finding may suggest.
    steps : ndarray of shape (n_params,), optional
        One step per coordinate instead of ``eps`` everywhere (``report.steps``).
    """
    given = theta  # its dtype is evidence for the doctor (float32 theta)
    theta = flat_theta(theta)
    check_eps(eps)
    steps = _check_steps(steps, theta.size)
    layout = blocks if isinstance(blocks, Layout) else None
    block_list = make_blocks(layout.blocks if layout else blocks, theta.size, order)
    watched = Watch(dict(watch)) if watch is not None else None
    cost, analytic, first = first_calls(f, grad, theta, watched)
    numerical, evaluator = _numerical(f, theta, eps if steps is None else steps, workers, cost)
    report = GradientReport(numerical, analytic, block_list, cost=cost, eps=eps, evaluator=evaluator,
                            tolerance=tol, layout=layout.source if layout else None,
                            order_certain=layout.certain if layout else frozenset(), steps=steps)
    if diagnose:
        report.diagnoses = run_doctor(report, f=f, grad=grad, theta=given, n_samples=n_samples,
                                      watch=watched, n_features=n_features, first=first)
    elif watched is not None:
        watched.restore()
    return report


def check_network(net, X, Y, *, theta=None, **kwargs) -> GradientReport:
    """Check a :class:`~gradcheck.nn.network.Network`'s own backprop on data ``X, Y``.

    A step ``eps`` on a weight moves its unit's pre-activation by ``eps * x``: with inputs
    of 1e4 that is 1e-2, and the truncation error of the difference (about ``(eps x)^2``)
    fails a correct gradient.  So the weights of an input column whose values reach
    ``s > 100`` (:data:`LARGE_INPUT`) get the step ``eps * s^(-2/3)``, which balances
    truncation against the round-off of pre-activations of size ``s`` (``report.steps``;
    ``report.evaluator`` says so).  Smaller inputs keep ``eps``: their truncation error,
    below ``(100 eps)^2``, is far inside the tolerance.
    """
    objective = net.objective(X, Y)
    theta = net.theta if theta is None else theta
    kwargs.setdefault("blocks", net.param_blocks())
    kwargs.setdefault("n_samples", len(objective.X))
    if kwargs.get("steps") is None:
        kwargs["steps"] = input_scaled_steps(net, objective.X, theta, kwargs.get("eps", 1e-6))
    report = check_gradient(objective, objective.grad, theta, **kwargs)
    if report.steps is not None:
        report.evaluator += (f"; steps down to {report.steps.min():.1e} for weights on inputs up to "
                             f"{input_magnitude(net, objective.X, theta):.1e}")
    return report


#: Inputs beyond this magnitude get smaller steps in :func:`check_network`.
LARGE_INPUT = 100.0


def _layer_inputs(net, X: Array, theta) -> list[Array]:
    """Each layer's input ``a_{l-1}`` at ``theta`` (float64), X first."""
    views = net.layer_views(np.asarray(theta, dtype=np.float64))
    with np.errstate(all="ignore"):  # a diverged theta: its cost is what the check reports
        _, acts = net.forward_pass(X, views, last_activation=False)
    return acts[:len(views)]


def input_magnitude(net, X: Array, theta) -> float:
    """The largest ``|a_{l-1}|`` any layer sees."""
    return max(float(np.max(np.abs(a), initial=0.0)) for a in _layer_inputs(net, X, theta))


def input_scaled_steps(net, X: Array, theta, eps: float) -> Array | None:
    """Per-coordinate steps: ``eps * s_j^(-2/3)`` for the weights on input column ``j`` of a
    layer whose values reach ``s_j > LARGE_INPUT``, ``eps`` elsewhere; None when no input
    is that large (the plain ``eps`` is right)."""
    steps = np.full(net.n_params, float(eps))
    blocks = net.param_blocks()
    with np.errstate(over="ignore", invalid="ignore"):  # checked by the caller's cost anyway
        for l, a in enumerate(_layer_inputs(net, X, theta), start=1):
            s = np.max(np.abs(a), axis=0, initial=0.0)
            factor = np.where(s > LARGE_INPUT, np.maximum(s, 1.0) ** (-2 / 3), 1.0)
            steps[blocks[f"W{l}"].slice] = np.broadcast_to(eps * factor, blocks[f"W{l}"].shape).ravel()
    scaled = np.isfinite(steps) & (steps > 0)
    if not scaled.all() or np.all(steps == eps):
        return None
    return steps


def _check_steps(steps, size: int) -> Array | None:
    if steps is None:
        return None
    steps = np.asarray(steps, dtype=np.float64)
    if steps.shape != (size,) or not np.all((steps > 0) & (steps < 1)):
        raise ConfigError(f"steps must hold one step in (0, 1) per parameter ({size}), got an "
                          f"array of shape {steps.shape}.")
    return steps
