"""Optimizers for the flat parameter vector: schedules, first-order steps, scipy methods.

Everything here works on the network's ``theta`` of shape ``(n_params,)`` and changes it
in place, so the layer views into ``theta`` see every update.

* Learning-rate schedules (:class:`Constant`, :class:`StepDecay`, :class:`Cosine`) are
  small frozen records called as ``schedule(step) -> lr``, where ``step`` counts the
  optimizer updates done so far, from 0.
* :class:`SGD`, :class:`Momentum` (classical or Nesterov, as in PyTorch's SGD with
  dampening 0) and :class:`Adam` (bias-corrected as in ``torch.optim.Adam``) allocate
  their state vectors and one scratch buffer on the first step, with theta's shape and
  dtype, then reuse them: a step is a handful of numpy ufunc calls with ``out=``, it
  allocates no array and never upcasts a float32 ``theta``.
* :func:`minimize` runs scipy's full-batch ``CG`` or ``L-BFGS-B`` on ``fun_and_grad``
  and writes the result back into ``theta``.
"""
from __future__ import annotations

import abc
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.optimize

from gradcheck.errors import ConfigError, nearest_name

__all__ = [
    "Constant",
    "StepDecay",
    "Cosine",
    "SCHEDULES",
    "FULL_BATCH_METHODS",
    "get_schedule",
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "Adam",
    "OPTIMIZERS",
    "get_optimizer",
    "minimize",
]

Array = np.ndarray


# --- argument checks -------------------------------------------------------------------

