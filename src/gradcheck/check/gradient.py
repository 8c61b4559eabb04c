"""Check a gradient against central differences: :func:`check_gradient` for any
cost, :func:`check_network` for a :class:`~gradcheck.nn.network.Network`."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck.check.blocks_infer import Layout
from gradcheck.check.detectors import diagnose as run_doctor
from gradcheck.check.fast import numerical_evaluator
from gradcheck.check.mutation import FirstCalls, Spy, Watch
from gradcheck.check.numerical import TOLERANCE, _flat_theta, call_cost, call_gradient, check_eps
from gradcheck.check.report import GradientReport
from gradcheck.errors import UserCodeError
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
                   n_features: int | None = None) -> GradientReport:
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
        :class:`~gradcheck.check.blocks_infer.Layout` (:func:`~gradcheck.check.blocks_infer.infer_blocks`),
        or None
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
        (:func:`gradcheck.check.detectors.diagnose`); a passing check gets none.
    n_samples : int, optional
        The number of samples behind the cost, so a scale factor k ≈ m can be named.
    watch : dict of name -> ndarray, optional
        Arrays the functions could modify in place (the data X and y they close over): copied
        before the first call, compared by the ``argument-modified`` detector and put back.
    n_features : int, optional
        Inputs per sample, for the ``--blocks`` a finding may suggest.
    """
    given = theta  # its dtype is evidence for the doctor (float32 theta)
    theta = _flat_theta(theta)
    check_eps(eps)
    layout = blocks if isinstance(blocks, Layout) else None
    block_list = make_blocks(layout.blocks if layout else blocks, theta.size, order)
    watched = Watch(dict(watch)) if watch is not None else None
    cost, analytic, first = first_calls(f, grad, theta, watched)
    numerical, evaluator = _numerical(f, theta, eps, workers, cost)
    report = GradientReport(numerical, analytic, block_list, cost=cost, eps=eps, evaluator=evaluator,
                            tolerance=tol, layout=layout.source if layout else None,
                            order_certain=layout.certain if layout else frozenset())
    if diagnose:
        report.diagnoses = run_doctor(report, f=f, grad=grad, theta=given, n_samples=n_samples,
                                      watch=watched, n_features=n_features, first=first)
    elif watched is not None:
        watched.restore()
    return report


def check_network(net, X, Y, *, theta=None, **kwargs) -> GradientReport:
    """Check a :class:`~gradcheck.nn.network.Network`'s own backprop on data ``X, Y``."""
    objective = net.objective(X, Y)
    theta = net.theta if theta is None else theta
    kwargs.setdefault("blocks", net.param_blocks())
    kwargs.setdefault("n_samples", len(objective.X))
    return check_gradient(objective, objective.grad, theta, **kwargs)
