"""``gradcheck doctor``: check a user's cost and gradient, or two pasted columns, and say why.

Functions mode imports the user's module from its path; the module defines
``COST(theta) -> float`` and ``GRAD(theta) -> array`` (any names, given as
``FILE.py:NAME``) closing over its own data.  Optional module-level names the doctor
reads: ``theta`` (the point to check), ``X`` and ``y`` (the data, for ``--reference`` and
to name a scale factor k ≈ m).  Columns mode reads two columns of numbers as people
paste them (see :func:`read_columns`).
"""
from __future__ import annotations

import argparse
import contextlib
import sys

import numpy as np

from gradcheck._files import check_writable
from gradcheck.check.doctor.blocks_infer import infer_blocks
from gradcheck.check.doctor.detectors import check_arrays
from gradcheck.check.doctor.mutation import Watch
from gradcheck.check.fast import usable_cpus
from gradcheck.check.gradient import check_gradient
from gradcheck.check.numerical import TOLERANCE, check_eps
from gradcheck.check.quick import quick_check
from gradcheck.check.reference.compare import INCONCLUSIVE, compare_reference
from gradcheck.check.userinput import (
    Checked,
    Unusable,
    describe_value,
    load_function,
    load_npy,
    module_values,
    read_columns,
    read_xy,
    samples_and_features,
    to_numpy,
    watched_arrays,
)
from gradcheck.cli.common import fmt_error, make_console, print_findings, print_json, seed_arg
from gradcheck.cli.layer import add_layer_arguments, run_layer
from gradcheck.errors import ConfigError, DataError, ExitStatus, UserCodeError, nearest_name
from gradcheck.nn.blocks import mlp_n_params, parse_shape
from gradcheck.plots import check_format

#: The keys of a --reference spec (Network keyword arguments, plus the layout).
REFERENCE_KEYS = ("sizes", "hidden", "output", "loss", "l2", "reduction", "layout", "labels")
#: Central-difference step of the full check when --eps is not given.
DEFAULT_EPS = 1e-6
#: Most --directions of --quick: each costs two cost evaluations and a parameter-sized vector;
#: beyond this the full check of every coordinate says more for the same time.
MAX_DIRECTIONS = 1000
#: Most --workers per CPU: each is a process with its own copy of the module's data, and
#: more of them than cores only adds memory.
WORKERS_PER_CPU = 4


def _argument(parse):
    """An argparse type that shows the parser's own one-sentence ConfigError."""
    def parse_argument(text):
        try:
            return parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parse_argument.__name__ = parse.__name__
    return parse_argument


