"""Issue 5's speed and memory targets, measured side by side with PyTorch CPU and scikit-learn.

Cases
-----
epoch
    One training epoch: 784-100-10, relu, softmax + cross-entropy, batch 128, Adam,
    float32, over 60,000 rows (Fashion-MNIST, else the embedded sample tiled).  gradcheck's
    ``fit``, a straightforward NumPy loop (``net.loss_and_grad`` + Adam, the same network),
    PyTorch (same architecture, batch and optimizer, threads = cores), scikit-learn's
    MLPClassifier (one ``partial_fit`` pass), and the GEMM floor: the epoch's matrix-product
    FLOPs divided by numpy's sgemm rate on 2048 x 2048 matrices.
    Targets: <= 0.3x PyTorch and <= 1.5x the floor.  The note beside the table adds the
    parts no NumPy loop avoids, each timed alone (the input layer's two products at the
    batch's shapes, the row gather, the Adam steps): their sum bounds any NumPy epoch.
full-gradient
    Every parameter's central difference for a 784-25-10 sigmoid/softmax network on 5,000
    digits, float64: ``check_gradient`` (the structure-aware evaluator) against the plain
    loop of two forward passes per coordinate (timed on a sample of coordinates and scaled
    to all of them).  Target: <= 5 s.
quick-check
    ``quick_check`` with 3 random directions on the same network against
    ``torch.autograd.gradcheck(fast_mode=True)``.  Target: <= 0.15 s.
localise
    One wrong coordinate planted among the 19,885: ``quick_check`` finds it by bisection.
    Target: <= 1 s.
memory
    Peak resident memory of a process that loads the 60,000 rows and trains one epoch,
    against 1.5 x the data's float32 size + 200 MB; PyTorch's process beside it.

Usage::

    python bench/run.py                  # every case, a table
    python bench/run.py --case epoch     # one case (repeatable)
    python bench/run.py --json out.json  # also write the rows as JSON

Times are the best of a few repeats (``bench/timing.py``); torch and scikit-learn are
optional and their columns say "skipped" when they are not installed.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_of, check_problem, cores, load_average, training_data

from gradcheck.check.gradient import check_gradient
from gradcheck.check.numerical import numerical_gradient
from gradcheck.check.quick import quick_check
from gradcheck.nn.network import Network
from gradcheck.train.loop import fit
from gradcheck.train.optim import Adam

SIZES, BATCH = [784, 100, 10], 128
PLANTED = 12_345  # the coordinate the localise case breaks


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(cores())
    return torch


def _row(case, unit, gradcheck, target, met, **others) -> dict:
    return {"case": case, "unit": unit, "gradcheck": gradcheck, "target": target, "met": met,
            **others}


# --- epoch ------------------------------------------------------------------------------

def _epoch_flops(n_rows: int) -> float:
    """Matrix-product FLOPs of one epoch: forward, weight gradients, deltas below the top."""
    flops = 0.0
    for l, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        products = 3 if l > 0 else 2  # the input layer needs no delta below it
        flops += products * 2.0 * n_rows * n_in * n_out
    return flops


def sgemm_rate(n: int = 2048, repeats: int = 5) -> float:
    """numpy's float32 matrix-product rate in FLOP/s on square matrices."""
    A = np.random.default_rng(0).random((n, n), dtype=np.float32)
    seconds, _ = best_of(lambda: A @ A, repeats)
    return 2.0 * n**3 / seconds


def _network(seed=0) -> Network:
    return Network(SIZES, hidden="relu", output="softmax", loss="cross_entropy",
                   init="he", dtype=np.float32, seed=seed)


def epoch_gradcheck(X, y) -> float:
    net = _network()
    start = time.perf_counter()
    fit(net, X, y, optimizer="adam", lr=1e-3, schedule="constant", epochs=1, batch_size=BATCH,
        seed=0)
    return time.perf_counter() - start


def epoch_numpy_loop(X, y) -> float:
    """What a careful from-scratch loop does: allocate per batch, Adam on the flat theta."""
    net, opt = _network(), Adam(lr=1e-3)
    order = np.random.default_rng(0).permutation(len(X))
    start = time.perf_counter()
    for b in range(0, len(X), BATCH):
        idx = order[b:b + BATCH]
        _, grad = net.loss_and_grad(X[idx], y[idx])
        opt.step(net.theta, grad)
    return time.perf_counter() - start


def epoch_torch(torch, X, y) -> float:
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                torch.nn.Linear(SIZES[1], SIZES[2]))
    opt, loss_fn = torch.optim.Adam(model.parameters(), lr=1e-3), torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    order = torch.randperm(len(Xt))
    for b in range(0, len(Xt), BATCH):
        idx = order[b:b + BATCH]
        opt.zero_grad()
        loss_fn(model(Xt[idx]), yt[idx]).backward()
        opt.step()
    return time.perf_counter() - start


def epoch_sklearn(X, y) -> float | None:
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    clf = MLPClassifier((SIZES[1],), solver="adam", batch_size=BATCH, learning_rate_init=1e-3,
                        random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X, y, classes=np.arange(SIZES[-1]))
    return time.perf_counter() - start