def is_real(value) -> bool:
    """A real number that is not a bool (``True`` is an int to Python, not a rate)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _show(value) -> str:
    # str() so np.float64(1.0) reads "1.0"; repr() so the string '0.1' shows its quotes
    return str(value) if is_real(value) else repr(value)


def _check(owner: str, name: str, value, ok: Callable[[float], bool], expected: str,
           hint: str) -> float:
    """Return ``float(value)`` if ``ok`` accepts it, else raise a ConfigError naming it."""
    if not (is_real(value) and ok(float(value))):
        raise ConfigError(f"{owner} {name} must be {expected}, got {_show(value)}; {hint}.")
    return float(value)


def _positive(owner: str, name: str, value, hint: str) -> float:
    return _check(owner, name, value, lambda x: 0 < x < math.inf, "a finite number > 0", hint)


def _fraction(owner: str, name: str, value, hint: str) -> float:
    return _check(owner, name, value, lambda x: 0 <= x < 1, "in [0, 1)", hint)


def _count(owner: str, name: str, value, minimum: int, hint: str) -> int:
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and int(value) >= minimum):
        raise ConfigError(
            f"{owner} {name} must be an integer >= {minimum}, got {_show(value)}; {hint}."
        )
    return int(value)


def _construct(kind: str, cls: type, kw: dict):
    """Call ``cls(**kw)``, turning a wrong keyword into a ConfigError that lists the right ones."""
    params = inspect.signature(cls).parameters
    known = ", ".join(params)
    for key in kw:
        if key not in params:
            raise ConfigError(
                f"{kind} '{cls.__name__}' has no argument {key!r}{nearest_name(key, params)} "
                f"(its arguments: {known})."
            )
    missing = [p.name for p in params.values() if p.default is p.empty and p.name not in kw]
    if missing:
        raise ConfigError(
            f"{kind} '{cls.__name__}' needs the argument {missing[0]!r}; pass it as a keyword "
            f"(its arguments: {known})."
        )
    return cls(**kw)


def _lookup(kind: str, name, registry: dict, aliases: dict):
    """Return ``registry[name]`` for a case-insensitive name or alias, else a ConfigError."""
    if not isinstance(name, str):
        raise ConfigError(f"{kind} must be a name such as {next(iter(registry))!r}, got {name!r}.")
    key = name.strip().lower()
    key = aliases.get(key, key)
    if key not in registry:
        raise ConfigError(
            f"unknown {kind} {name!r}{nearest_name(key, [*registry, *aliases])} "
            f"(known: {', '.join(registry)})."
        )
    return registry[key]


# --- learning-rate schedules -----------------------------------------------------------
# Frozen dataclasses check their fields in __post_init__ and store them as floats through
# object.__setattr__, so equal schedules compare equal whatever number types built them.

@dataclass(frozen=True)
class Constant:
    """Constant learning rate: ``lr(step) = lr``."""

    lr: float

    def __post_init__(self):
        object.__setattr__(self, "lr", _positive("Constant", "lr", self.lr,
                                                 "pass a learning rate such as 0.1"))

    def __call__(self, step: int) -> float:
        return self.lr


@dataclass(frozen=True)
class StepDecay:
    """Multiply the rate by ``gamma`` every ``step_size`` updates (PyTorch's StepLR).

    ``lr(step) = lr * gamma ** (step // step_size)``.
    """

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "lr", _positive("StepDecay", "lr", self.lr,
                                                 "pass a learning rate such as 0.1"))
        _count("StepDecay", "step_size", self.step_size, 1,
               "pass the number of updates between decays, such as 1000")
        object.__setattr__(self, "gamma", _check(
            "StepDecay", "gamma", self.gamma, lambda x: 0 < x <= 1, "in (0, 1]",
            "pass a decay factor such as 0.1"))

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)


@dataclass(frozen=True)
class Cosine:
    """Optional linear warmup, then cosine decay from ``lr`` to ``min_lr`` (SGDR without restarts).

    ``lr(step) = lr (step + 1) / warmup`` for ``step < warmup``, then
    ``min_lr + (lr - min_lr) (1 + cos(pi p)) / 2`` with
    ``p = min(1, (step - warmup) / (total_steps - warmup))``: ``lr`` at the end of the
    warmup, ``min_lr`` from ``step = total_steps`` on.
    """

    lr: float
    total_steps: int
    min_lr: float = 0.0
    warmup: int = 0

    def __post_init__(self):
        lr = _positive("Cosine", "lr", self.lr, "pass a learning rate such as 0.1")
        _count("Cosine", "total_steps", self.total_steps, 1,
               "pass the number of updates the decay spans")
        _count("Cosine", "warmup", self.warmup, 0, "pass 0 for no warmup")
        if self.warmup >= self.total_steps:
            raise ConfigError(
                f"Cosine warmup must be < total_steps, got warmup={self.warmup} and "
                f"total_steps={self.total_steps}; shorten the warmup or lengthen the run."
            )
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "min_lr", _check(
            "Cosine", "min_lr", self.min_lr, lambda x: 0 <= x <= lr, f"in [0, lr={lr}]",
            "pass a floor below the starting rate, or 0"))

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            # ramp from lr / warmup, not from 0: an update at rate 0 would be wasted work
            return self.lr * (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / (self.total_steps - self.warmup))
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


SCHEDULES: dict[str, type] = {"constant": Constant, "step": StepDecay, "cosine": Cosine}
_SCHEDULE_ALIASES = {"step_decay": "step", "steplr": "step", "cos": "cosine"}


def get_schedule(name: str, lr: float, **kw):
    """Build a schedule by name: ``get_schedule("cosine", 0.1, total_steps=1000)``.

    Names are case-insensitive; unknown names and arguments raise ConfigError.
    """
    cls = _lookup("learning-rate schedule", name, SCHEDULES, _SCHEDULE_ALIASES)
    return _construct("schedule", cls, {"lr": lr, **kw})


# --- first-order optimizers ------------------------------------------------------------

def _describe(a) -> str:
    if isinstance(a, np.ndarray):
        return f"of shape {a.shape} and dtype {a.dtype}"
    return f"of type {type(a).__name__}"


def _check_step_args(owner: str, theta, grad) -> None:
    """Refuse a theta that cannot be updated in place, or a grad that does not match it."""
    if not (isinstance(theta, np.ndarray) and theta.dtype.kind == "f"
            and theta.flags.writeable):
        raise ConfigError(
            f"{owner}.step needs theta as a writeable floating-point numpy array, got one "
            f"{_describe(theta)}; pass the network's flat theta."
        )
    # no silent casting: numpy would upcast a float32 theta's update through float64 temporaries
    if not (isinstance(grad, np.ndarray) and grad.shape == theta.shape
            and grad.dtype == theta.dtype):
        raise ConfigError(
            f"{owner}.step got a grad {_describe(grad)} for a theta {_describe(theta)}; pass "
            f"the gradient loss_and_grad returns for this theta, with its shape and dtype."
        )


def _scalar(value):
    # np.load gives numbers back as 0-d arrays; state_dict() gives plain Python numbers
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    return value


class Optimizer(abc.ABC):
    """Base class: hyperparameter checks, lazy state, the update counter, checkpoints.

    A subclass names its state vectors in ``_slots``, the hyperparameters those vectors
    depend on in ``_checked`` (a checkpoint must agree on them), and implements
    ``_update(theta, grad, lr)`` with ``out=`` ufuncs on ``self._state`` and ``self._scratch``.
    """

    _slots: ClassVar[tuple[str, ...]] = ()
    _checked: ClassVar[tuple[str, ...]] = ()

    def __init__(self, lr: float, schedule):
        owner = type(self).__name__
        default_lr = inspect.signature(type(self)).parameters["lr"].default
        self._lr = _positive(owner, "lr", lr, f"pass a learning rate such as {default_lr}")
        if schedule is not None and not callable(schedule):
            raise ConfigError(
                f"{owner} schedule must be None or a schedule such as Cosine(lr, total_steps), "
                f"got {schedule!r}; build one with get_schedule(name, lr, ...)."
            )
        # a schedule sets the rate; an lr given beside it that disagrees is ambiguous
        schedule_lr = getattr(schedule, "lr", None)
        if schedule_lr is not None and self._lr not in (default_lr, schedule_lr):
            raise ConfigError(
                f"{owner} got lr={_show(lr)} and a schedule starting from lr={schedule_lr}; "
                f"give the learning rate once, in the schedule."
            )
        self.schedule = schedule
        self._t = 0
        self._state: dict[str, Array] = {}
        self._scratch: Array | None = None

    @property
    def lr(self) -> float:
        """Learning rate of the next update: ``schedule(t)``, or the constant ``lr``."""
        return self._lr if self.schedule is None else float(self.schedule(self._t))

    @property
    def t(self) -> int:
        """Number of updates done."""
        return self._t

    def step(self, theta: Array, grad: Array) -> None:
        """Update ``theta`` in place from ``grad``; both of shape ``(n_params,)``, one dtype."""
        _check_step_args(type(self).__name__, theta, grad)
        scratch = self._scratch
        if scratch is None or scratch.shape != theta.shape or scratch.dtype != theta.dtype:
            self._allocate(theta)
        self._update(theta, grad, self.lr)
        self._t += 1

    @abc.abstractmethod
    def _update(self, theta: Array, grad: Array, lr: float) -> None:
        """Apply one update to ``theta`` in place with the learning rate ``lr``."""

    def _allocate(self, theta: Array) -> None:
        """Create missing state vectors and the scratch buffer like ``theta``; check loaded ones."""
        for name in self._slots:
            state = self._state.get(name)
            if state is None:
                self._state[name] = np.zeros(theta.shape, theta.dtype)
            elif state.shape != theta.shape or state.dtype != theta.dtype:
                raise ConfigError(
                    f"{type(self).__name__} state {name!r} is {_describe(state)} but theta is "
                    f"{_describe(theta)}; use a fresh optimizer for another network, or load a "
                    f"state_dict saved while training this one."
                )
        self._scratch = np.empty(theta.shape, theta.dtype)

    def state_dict(self) -> dict:
        """Return ``{"t": int, <checked hyperparameters>: float, <state vectors>: ndarray}``.

        The arrays are copies, and every value survives ``np.savez`` and
        ``np.load(allow_pickle=False)``; the state vectors appear after the first step.
        """
        state: dict[str, object] = {"t": self._t}
        state.update((name, getattr(self, name)) for name in self._checked)
        state.update((name, vec.copy()) for name, vec in self._state.items())
        return state

    def load_state_dict(self, state: Mapping) -> None:
        """Restore a :meth:`state_dict` (a dict or an ``np.load`` file) to resume bit for bit."""
        owner = type(self).__name__
        keys = set(state.keys()) if isinstance(state, Mapping) else set()
        allowed = {"t", *self._checked, *self._slots}
        t = _scalar(state["t"]) if "t" in keys else None
        required = allowed if isinstance(t, int) and t > 0 else {"t", *self._checked}
        if not isinstance(state, Mapping) or keys - allowed or required - keys:
            raise ConfigError(
                f"{owner} cannot load a state_dict with keys {sorted(keys)}; it needs "
                f"{sorted(required)}, as {owner}.state_dict() returns them."
            )
        t = _count(owner, "state_dict 't'", t, 0, "pass a state_dict saved by this optimizer")
        for name in self._checked:
            saved, mine = _scalar(state[name]), getattr(self, name)
            if saved != mine:
                raise ConfigError(
                    f"{owner} state_dict was saved with {name}={_show(saved)} but this optimizer "
                    f"has {name}={mine}; build it with {name}={_show(saved)} to resume."
                )
        # copies: later in-place updates must not write into the caller's checkpoint
        self._state = {name: np.array(state[name]) for name in self._slots if name in keys}
        self._t, self._scratch = t, None  # the next step checks the state against theta

    def __repr__(self) -> str:
        names = inspect.signature(type(self)).parameters
        args = ", ".join(f"{n}={self._lr if n == 'lr' else getattr(self, n)!r}" for n in names)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent: ``theta <- theta - lr grad``.

    Parameters
    ----------
    lr : float, default 0.1
        Step size (> 0), used when ``schedule`` is None.
    schedule : callable or None
        ``schedule(t) -> lr``, e.g. :class:`Cosine`; it then sets the rate.
    """

    def __init__(self, lr: float = 0.1, schedule=None):
        super().__init__(lr, schedule)

    def _update(self, theta, grad, lr):
        np.multiply(grad, lr, out=self._scratch)
        np.subtract(theta, self._scratch, out=theta)


class Momentum(Optimizer):
    """Momentum as PyTorch's ``SGD(momentum=beta, dampening=0)``, classical or Nesterov.

    ``v <- beta v + grad``, then ``theta <- theta - lr v`` (classical) or
    ``theta <- theta - lr (grad + beta v)`` (Nesterov); ``v`` starts at 0, so ``v_1 = grad``.

    Parameters
    ----------
    lr : float, default 0.01
        Step size (> 0), used when ``schedule`` is None.
    beta : float, default 0.9
        Momentum coefficient in [0, 1).
    nesterov : bool, default False
        Use Nesterov's look-ahead form.
    schedule : callable or None
        ``schedule(t) -> lr``; it then sets the rate.
    """

    _slots = ("velocity",)
    _checked = ("beta",)

    def __init__(self, lr: float = 0.01, beta: float = 0.9, nesterov: bool = False,
                 schedule=None):
        super().__init__(lr, schedule)
        owner = type(self).__name__
        self.beta = _fraction(owner, "beta", beta, "use a momentum such as 0.9")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ConfigError(f"{owner} nesterov must be True or False, got {nesterov!r}; pass a bool.")
        self.nesterov = bool(nesterov)

    def _update(self, theta, grad, lr):
        velocity, buf = self._state["velocity"], self._scratch
        np.multiply(velocity, self.beta, out=velocity)
        np.add(velocity, grad, out=velocity)
        if self.nesterov:
            np.multiply(velocity, self.beta, out=buf)
            np.add(buf, grad, out=buf)
            np.multiply(buf, lr, out=buf)
        else:
            np.multiply(velocity, lr, out=buf)
        np.subtract(theta, buf, out=theta)


class Nesterov(Momentum):
    """``Momentum(..., nesterov=True)``: ``v <- beta v + grad; theta <- theta - lr (grad + beta v)``."""

    def __init__(self, lr: float = 0.01, beta: float = 0.9, schedule=None):
        super().__init__(lr, beta, nesterov=True, schedule=schedule)


class Adam(Optimizer):
    """Adam, bias-corrected as ``torch.optim.Adam`` (eps added after correcting ``v``).

    ``m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    theta <- theta - lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)``, t counted from 1.

    Parameters
    ----------
    lr : float, default 1e-3
        Step size (> 0), used when ``schedule`` is None.
    beta1, beta2 : float, default 0.9, 0.999
        Decay rates of the first and second moment estimates, in [0, 1).
    eps : float, default 1e-8
        Added to the denominator (> 0).
    schedule : callable or None
        ``schedule(t) -> lr``; it then sets the rate.
    """

    _slots = ("m", "v")
    _checked = ("beta1", "beta2")

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, schedule=None):
        super().__init__(lr, schedule)
        owner = type(self).__name__
        self.beta1 = _fraction(owner, "beta1", beta1, "use a decay rate such as 0.9")
        self.beta2 = _fraction(owner, "beta2", beta2, "use a decay rate such as 0.999")
        self.eps = _positive(owner, "eps", eps, "use a small number such as 1e-8")

    def _update(self, theta, grad, lr):
        m, v, buf = self._state["m"], self._state["v"], self._scratch
        t = self._t + 1
        # m += (1-b1)(g - m) and v += ((1-b2) g) g: the forms of torch's lerp_ and addcmul_
        np.subtract(grad, m, out=buf)
        np.multiply(buf, 1.0 - self.beta1, out=buf)
        np.add(m, buf, out=m)
        np.multiply(v, self.beta2, out=v)
        np.multiply(grad, 1.0 - self.beta2, out=buf)
        np.multiply(buf, grad, out=buf)
        np.add(v, buf, out=v)
        # the corrections are Python floats, so a float32 theta stays in float32 loops
        np.sqrt(v, out=buf)
        np.divide(buf, math.sqrt(1.0 - self.beta2 ** t), out=buf)
        np.add(buf, self.eps, out=buf)
        np.divide(m, buf, out=buf)
        np.multiply(buf, lr / (1.0 - self.beta1 ** t), out=buf)
        np.subtract(theta, buf, out=theta)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adam": Adam,
}