def add_doctor_parser(sub) -> None:
    p = sub.add_parser(
        "doctor", help="say why an analytic gradient disagrees with the numerical one",
        description="Check COST and GRAD from your own module (FILE.py:COST FILE.py:GRAD), or two "
                    "pasted columns (--columns), and name the mistake: sign flip, scale factor, "
                    "transposed block, regularised biases, a kink, a bad step, ...")
    p.add_argument("functions", nargs="*", metavar="FILE.py:FUNC",
                   help="the cost, then the gradient (omit it if the cost returns (J, grad))")
    p.add_argument("--columns", nargs="+", metavar="FILE",
                   help="a text file of two columns (numerical, analytic), or two .npy files")
    p.add_argument("--analytic-first", action="store_true", help="the first column is the analytic one")
    p.add_argument("--blocks", type=_argument(parse_blocks), help="named shapes, e.g. Theta1=25x401,Theta2=10x26")
    p.add_argument("--order", choices=["C", "F"], default="C",
                   help="how the blocks are unrolled: C (numpy ravel) or F (Octave Theta(:))")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--theta", metavar="FILE.npy", help="the point to check at")
    start.add_argument("--seed", type=seed_arg, help="check at a seeded random point")
    p.add_argument("--eps", type=float, help="central-difference step (default 1e-6; 1e-5 with --quick)")
    p.add_argument("--samples", type=int, help="number of samples m behind the cost (names k ≈ m)")
    p.add_argument("--reference", type=_argument(_reference_argument), metavar="SPEC",
                   help='the network you meant, e.g. "sizes=400,25,10 hidden=sigmoid output=softmax '
                        'loss=cross_entropy l2=1"; names the textbook mistake. Every layout of theta '
                        'and numbering of labels is tried; layout=course|course-C|C|sklearn|cs231n or '
                        'words (layout=bias-last,in-out,F) and labels=0-based|1-based|K-is-0 pin them. '
                        'With --layer: a reference layer (affine, batchnorm, conv2d, ...)')
    p.add_argument("--data", metavar="FILE.npz", help="arrays X and y for --reference (default: "
                                                       "the module's X and y)")
    p.add_argument("--quick", action="store_true",
                   help="compare along a few random directions instead of every coordinate (fast "
                        "for a large network); on a mismatch, bisect to the wrong coordinates")
    p.add_argument("--directions", type=int, default=3, metavar="K",
                   help="random directions of --quick (default 3)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="run the numerical gradient's cost evaluations in N processes")
    p.add_argument("--json", action="store_true", help="print the report as JSON (schema in the README)")
    p.add_argument("--plot", metavar="FILE.png", help="write analytic vs numerical per block")
    add_layer_arguments(p)
    p.set_defaults(run=run_doctor)


# --- parsing ----------------------------------------------------------------------------

def parse_blocks(text: str) -> dict[str, tuple[int, ...]]:
    """``"Theta1=25x401,Theta2=10x26"`` -> ``{"Theta1": (25, 401), "Theta2": (10, 26)}``."""
    blocks = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, shape = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--blocks item {item!r} is not NAME=ROWSxCOLS; write e.g. Theta1=25x401.")
        blocks[name.strip()] = parse_shape(shape)
    if not blocks:
        raise ConfigError("--blocks is empty; write e.g. Theta1=25x401,Theta2=10x26.")
    return blocks


def _reference_value(key: str, value: str):
    if key == "sizes":
        return [int(v) for v in value.replace("x", ",").split(",") if v]
    if key == "l2":
        return float(value)
    if key == "hidden" and "," in value:
        return value.split(",")
    return value


def _reference_argument(text: str) -> dict | str:
    """A network spec (``KEY=VALUE ...``), or one word: the name of a reference layer (``--layer``)."""
    return parse_reference(text) if "=" in text else text.strip()


def parse_reference(text: str) -> dict:
    """``"sizes=400,25,10 hidden=sigmoid l2=1 layout=course"`` -> Network kwargs + layout."""
    spec = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--reference item {item!r} is not KEY=VALUE; write e.g. sizes=400,25,10.")
        if key not in REFERENCE_KEYS:
            raise ConfigError(f"--reference has the unknown key {key!r}{nearest_name(key, REFERENCE_KEYS)} "
                              f"(known: {', '.join(REFERENCE_KEYS)}).")
        try:
            spec[key] = _reference_value(key, value)
        except ValueError:
            raise ConfigError(f"--reference {key}={value!r} is not a valid value for {key}.") from None
    if "sizes" not in spec:
        raise ConfigError("--reference needs sizes=..., e.g. sizes=400,25,10.")
    return spec


# --- the user's module --------------------------------------------------------------------



# --- running ------------------------------------------------------------------------------

def run_doctor(args) -> int:
    _check_numbers(args)
    if args.layer:
        if args.plot:
            check_format(args.plot)
            check_writable(args.plot, "--plot", ConfigError)
        return run_layer(args, _running_user_code)
    if isinstance(args.reference, str):
        raise ConfigError(f"--reference item {args.reference!r} is not KEY=VALUE; write e.g. "
                          f"sizes=400,25,10 (a reference layer name such as affine goes with --layer).")
    if args.inputs or args.params or args.constants:
        raise ConfigError("--inputs, --params and --constants belong to --layer FILE.py:FORWARD "
                          "FILE.py:BACKWARD.")
    if (args.columns and args.functions) or any(":" in c and ".py" in c for c in args.columns or ()):
        raise ConfigError("give either FILE.py:COST FILE.py:GRAD or --columns, not both.")
    if args.plot:  # refused before the check runs, not after

        check_format(args.plot)
        check_writable(args.plot, "--plot", ConfigError)
    if args.quick:
        return _run_quick(args)
    with _running_user_code(args.json):
        if args.columns:
            report, source = _columns_report(args)
            reference = None
        elif args.functions:
            report, source, reference = _functions_report(args)
        else:
            raise ConfigError("say what to check: FILE.py:COST FILE.py:GRAD, or --columns FILE.")
        findings = reference.findings if reference else []
        agree = report.agrees and all(d.code in INCONCLUSIVE for d in findings)
        if args.plot:
            report.plot(args.plot)
    if args.json:

        print_json({"command": "doctor", "agree": agree, "source": source, **report.to_dict(),
                     "reference": [d.to_dict() for d in findings],
                     "reference_layout": reference.layout if reference else None})
    else:
        print_doctor(report, source, reference, args.plot)
    return ExitStatus.OK if agree else ExitStatus.CHECK_FAILED


def _run_quick(args) -> int:
    """``--quick``: directional differences, then bisection to the wrong coordinates."""

    if not args.functions or args.columns:
        raise ConfigError("--quick evaluates your cost along random directions: give FILE.py:COST "
                          "[FILE.py:GRAD], not --columns.")
    if args.reference or args.plot or args.workers:
        raise ConfigError("--reference, --plot and --workers belong to the full check of every "
                          "coordinate: drop --quick (or run it first to find the wrong "
                          "coordinates fast).")
    kw = {} if args.eps is None else {"eps": args.eps}
    with _running_user_code(args.json):
        module, cost, grad, theta = _user_functions(args)
        # without --blocks, the module's own arrays (Theta1, W1, ...) name the coordinates
        layout = None if args.blocks else infer_blocks(theta, module_values(module))
        blocks = args.blocks or (layout.blocks if layout else None)
        report = quick_check(cost, grad, theta, k=args.directions, blocks=blocks,
                             order=args.order, **kw)
    source = {"mode": "quick", "cost": args.functions[0],
              "grad": args.functions[1] if grad is not None else None, "theta": _theta_source(args)}
    if layout is not None:
        source["blocks_from"] = layout.source
    if args.json:

        print_json({"command": "doctor", "agree": report.passed, "source": source,
                     **report.to_dict()})
    else:
        print_quick(report)
    return ExitStatus.OK if report.passed else ExitStatus.CHECK_FAILED


def _check_numbers(args) -> None:
    """Refuse numeric options out of range before any user code runs, in every mode."""
    if args.samples is not None and args.samples < 1:
        raise ConfigError(f"--samples is the number of samples behind the cost, at least 1; got "
                          f"{args.samples}.")
    # `not 0 < eps < 1` also refuses NaN; the columns' eps sets the round-off allowance too
    if args.eps is not None:
        try:
            check_eps(args.eps, suggested=1e-5 if args.quick else 1e-6)
        except ConfigError as exc:
            raise ConfigError(f"--{exc}") from None
    if args.directions > MAX_DIRECTIONS:
        raise ConfigError(f"--directions must be a whole number from 1 to {MAX_DIRECTIONS}, got "
                          f"{args.directions}; for more, run without --quick to check every "
                          f"coordinate.")

    cpus = usable_cpus()
    if args.workers is not None and not 1 <= args.workers <= WORKERS_PER_CPU * cpus:
        raise ConfigError(f"--workers must be a whole number from 1 to {WORKERS_PER_CPU * cpus} "
                          f"({WORKERS_PER_CPU} per CPU, {cpus} here), got {args.workers}; one "
                          f"per CPU is fastest.")


@contextlib.contextmanager
def _running_user_code(json_mode: bool):
    """Around importing and calling the user's code: its sentences, and its prints kept off JSON.

    With --json, stdout holds the report alone: the user's prints go to stderr (forked
    --workers inherit that).  A value :class:`Checked` refused reaches the library as the
    cause of its "the cost function raised ..." error; the refusal is the sentence to show.
    """
    redirect = contextlib.redirect_stdout(sys.stderr) if json_mode else contextlib.nullcontext()
    try:
        with redirect:
            yield
    except UserCodeError as exc:
        if isinstance(exc.__cause__, Unusable):
            raise exc.__cause__ from None
        raise


def print_quick(report) -> None:
    """Each direction's two derivatives, the verdict, and the coordinates found wrong."""
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    table = Table(title=f"Directional derivatives along {len(report.numerical)} random unit "
                        f"directions (eps {report.eps:g})")
    for col in ("direction", "numerical", "analytic", "relative error", "allowed |difference|"):
        table.add_column(col)
    for i, (n, a, e, t) in enumerate(zip(report.numerical, report.analytic, report.errors,
                                         report.allowed)):
        table.add_row(str(i + 1), f"{n: .9e}", f"{a: .9e}", fmt_error(e), fmt_error(t))
    console.print(table)
    verdict = ("[yellow]INCONCLUSIVE[/yellow]" if report.inconclusive else
               "[green]AGREE[/green]" if report.passed else "[red]DISAGREE[/red]")
    console.print(f"{verdict} ({report.n_evaluations} cost evaluations)")
    if report.inconclusive:
        console.print(escape(report.inconclusive) + ".")
    if len(report.located):
        console.print(f"wrong coordinates ({len(report.located)}): "
                      + escape(", ".join(report.labels[:20]))
                      + (" ..." if len(report.located) > 20 else ""))
    if report.unresolved:
        console.print("not yet narrowed down: " + escape(", ".join(report.unresolved_labels[:10])))
    if not report.passed:
        console.print("run without --quick for the full comparison and the doctor's diagnosis.")


def _columns_report(args):

    if len(args.columns) == 2:
        numerical, analytic = (load_npy(p) for p in args.columns)
        if args.analytic_first:
            numerical, analytic = analytic, numerical
        info = {"analytic_first": args.analytic_first, "order_from": "arguments", "digits": None}
    elif len(args.columns) == 1:
        numerical, analytic, info = read_columns(args.columns[0], args.analytic_first or None)
    else:
        raise ConfigError("--columns takes one text file or two .npy files (numerical, analytic).")
    # pasted numbers carry few digits: rounding alone must not fail a correct gradient.  A
    # number printed to d significant digits is off by up to half of 10^(1-d) of itself: the
    # norm rule and each coordinate's rule allow for that
    digits = info.get("digits")
    rounding = 10.0 ** (1 - digits) if digits else 0.0
    tol = max(TOLERANCE, rounding)
    report = check_arrays(numerical, analytic, args.blocks, args.order, args.samples, tol=tol,
                          eps=_eps(args), rounding=rounding)
    return report, {"mode": "columns", "files": args.columns, **info, "tolerance": tol}


def _functions_report(args):
    module, cost, grad, theta = _user_functions(args)
    X, y = _data(args, module)
    values = module_values(module)
    m, n_features = samples_and_features(X, y)
    watch = watched_arrays(values)
    # the reference first: the layout it recognises names the coordinates of the report. Its
    # calls of the user's code may change the module's arrays in place; put them back, so the
    # check's own first calls show the change (argument-modified) as they do without it
    before = Watch(dict(watch))
    reference = _reference(args, cost, grad, theta, X, y) if args.reference else None
    before.restore()
    # no --blocks: the layout the reference recognised, else the module's own arrays (Theta1,
    # W1, coefs_ ...), shapes or sizes name them
    named = args.blocks or (reference.blocks if reference else None)
    blocks = named or infer_blocks(theta, values)
    report = check_gradient(cost, grad, theta, eps=_eps(args), blocks=blocks, order=args.order,
                            n_samples=args.samples or m, workers=args.workers,
                            watch=watch, n_features=n_features)
    source = {"mode": "functions", "cost": args.functions[0],
              "grad": args.functions[1] if grad is not None else None,
              "theta": _theta_source(args)}
    if named is not None and not args.blocks:
        source["blocks_from"] = "reference layout"
    elif report.layout:
        source["blocks_from"] = report.layout
    return report, source, reference


def _user_functions(args):
    """The user's module, cost, gradient (or None) and the point to check at."""
    if len(args.functions) > 2:
        raise ConfigError("give at most two functions: FILE.py:COST FILE.py:GRAD.")
    module, cost = load_function(args.functions[0])
    grad = load_function(args.functions[1])[1] if len(args.functions) == 2 else None
    cost = Checked.wrap(cost, args.functions[0], "cost" if grad is not None else "pair")
    grad = None if grad is None else Checked.wrap(grad, args.functions[1], "gradient")
    return module, cost, grad, _theta(args, module)


def _eps(args) -> float:
    return DEFAULT_EPS if args.eps is None else args.eps


def _theta_source(args) -> str:
    return args.theta or (f"seed {args.seed}" if args.seed is not None else "module")


def _data(args, module):
    """X and y from --data (problems: status 3) or the module (its own definitions: status 5)."""
    if args.data:
        X, y = read_xy(args.data)
        where, error = args.data, DataError
    else:
        X, y = (to_numpy(getattr(module, name, None)) for name in ("X", "y"))
        where, error = f"the module {args.functions[0].rpartition(':')[0]}", UserCodeError
    for name, values in (("X", X), ("y", y)):
        if values is None:
            continue
        try:
            array = np.asarray(values, dtype=np.float64)
        except Exception:  # strings, ragged lists, objects whose __array__ raises
            raise error(f"{name} in {where} is not an array of numbers; give numeric X and y.") from None
        if array.ndim == 0 or len(array) == 0:
            raise error(f"{name} in {where} is {describe_value(values)}, not an array with one row per "
                        f"sample; give X and y with one row per sample, or drop them.")
        if not np.isfinite(array).all():
            raise DataError(f"{name} in {where} has NaN or infinite values; fill or drop those "
                            f"samples.")
    return X, y


def _theta(args, module) -> np.ndarray:
    own = _module_theta(args, module)
    if args.theta:
        theta = load_npy(args.theta)
        if own is not None and own.size != theta.size:
            raise ConfigError(f"--theta {args.theta} has {theta.size} values but the module's theta "
                              f"has {own.size}; give a point of the module's network, or drop "
                              f"--theta to check at the module's theta.")
        return theta
    if args.seed is None and own is not None:
        return own
    n = _n_params(args) or (own.size if own is not None else None)
    if n is None:
        raise ConfigError("say where to check: --theta FILE.npy, --seed N with --blocks or "
                          "--reference, or define theta in your module.")
    # small weights, like the course's randInitializeWeights, but wide enough to use every path
    return np.random.default_rng(args.seed or 0).uniform(-0.5, 0.5, n)


def _module_theta(args, module) -> np.ndarray | None:
    """The module's ``theta`` as a flat float64 vector, None if it defines none."""
    own = getattr(module, "theta", None)
    if own is None:
        return None
    where = args.functions[0].rpartition(":")[0]
    todo = ("define theta as one flat vector of real parameters (np.concatenate([W.ravel() for W "
            "in weights])), or pass --theta FILE.npy or --seed N")
    try:
        values = np.asarray(to_numpy(own))
        theta = values.astype(np.float64) if values.dtype.kind in "biufO" else None
    except Exception:  # ragged lists, objects whose __array__ raises
        values, theta = None, None
    if theta is None:
        what = ("complex numbers" if values is not None and values.dtype.kind == "c" else
                describe_value(own) if not callable(own) else "a function")
        raise UserCodeError(f"{where} defines theta as {what}, not the point to check at; {todo}.")
    if theta.size == 0:
        raise UserCodeError(f"{where} defines theta as an empty array; {todo}.")
    return theta.ravel()


def _n_params(args) -> int | None:
    if args.blocks:
        return sum(int(np.prod(shape)) for shape in args.blocks.values())
    if args.reference:
        sizes = args.reference["sizes"]
        return mlp_n_params(sizes)
    return None


def _reference(args, cost, grad, theta, X, y):
    if X is None or y is None:
        raise ConfigError("--reference needs data: define X and y in your module or pass --data FILE.npz.")
    grad_fn = grad if grad is not None else (lambda t: cost(t)[1])
    cost_fn = (lambda t: cost(t)[0]) if grad is None else cost
    return compare_reference(grad_fn, theta, dict(args.reference), X, y, cost_fn=cost_fn)


# --- printing -------------------------------------------------------------------------------

def _ratio(a: float, n: float) -> str:
    return f"{a / n: .3g}" if n != 0 and np.isfinite(a / n) else "-"


def print_doctor(report, source: dict, reference=None, plot_path=None, n_worst: int = 8) -> None:
    """Worst coordinates, per-block summary, verdict, then the findings with their fixes, then
    the reference comparison (a :class:`~gradcheck.check.reference.ReferenceResult`) if any."""
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    layout = reference.layout if reference is not None else None
    named = (f", in layout {layout['name']}'s arrays"
             if layout and source.get("blocks_from") == "reference layout" else "")
    worst = Table(title=escape(f"Worst {n_worst} coordinates as block[row, col], 0-based{named}"))
    for col in ("index", "coordinate", "numerical", "analytic", "|difference|", "analytic/numerical"):
        worst.add_column(col)
    for c in report.worst(n_worst):
        worst.add_row(str(c["index"]), escape(c["label"]), f"{c['numerical']: .6e}",
                      f"{c['analytic']: .6e}", fmt_error(c["abs_diff"]), _ratio(c["analytic"], c["numerical"]))
    console.print(worst)
    console.print(_block_table(report))
    if report.layout:
        console.print(escape(f"blocks from {report.layout}"))
    parts = _parts_table(report)
    if parts is not None:
        console.print(parts)
    verdict = "[green]AGREE[/green]" if report.passed else "[red]DISAGREE[/red]"
    excluded = f", {int(report.excluded.sum())} kink coordinate(s) excluded" if report.excluded.any() else ""
    console.print(f"relative error {fmt_error(report.relative_error)} (tolerance {report.tolerance:g}"
                  f"{excluded}): {verdict}")
    print_findings(console, "Findings", report.diagnoses)
    if reference is not None:
        _print_reference(console, reference, escape)
    if plot_path:
        console.print(f"wrote {escape(str(plot_path))}")


def _print_reference(console, reference, escape) -> None:
    """The layout theta was read in, then each finding with its per-block errors and the
    closest catalogued mistake."""
    layout = reference.layout
    if layout is not None:
        same = f"; the same order as {', '.join(layout['same_order_as'])}" if layout["same_order_as"] else ""
        samples = "; X holds one sample per column" if layout["samples"] == "columns" else ""
        console.print(f"[bold]Reference layout[/bold]: {escape(layout['name'])} — "
                      f"{escape(layout['description'])}{escape(same)}; labels {escape(layout['labels'])}"
                      f"{samples} ({escape(layout['how'])}).")
    if not reference.findings:
        console.print("Reference comparison: the gradient (and cost) are the reference network's.")
        return
    print_findings(console, "Reference comparison", reference.findings)
    for d in reference.findings:
        table = _reference_block_table(d, escape)
        if table is not None:
            console.print(table)


def _reference_block_table(d, escape):
    """Per block, the user's gradient's relative error to the correct gradient (and to the
    mistake named); the closest catalogued mistake is in the finding's message."""
    from rich.table import Table

    evidence = d.evidence.get("gradient", d.evidence)
    to_correct = evidence.get("block_errors_to_correct")
    if not to_correct:
        return None
    to_mistake = evidence.get("block_errors_to_mistake")
    title = f"Per block, {d.code}"
    table = Table(title=escape(title))
    table.add_column("block")
    table.add_column("relative error to the correct gradient")
    if to_mistake:
        table.add_column(f"to {d.code}")
    for name, error in to_correct.items():
        table.add_row(escape(name), fmt_error(error), *([fmt_error(to_mistake[name])] if to_mistake else []))
    return table


def _block_table(report):
    from rich.markup import escape  # block names are the user's: '[/x]' is text, not markup
    from rich.table import Table

    table = Table(title="Per block")
    for col in ("block", "shape", "order", "relative error", "verdict"):
        table.add_column(col)
    errors = report.block_errors
    tol = report.tolerance
    for b in report.blocks:
        err = errors[b.name]
        table.add_row(escape(b.name), "x".join(map(str, b.shape)), b.order, fmt_error(err),
                      "agree" if err <= tol else "[red]disagree[/red]")
    return table


def _parts_table(report):
    """The parts the findings explain (a bias column, rows r..s, a run of coordinates), each with
    its relation and the relative error on it; None when no finding splits a block."""
    from rich.markup import escape
    from rich.table import Table

    rows = [(d.code, part) for d in report.diagnoses for part in d.evidence.get("parts", [])]
    if not rows:
        return None
    table = Table(title="Per part (a: analytic, n: numerical)")
    for col in ("part", "relation", "finding", "relative error"):
        table.add_column(col)
    for code, part in rows:
        table.add_row(escape(part["label"]), escape(part["formula"]), code, fmt_error(part["relative_error"]))
    return table