def epoch_parts(X) -> dict:
    """The parts of an epoch no NumPy implementation avoids, each timed alone and summed.

    Per batch: the input layer's two products at the batch's shapes (forward 128 x 784 @
    784 x 100 and the weight gradient 100 x 128 @ 128 x 784, into preallocated arrays), the
    row gather of the batch, and one Adam step over the flat parameters (gradcheck's, 12
    in-place ufunc passes, the same arithmetic as torch's).  The sum is a lower bound for an
    epoch of any NumPy loop on this machine; everything else (biases, relu, softmax, the
    small layer) comes on top.
    """
    rng = np.random.default_rng(0)
    n_in, n_hidden = SIZES[0], SIZES[1]
    order = rng.permutation(len(X))
    batches = [order[b:b + BATCH] for b in range(0, len(X), BATCH)]  # as fit: the last one short
    W = rng.standard_normal((n_hidden, n_in), dtype=np.float32)
    dW = np.empty((n_hidden, n_in), np.float32)
    shaped = {len(idx): (X[idx], np.empty((len(idx), n_hidden), np.float32)) for idx in batches}
    inputs = [shaped[len(idx)] for idx in batches]
    net, opt = _network(), Adam(lr=1e-3)
    grad = np.zeros_like(net.theta)

    def products():
        for Xb, Z in inputs:
            np.matmul(Xb, W.T, out=Z)
            np.matmul(Z.T, Xb, out=dW)

    def gather():
        for idx in batches:
            X[idx]

    def adam():
        for _ in batches:
            opt.step(net.theta, grad)

    parts = {name: best_of(fn, 3)[0] for name, fn in
             (("products", products), ("gather", gather), ("adam", adam))}
    parts["total"] = sum(parts.values())
    return parts


def case_epoch(repeats: int) -> list[dict]:
    X, y, source = training_data()
    X = np.ascontiguousarray(X, dtype=np.float32)
    torch = _torch()
    ours = min(epoch_gradcheck(X, y) for _ in range(repeats))
    loop = min(epoch_numpy_loop(X, y) for _ in range(repeats))
    theirs = min(epoch_torch(torch, X, y) for _ in range(repeats)) if torch else None
    sk = min(epoch_sklearn(X, y) for _ in range(max(1, repeats - 1))) if _has_sklearn() else None
    parts = epoch_parts(X)
    rate = sgemm_rate()
    floor = _epoch_flops(len(X)) / rate
    budget = min(1.5 * floor, 0.3 * theirs) if theirs else 1.5 * floor
    met = ours <= budget
    return [_row("epoch", "s", ours, "<= 0.3x PyTorch and <= 1.5x floor", met, pytorch=theirs,
                 sklearn=sk, floor=floor, numpy_loop=loop, vs_pytorch=_ratio(ours, theirs),
                 vs_floor=ours / floor, budget=budget, parts=parts,
                 note=f"{source}; sgemm {rate / 1e9:.0f} GFLOP/s; target budget {budget:.3f} s. "
                      f"Parts no NumPy loop avoids, timed alone: the input layer's two products "
                      f"at batch shapes {parts['products']:.3f} s "
                      f"({parts['products'] / floor:.2f}x floor), row gather "
                      f"{parts['gather']:.3f} s, Adam steps {parts['adam']:.3f} s; "
                      f"sum {parts['total']:.3f} s = {parts['total'] / budget:.2f}x the budget")]


def _has_sklearn() -> bool:
    return importlib.util.find_spec("sklearn") is not None


def _ratio(a, b):
    return None if a is None or b is None else a / b


# --- checks -----------------------------------------------------------------------------

def case_full_gradient(repeats: int) -> list[dict]:
    problem = check_problem()
    f, theta = problem.objective, problem.net.theta.copy()
    seconds, report = best_of(lambda: check_gradient(f, f.grad, theta, diagnose=False), repeats)
    sample = np.random.default_rng(0).choice(theta.size, 100, replace=False)
    plain, _ = best_of(lambda: numerical_gradient(f, theta, 1e-6, sample), 1)
    plain_all = plain * theta.size / sample.size
    return [_row("full-gradient", "s", seconds, "<= 5 s", seconds <= 5.0 and report.passed,
                 plain_loop=plain_all, vs_plain=seconds / plain_all,
                 note=f"{theta.size} parameters, {problem.source}; {report.evaluator}; "
                      f"plain loop timed on {sample.size} coordinates")]


def _torch_objective(torch, problem):
    """The same cost as a torch function of the flat theta (course layout: W then b per layer)."""
    X = torch.from_numpy(problem.X)
    Y = torch.from_numpy(problem.net.targets(problem.y, len(problem.X), np.float64))
    shapes = [(b.shape, b.slice) for b in problem.net.param_blocks().values()]

    def cost(theta):
        W1, b1, W2, b2 = (theta[s].reshape(shape) for shape, s in shapes)
        hidden = torch.sigmoid(X @ W1.T + b1)
        log_p = torch.log_softmax(hidden @ W2.T + b2, dim=1)
        return -(Y * log_p).sum() / len(X)

    return cost