def get_optimizer(name: str | Optimizer, **kw) -> Optimizer:
    """Build an optimizer by name: ``get_optimizer("adam", lr=1e-3)``; an instance passes through.

    Names are case-insensitive; unknown names and arguments raise ConfigError.
    """
    if isinstance(name, Optimizer):
        if kw:
            raise ConfigError(
                f"get_optimizer got an optimizer instance and arguments {sorted(kw)}; "
                f"pass a name with the arguments, or the instance alone."
            )
        return name
    cls = _lookup("optimizer", name, OPTIMIZERS, {})
    return _construct("optimizer", cls, kw)


# --- full-batch scipy methods ----------------------------------------------------------

# full-batch methods by their names here -> scipy.optimize.minimize method
FULL_BATCH_METHODS = {"cg": "CG", "lbfgs": "L-BFGS-B", "l-bfgs-b": "L-BFGS-B"}


def _float64_objective(fun_and_grad, theta: Array):
    """Wrap ``fun_and_grad`` for scipy: x arrives in float64 and (J, grad) leave in float64."""
    dtype, shape = theta.dtype, theta.shape

    def fun(x):
        # a copy in theta's dtype: the caller's function sees the dtype it was written for,
        # and cannot write into scipy's iterate
        J, grad = fun_and_grad(np.array(x, dtype=dtype))
        # a copy again: a network may reuse its gradient buffer, and scipy keeps the last grad
        grad = np.array(grad, dtype=np.float64)
        if grad.shape != shape:
            raise ConfigError(
                f"minimize: fun_and_grad returned a gradient of shape {grad.shape} for a theta "
                f"of shape {shape}; return the gradient flattened like theta."
            )
        return float(J), grad

    return fun


