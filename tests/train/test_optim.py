"""Tests for gradcheck.train.optim: schedules, in-place first-order steps, scipy minimizers."""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st

from gradcheck.errors import ConfigError
from gradcheck.train.optim import (
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adam,
    Constant,
    Cosine,
    Momentum,
    Nesterov,
    StepDecay,
    get_optimizer,
    get_schedule,
    minimize,
)

# a learning rate per optimizer that converges on the quadratic below in 300 steps
CONVERGING_LR = {"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adam": 0.05}


def quadratic(dtype, n=50, seed=0):
    """Return ``(loss_and_grad, theta0)`` for ``J = 0.5 sum a_i (theta_i - c_i)^2``, a in [1, 10]."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(1.0, 10.0, n).astype(dtype)
    c = rng.normal(size=n).astype(dtype)

    def loss_and_grad(theta):
        diff = theta - c
        return float(0.5 * np.sum(a * diff * diff)), a * diff

    return loss_and_grad, rng.normal(size=n).astype(dtype)


# --- schedules -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "schedule, step, expected",
    [
        (Constant(0.1), 0, 0.1),
        (Constant(0.1), 10**6, 0.1),
        (StepDecay(0.1, step_size=10, gamma=0.5), 0, 0.1),
        (StepDecay(0.1, step_size=10, gamma=0.5), 9, 0.1),
        (StepDecay(0.1, step_size=10, gamma=0.5), 10, 0.05),
        (StepDecay(0.1, step_size=10, gamma=0.5), 25, 0.025),
        (Cosine(0.1, total_steps=100), 0, 0.1),
        (Cosine(0.1, total_steps=100), 25, 0.1 * 0.5 * (1 + math.sqrt(0.5))),
        (Cosine(0.1, total_steps=100), 50, 0.05),
        (Cosine(0.1, total_steps=100), 100, 0.0),
        (Cosine(0.1, total_steps=100), 150, 0.0),
        (Cosine(0.1, total_steps=100, min_lr=0.01), 50, 0.055),
        (Cosine(0.1, total_steps=100, min_lr=0.01), 100, 0.01),
        (Cosine(0.1, total_steps=110, warmup=10), 0, 0.01),
        (Cosine(0.1, total_steps=110, warmup=10), 4, 0.05),
        (Cosine(0.1, total_steps=110, warmup=10), 9, 0.1),
        (Cosine(0.1, total_steps=110, warmup=10), 10, 0.1),
        (Cosine(0.1, total_steps=110, warmup=10), 60, 0.05),
        (Cosine(0.1, total_steps=110, warmup=10), 110, 0.0),
    ],
)
def test_schedule_pinned_values(schedule, step, expected):
    assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15), (schedule, step)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_registry_builds_frozen_callables(name):
    kw = {"step": {"step_size": 5}, "cosine": {"total_steps": 20}}.get(name, {})
    schedule = get_schedule(name.upper(), 0.1, **kw)
    assert isinstance(schedule, SCHEDULES[name])
    assert schedule(0) == pytest.approx(0.1)
    assert all(0 <= schedule(s) <= 0.1 for s in range(40))
    with pytest.raises(AttributeError):
        schedule.lr = 1.0


@given(lr=st.floats(1e-6, 10.0), floor=st.floats(0.0, 1.0), total=st.integers(1, 10_000),
       warmup_share=st.floats(0.0, 0.99), step=st.integers(0, 20_000))
def test_cosine_stays_between_floor_and_peak_and_decays(lr, floor, total, warmup_share, step):
    warmup = int(warmup_share * total)
    schedule = Cosine(lr, total_steps=total, min_lr=floor * lr, warmup=warmup)
    rate = schedule(step)
    assert 0 < rate <= lr * (1 + 1e-12) or rate == floor * lr == 0
    if step < warmup:
        assert schedule(step + 1) >= rate, "warmup did not ramp up"
    else:
        assert rate >= floor * lr * (1 - 1e-12), "cosine went below min_lr"
        assert schedule(step + 1) <= rate * (1 + 1e-12), "cosine rose after warmup"


def test_optimizer_follows_its_schedule():
    # theta_t = -sum_k lr(k) with grad 1: rates 1, 0.5, 0.25 under StepDecay(1, 1, 0.5)
    opt = SGD(schedule=StepDecay(1.0, step_size=1, gamma=0.5))
    theta = np.zeros(3)
    rates = []
    for _ in range(3):
        rates.append(opt.lr)
        opt.step(theta, np.ones(3))
    assert rates == [1.0, 0.5, 0.25]
    np.testing.assert_array_equal(theta, -1.75)
    assert opt.t == 3 and opt.lr == 0.125


# --- first-order optimizers: convergence, dtype, in place ------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_decreases_convex_quadratic(name, dtype):
    loss_and_grad, theta = quadratic(dtype)
    opt = get_optimizer(name, lr=CONVERGING_LR[name])
    J0 = loss_and_grad(theta)[0]
    for _ in range(300):
        J, grad = loss_and_grad(theta)
        opt.step(theta, grad)
    assert theta.dtype == dtype, f"{name} changed theta's dtype to {theta.dtype}"
    assert loss_and_grad(theta)[0] < 1e-2 * J0, f"{name} did not reduce the loss 100-fold"
    assert opt.t == 300


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_is_in_place_and_views_see_it(name):
    theta = np.arange(6, dtype=np.float32)
    W = theta[:4].reshape(2, 2)  # a layer view, as the network holds them
    ident = id(theta)
    assert get_optimizer(name).step(theta, np.ones(6, np.float32)) is None
    assert id(theta) == ident and theta.dtype == np.float32
    assert np.all(theta < np.arange(6)), f"{name} did not move theta against the gradient"
    np.testing.assert_array_equal(W.ravel(), theta[:4])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_is_lazy_and_matches_theta(name):
    opt = get_optimizer(name)
    assert not any(isinstance(v, np.ndarray) for v in opt.state_dict().values()), name
    theta = np.ones(5, np.float32)
    opt.step(theta, np.ones(5, np.float32))
    for key, value in opt.state_dict().items():
        if isinstance(value, np.ndarray):
            assert value.shape == (5,) and value.dtype == np.float32, (name, key)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_allocates_no_array(name, dtype):
    # the benchmark's 79,510-parameter step must reuse its buffers: measure allocations
    theta = np.ones(79_510, dtype)
    grad = np.full(79_510, 0.5, dtype)
    opt = get_optimizer(name, schedule=Cosine(0.01, total_steps=10))
    opt.step(theta, grad)  # the first step allocates the state and the scratch buffer
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        opt.step(theta, grad)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < theta.nbytes // 10, f"{name} step allocated {peak} bytes for {theta.nbytes}"


# --- hand-worked updates with pinned numbers -------------------------------------------

THETA0 = [1.0, -2.0]
GRADS = [np.array([0.5, -1.0]), np.array([0.1, 0.2])]


def run_two_steps(opt):
    theta = np.array(THETA0)
    path = []
    for grad in GRADS:
        opt.step(theta, grad.copy())
        path.append(theta.copy())
    return path


def test_sgd_two_steps_by_hand():
    # theta <- theta - 0.1 g
    path = run_two_steps(SGD(lr=0.1))
    np.testing.assert_allclose(path, [[0.95, -1.9], [0.94, -1.92]], rtol=1e-14)


def test_momentum_two_steps_by_hand():
    # v1 = g1 = [0.5, -1];  theta1 = theta0 - 0.1 v1 = [0.95, -1.9]
    # v2 = 0.9 v1 + g2 = [0.55, -0.7];  theta2 = theta1 - 0.1 v2 = [0.895, -1.83]
    path = run_two_steps(Momentum(lr=0.1, beta=0.9))
    np.testing.assert_allclose(path, [[0.95, -1.9], [0.895, -1.83]], rtol=1e-14)


@pytest.mark.parametrize("opt", [Momentum(lr=0.1, beta=0.9, nesterov=True),
                                 Nesterov(lr=0.1, beta=0.9)])
def test_nesterov_two_steps_by_hand(opt):
    # theta1 = theta0 - 0.1 (g1 + 0.9 v1) with v1 = g1: theta0 - 0.19 g1 = [0.905, -1.81]
    # v2 = [0.55, -0.7];  g2 + 0.9 v2 = [0.595, -0.43];  theta2 = [0.8455, -1.767]
    path = run_two_steps(opt)
    np.testing.assert_allclose(path, [[0.905, -1.81], [0.8455, -1.767]], rtol=1e-14)


def test_adam_two_steps_by_hand():
    # step 1: m-hat = g1, v-hat = g1^2, so theta1 = theta0 - 0.1 g1 / (|g1| + 1e-8)
    # step 2: m = 0.09 g1 + 0.1 g2, v = 0.000999 g1^2 + 0.001 g2^2, corrections 1 - 0.9^2 and
    # 1 - 0.999^2; theta2 = theta1 - 0.1 / 0.19 * m / (sqrt(v / 0.001999) + 1e-8)
    # numbers from 50-digit decimal arithmetic
    path = run_two_steps(Adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8))
    np.testing.assert_allclose(path[0], [0.900000002, -1.900000001], rtol=1e-14)
    np.testing.assert_allclose(path[1], [0.81969590638465121, -1.8488973939904942], rtol=1e-13)


def test_adam_matches_torch_for_five_steps():
    torch = pytest.importorskip("torch")
    loss_and_grad, theta = quadratic(np.float64, n=20)
    param = torch.tensor(theta.copy(), requires_grad=True)
    reference = torch.optim.Adam([param], lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    opt = Adam(lr=0.05)
    for _ in range(5):
        grad = loss_and_grad(theta)[1]
        opt.step(theta, grad)
        param.grad = torch.from_numpy(loss_and_grad(param.detach().numpy().copy())[1])
        reference.step()
    np.testing.assert_allclose(theta, param.detach().numpy(), rtol=1e-6, atol=1e-6)


# --- checkpoints -----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_resume_is_bit_identical(name, tmp_path):
    loss_and_grad, theta0 = quadratic(np.float32, n=30)

    def train(opt, theta, steps):
        for _ in range(steps):
            opt.step(theta, loss_and_grad(theta)[1])

    def make():
        return get_optimizer(name, schedule=Cosine(0.02, total_steps=10, warmup=2))

    straight = theta0.copy()
    train(make(), straight, 10)

    resumed, first = theta0.copy(), make()
    train(first, resumed, 5)
    np.savez(tmp_path / "optim.npz", **first.state_dict())
    np.save(tmp_path / "theta.npy", resumed)
    second = make()
    with np.load(tmp_path / "optim.npz", allow_pickle=False) as ckpt:
        second.load_state_dict(ckpt)
    resumed = np.load(tmp_path / "theta.npy", allow_pickle=False)
    assert second.t == 5 and second.lr == first.lr
    train(second, resumed, 5)
    assert resumed.dtype == np.float32
    assert resumed.tobytes() == straight.tobytes(), f"{name} resume differs from a straight run"


def test_state_dict_is_a_copy():
    opt = Momentum()
    theta = np.zeros(3)
    opt.step(theta, np.ones(3))
    saved = opt.state_dict()
    opt.step(theta, np.ones(3))
    np.testing.assert_array_equal(saved["velocity"], 1.0)
    opt.load_state_dict(saved)
    opt.step(theta, np.ones(3))
    np.testing.assert_array_equal(saved["velocity"], 1.0)


def test_load_state_dict_refuses_another_optimizer_or_beta():
    theta = np.zeros(3)
    adam = Adam()
    adam.step(theta, np.ones(3))
    with pytest.raises(ConfigError, match=r"Momentum cannot load a state_dict with keys"):
        Momentum().load_state_dict(adam.state_dict())
    with pytest.raises(ConfigError, match=r"saved with beta2=0.999 but this optimizer has "
                                          r"beta2=0.99; build it with beta2=0.999"):
        Adam(beta2=0.99).load_state_dict(adam.state_dict())


def test_loaded_state_must_match_theta():
    opt = Adam()
    opt.step(np.zeros(3), np.ones(3))
    fresh = Adam()
    fresh.load_state_dict(opt.state_dict())
    with pytest.raises(ConfigError, match=r"state 'm' is of shape \(3,\) and dtype float64 but "
                                          r"theta is of shape \(3,\) and dtype float32"):
        fresh.step(np.zeros(3, np.float32), np.ones(3, np.float32))


# --- scipy methods ---------------------------------------------------------------------

def rosen_and_grad(x):
    return scipy.optimize.rosen(x), scipy.optimize.rosen_der(x)


@pytest.mark.parametrize("method, scipy_method", [("L-BFGS-B", "L-BFGS-B"), ("lbfgs", "L-BFGS-B"),
                                                  ("cg", "CG"), ("CG", "CG")])
def test_minimize_agrees_with_scipy(method, scipy_method):
    x0 = np.array([-1.2, 1.0, -0.5, 0.8])
    expected = scipy.optimize.minimize(rosen_and_grad, x0.copy(), jac=True, method=scipy_method,
                                       options={"maxiter": 200})
    theta = x0.copy()
    result = minimize(rosen_and_grad, theta, method=method, maxiter=200)
    np.testing.assert_allclose(theta, expected.x, rtol=1e-8, atol=1e-8)
    assert result.fun == pytest.approx(expected.fun, rel=1e-8, abs=1e-12)
    assert result.nit == expected.nit


def test_minimize_writes_into_theta_and_keeps_float32():
    loss_and_grad, theta = quadratic(np.float32, n=8)
    W = theta[:4].reshape(2, 2)
    seen = []

    def fun(th):
        seen.append(th.dtype)
        return loss_and_grad(th)

    iterates = []
    result = minimize(fun, theta, method="cg", callback=iterates.append)
    assert theta.dtype == np.float32 and set(seen) == {np.dtype(np.float32)}
    np.testing.assert_array_equal(theta, result.x.astype(np.float32))
    np.testing.assert_array_equal(W.ravel(), theta[:4])
    assert len(iterates) == result.nit and iterates[-1].dtype == np.float32
    assert result.fun < 1e-6


def test_minimize_copes_with_a_reused_gradient_buffer():
    # a network may return the same gradient array from every call
    loss_and_grad, x0 = quadratic(np.float64, n=10)
    buffer = np.empty(10)

    def reusing(th):
        J, grad = loss_and_grad(th)
        buffer[...] = grad
        return J, buffer

    expected = scipy.optimize.minimize(loss_and_grad, x0.copy(), jac=True, method="CG")
    theta = x0.copy()
    minimize(reusing, theta, method="CG")
    np.testing.assert_allclose(theta, expected.x, rtol=1e-8, atol=1e-10)


# --- errors ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: SGD(lr=0), r"SGD lr must be a finite number > 0, got 0; pass a learning rate"),
        (lambda: SGD(lr=-0.1), r"SGD lr must be a finite number > 0, got -0.1"),
        (lambda: SGD(lr=float("nan")), r"SGD lr must be a finite number > 0, got nan"),
        (lambda: SGD(lr="0.1"), r"SGD lr must be a finite number > 0, got '0.1'"),
        (lambda: SGD(schedule=0.1), r"SGD schedule must be None or a schedule"),
        (lambda: SGD(lr=0.5, schedule=Constant(0.2)),
         r"SGD got lr=0.5 and a schedule starting from lr=0.2; give the learning rate once"),
        (lambda: Momentum(beta=1.0), r"Momentum beta must be in \[0, 1\), got 1.0; use a momentum"),
        (lambda: Nesterov(beta=-0.1), r"Nesterov beta must be in \[0, 1\), got -0.1"),
        (lambda: Momentum(nesterov="yes"), r"Momentum nesterov must be True or False"),
        (lambda: Adam(beta1=1), r"Adam beta1 must be in \[0, 1\), got 1"),
        (lambda: Adam(beta2=1.5), r"Adam beta2 must be in \[0, 1\), got 1.5"),
        (lambda: Adam(eps=0.0), r"Adam eps must be a finite number > 0, got 0.0"),
        (lambda: Constant(0.0), r"Constant lr must be a finite number > 0, got 0.0"),
        (lambda: StepDecay(0.1, step_size=0), r"StepDecay step_size must be an integer >= 1, got 0"),
        (lambda: StepDecay(0.1, step_size=2.5), r"StepDecay step_size must be an integer >= 1"),
        (lambda: StepDecay(0.1, 10, gamma=0), r"StepDecay gamma must be in \(0, 1\], got 0"),
        (lambda: Cosine(0.1, total_steps=0), r"Cosine total_steps must be an integer >= 1, got 0"),
        (lambda: Cosine(0.1, 10, warmup=10), r"Cosine warmup must be < total_steps, got warmup=10"),
        (lambda: Cosine(0.1, 10, min_lr=0.2), r"Cosine min_lr must be in \[0, lr=0.1\], got 0.2"),
    ],
)
def test_bad_hyperparameters_raise_config_error(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get_optimizer("adma"), r"unknown optimizer 'adma'; did you mean 'adam'\? "
                                        rf"\(known: {', '.join(OPTIMIZERS)}\)"),
        (lambda: get_optimizer("adam", beta=0.9),
         r"optimizer 'Adam' has no argument 'beta'; did you mean 'beta[12]'\? \(its arguments: lr, "
         r"beta1, beta2, eps, schedule\)"),
        (lambda: get_optimizer("nesterov", nesterov=False), r"'Nesterov' has no argument 'nesterov'"),
        (lambda: get_schedule("cosin", 0.1, total_steps=5),
         r"unknown learning-rate schedule 'cosin'; did you mean 'cosine'\?"),
        (lambda: get_schedule("cosine", 0.1), r"schedule 'Cosine' needs the argument 'total_steps'"),
        (lambda: minimize(rosen_and_grad, np.zeros(2), method="bfgs"),
         r"unknown minimize method 'bfgs'; did you mean 'lbfgs'\?"),
        (lambda: minimize(rosen_and_grad, np.zeros(2), maxiter=0),
         r"minimize maxiter must be an integer >= 1, got 0"),
        (lambda: minimize(rosen_and_grad, np.zeros((2, 2))),
         r"minimize needs theta as a writeable 1-D floating-point numpy array"),
        (lambda: minimize(lambda th: (0.0, np.zeros(3)), np.zeros(2)),
         r"fun_and_grad returned a gradient of shape \(3,\) for a theta of shape \(2,\)"),
    ],
)
def test_unknown_names_and_bad_calls_raise_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


@pytest.mark.parametrize(
    "theta, grad, message",
    [
        (np.zeros(3, np.float32), np.zeros(3), r"grad of shape \(3,\) and dtype float64 for a "
                                               r"theta of shape \(3,\) and dtype float32"),
        (np.zeros(3), np.zeros(4), r"grad of shape \(4,\) .* theta of shape \(3,\)"),
        (np.zeros(3), [0.0, 0.0, 0.0], r"grad of type list"),
        (np.zeros(3, int), np.zeros(3, int), r"needs theta as a writeable floating-point"),
    ],
)
def test_step_refuses_mismatched_arguments_without_changing_state(theta, grad, message):
    opt = Adam()
    with pytest.raises(ConfigError, match=message):
        opt.step(theta, grad)
    assert opt.t == 0 and opt.state_dict() == {"t": 0, "beta1": 0.9, "beta2": 0.999}


def test_read_only_theta_is_refused():
    theta = np.zeros(3)
    theta.flags.writeable = False
    with pytest.raises(ConfigError, match=r"SGD.step needs theta as a writeable"):
        SGD().step(theta, np.zeros(3))


def test_get_optimizer_passes_an_instance_through():
    opt = Adam(lr=0.01)
    assert get_optimizer(opt) is opt
    with pytest.raises(ConfigError, match=r"pass a name with the arguments, or the instance alone"):
        get_optimizer(opt, lr=0.1)