def case_quick_check(repeats: int) -> list[dict]:
    problem = check_problem()
    f, theta = problem.objective, problem.net.theta.copy()
    seconds, report = best_of(lambda: quick_check(f, f.grad, theta, k=3), repeats)
    theirs = None
    torch = _torch()
    if torch is not None:
        from torch.autograd import gradcheck as torch_gradcheck

        cost = _torch_objective(torch, problem)
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        theirs, ok = best_of(lambda: torch_gradcheck(cost, (t,), eps=1e-6, atol=1e-5,
                                                     fast_mode=True), repeats)
    return [_row("quick-check", "s", seconds, "<= 0.15 s", seconds <= 0.15 and report.passed,
                 pytorch=theirs, vs_pytorch=_ratio(seconds, theirs),
                 note=f"k=3 directions, {report.n_evaluations} cost evaluations; PyTorch: "
                      f"gradcheck(fast_mode=True), pass/fail only")]


def case_localise(repeats: int) -> list[dict]:
    problem = check_problem()
    f, theta = problem.objective, problem.net.theta.copy()

    def wrong_grad(th):
        g = f.grad(th)
        g[PLANTED] = 3.0 * g[PLANTED] + 1e-3
        return g

    seconds, report = best_of(lambda: quick_check(f, wrong_grad, theta, k=3), repeats)
    found = report.located.tolist() == [PLANTED]
    return [_row("localise", "s", seconds, "<= 1 s", seconds <= 1.0 and found,
                 note=f"planted coordinate {PLANTED} of {theta.size}; located "
                      f"{report.located.tolist()} in {report.n_evaluations} cost evaluations")]


# --- memory -----------------------------------------------------------------------------

_MEMORY_CHILD = """
import sys, numpy as np
sys.path.insert(0, {bench!r})
from timing import training_data
X, y, _ = training_data()
X = np.ascontiguousarray(X, dtype=np.float32)
if {side!r} == "gradcheck":
    from run import epoch_gradcheck
    epoch_gradcheck(X, y)
else:
    from run import _torch, epoch_torch
    epoch_torch(_torch(), X, y)
# VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across exec
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(int(peak.split()[1]) * 1024, X.nbytes)
"""


def _peak_rss(side: str) -> tuple[int, int] | None:
    code = _MEMORY_CHILD.format(bench=str(Path(__file__).resolve().parent), side=side)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    peak, nbytes = done.stdout.split()[-2:]
    return int(peak), int(nbytes)


def case_memory(repeats: int) -> list[dict]:
    peak, nbytes = _peak_rss("gradcheck")
    torch_peak = _peak_rss("torch") if _torch() is not None else None
    limit = 1.5 * nbytes + 200e6
    mb = 1e6
    return [_row("memory", "MB", peak / mb, "<= 1.5x data + 200 MB", peak <= limit,
                 pytorch=torch_peak[0] / mb if torch_peak else None, floor=limit / mb,
                 vs_floor=peak / limit,
                 note=f"peak RSS of load + one epoch; data {nbytes / mb:.0f} MB float32; "
                      f"'floor' column = the allowed peak")]


CASES = {"epoch": case_epoch, "full-gradient": case_full_gradient,
         "quick-check": case_quick_check, "localise": case_localise, "memory": case_memory}


# --- output -----------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"numpy {np.__version__}"]
    torch = _torch()
    if torch is not None:
        versions.append(f"torch {torch.__version__}")
    if _has_sklearn():
        from sklearn import __version__ as sklearn_version

        versions.append(f"scikit-learn {sklearn_version}")
    return f"{cpu}, {cores()} cores, Python {platform.python_version()}, " + ", ".join(versions)


def _fmt(x, unit="s") -> str:
    if x is None:
        return "skipped"
    return f"{x:.0f}" if unit == "MB" else f"{x:.3f}"


def print_table(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("case", "gradcheck", "PyTorch CPU", "scikit-learn", "numpy loop / plain",
                "floor", "ratios", "target", "met"):
        table.add_column(col)
    for r in rows:
        u = r["unit"]
        other = r.get("numpy_loop", r.get("plain_loop"))
        ratios = ", ".join(f"{k.replace('vs_', 'vs ')} {r[k]:.2f}" for k in
                           ("vs_pytorch", "vs_floor", "vs_plain") if r.get(k) is not None)
        table.add_row(r["case"], f"{_fmt(r['gradcheck'], u)} {u}", _fmt(r.get("pytorch"), u),
                      _fmt(r.get("sklearn"), u), _fmt(other, u), _fmt(r.get("floor"), u),
                      ratios, r["target"], "yes" if r["met"] else "NO")
    console = Console(width=160)
    console.print(table)
    for r in rows:
        console.print(f"{r['case']}: {r['note']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="run only this case (repeatable)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many (default 3)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = []
    for name in args.case or CASES:
        rows += CASES[name](args.repeats)
    title = f"gradcheck bench (load average {load_average() or 0:.1f})"
    print_table(rows, title)
    print(f"machine: {machine()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