def _check_minimize_args(theta, maxiter, tol, callback) -> None:
    if not (isinstance(theta, np.ndarray) and theta.ndim == 1 and theta.dtype.kind == "f"
            and theta.flags.writeable):
        raise ConfigError(
            f"minimize needs theta as a writeable 1-D floating-point numpy array, got one "
            f"{_describe(theta)}; pass the network's flat theta."
        )
    _count("minimize", "maxiter", maxiter, 1, "pass a number of iterations such as 100")
    if tol is not None:
        _positive("minimize", "tol", tol, "pass None for scipy's default, or e.g. 1e-6")
    if callback is not None and not callable(callback):
        raise ConfigError(f"minimize callback must be None or a function, got {callback!r}.")


def minimize(fun_and_grad: Callable[[Array], tuple[float, Array]], theta: Array, *,
             method: str = "L-BFGS-B", maxiter: int = 100, tol: float | None = None,
             callback: Callable[[Array], object] | None = None) -> scipy.optimize.OptimizeResult:
    """Minimize ``fun_and_grad`` from ``theta`` with scipy, writing the result into ``theta``.

    Parameters
    ----------
    fun_and_grad : callable
        ``fun_and_grad(theta) -> (J, grad)``, ``grad`` of shape ``(n_params,)``; it is
        called with a copy of scipy's float64 iterate cast to theta's dtype.
    theta : ndarray of shape (n_params,)
        Start point; overwritten in place with the minimizer (``theta[...] = result.x``).
    method : {"L-BFGS-B", "CG"}
        Case-insensitive; "lbfgs" is an alias of "L-BFGS-B". "CG" is the nonlinear
        conjugate gradient of ``fmin_cg`` / Octave's ``fmincg``.
    maxiter : int
        Iteration limit (scipy's ``options["maxiter"]``).
    tol : float or None
        scipy's ``tol``; None keeps the method's default.
    callback : callable or None
        ``callback(theta_k)`` after each iteration, with a copy in theta's dtype.

    Returns
    -------
    scipy.optimize.OptimizeResult
        scipy's result; ``result.x`` stays float64.
    """
    scipy_method = _lookup("minimize method", method, FULL_BATCH_METHODS, {})
    _check_minimize_args(theta, maxiter, tol, callback)
    dtype = theta.dtype
    per_iteration = None if callback is None else (lambda xk: callback(xk.astype(dtype)))
    result = scipy.optimize.minimize(
        _float64_objective(fun_and_grad, theta), theta.astype(np.float64), jac=True,
        method=scipy_method, tol=tol, callback=per_iteration, options={"maxiter": int(maxiter)},
    )
    theta[...] = result.x  # in place: the network's layer views into theta see the result
    return result
