"""The ``gradcheck`` command line: parse, call the library, print.

``main(argv=None) -> int`` returns an :class:`~gradcheck.errors.ExitStatus`; every
library error becomes one sentence on stderr and its own exit status (``--debug``
shows the traceback instead).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback

from .errors import ConfigError, ExitStatus, GradcheckError

__all__ = ["main", "build_parser"]


def _console(stderr=False):
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, emoji=False)  # ":smile:" in a name is text
    if not console.is_terminal:  # piped output: wide enough for the tables, no wrapping
        console.width = 140
    return console


MAX_COUNT = 2**31 - 1  # the largest width, sample count, epoch count ... an option takes


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.replace("x", ",").split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers like 4,5,3, got {text!r}")
    if len(sizes) < 2 or min(sizes) < 1 or max(sizes) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"sizes needs at least two widths from 1 to {MAX_COUNT}, "
                                         f"got {text!r}")
    return sizes


def check_count(flag: str, value, low: int = 1, high: int = MAX_COUNT) -> None:
    """Refuse a whole-number option outside ``low..high`` (None passes: not given)."""
    if value is not None and not low <= value <= high:
        raise ConfigError(f"{flag} must be a whole number from {low} to {high}, got {value}.")


def _available_memory() -> int | None:
    """Bytes the kernel says a new allocation can get (``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def require_memory(what: str, nbytes: float, advice: str) -> None:
    """Refuse work whose arrays would not fit in the memory available now.

    numpy's allocations succeed lazily under overcommit and the kernel then kills the
    process without a word; an estimate checked up front gives the sentence instead.
    """
    available = _available_memory()
    if available is not None and nbytes > available:
        raise ConfigError(f"{what} needs about {nbytes / 1e9:.1f} GB of memory but "
                          f"{available / 1e9:.1f} GB are available; {advice}.")


def _problem_bytes(sizes, samples: int) -> float:
    """Rough peak of checking one network on random data in float64: the data and every
    layer's pre-activations, activations and deltas many times over (the structure-aware
    evaluator works on many perturbed copies at once: 3.3 GB measured for 2,000,000 samples
    of 4-5-3, 20 x 8 bytes x samples x widths = 3.8 GB), and the parameter-sized vectors."""
    widths = sum(sizes)
    params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 8.0 * (20 * samples * widths + 8 * params)


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"a seed must be a non-negative integer like 0, got {text!r}")
    return seed


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.2e}"


def _json_safe(obj):
    """``obj`` with every NaN or infinite float as None: JSON has no such numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _print_json(obj) -> None:
    print(json.dumps(_json_safe(obj), indent=2, allow_nan=False))


# --- gradcheck matrix -------------------------------------------------------------------

def _add_matrix(sub) -> None:
    p = sub.add_parser("matrix", help="check backprop for every hidden x output x loss pairing",
                       description="Check backprop on a small seeded network for every hidden "
                                   "activation x output activation x loss, and list refused pairings.")
    p.add_argument("--sizes", type=_sizes, default=[4, 5, 3], help="layer widths (default 4,5,3)")
    p.add_argument("--samples", type=int, default=7, help="rows of random data (default 7)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--hidden", type=_names, help="only these hidden activations (comma-separated)")
    p.add_argument("--output", type=_names, help="only these output activations")
    p.add_argument("--loss", type=_names, help="only these losses")
    p.add_argument("--full", action="store_true", help="one row per hidden activation too")
    p.add_argument("--json", action="store_true", help="print every row as JSON")
    p.set_defaults(run=_run_matrix)


def _run_matrix(args) -> int:
    from .activations import get_activation
    from .losses import get_loss
    from .matrix import pairing_matrix

    check_count("--samples", args.samples)
    require_memory(f"--samples {args.samples} with --sizes {','.join(map(str, args.sizes))}",
                   _problem_bytes(args.sizes, args.samples), "use fewer samples or smaller layers")
    hidden = [get_activation(h).spec for h in args.hidden] if args.hidden else None
    outputs = [get_activation(o).spec for o in args.output] if args.output else None
    losses = [get_loss(x).name for x in args.loss] if args.loss else None
    rows = pairing_matrix(args.sizes, args.samples, args.seed, hidden, outputs, losses)
    ok = all(r.passed for r in rows if r.status != "refused")
    if args.json:
        _print_json({"sizes": args.sizes, "samples": args.samples, "passed": ok,
                     "rows": [r.to_dict() for r in rows]})
    else:
        _matrix_tables(rows, args.full)
    return ExitStatus.OK if ok else ExitStatus.CHECK_FAILED


def _matrix_tables(rows, full: bool) -> None:
    from rich.table import Table

    from .losses import pair

    console = _console()
    checked = [r for r in rows if r.status != "refused"]
    table = Table(title="Accepted pairings (worst relative error over the hidden activations)")
    for col in ("output", "loss", "path", "output delta", "worst rel. error", "passed"):
        table.add_column(col)
    groups: dict = {}
    for r in checked:
        groups.setdefault((r.output, r.loss), []).append(r)
    for (o, loss), group in groups.items():
        worst = max(r.relative_error for r in group)
        passed = sum(r.passed for r in group)
        table.add_row(o, loss, group[0].status, pair(o, loss).delta_formula, _fmt(worst),
                      f"{passed}/{len(group)}")
    console.print(table)
    if full:
        detail = Table(title="Every checked combination")
        for col in ("hidden", "output", "loss", "rel. error", "verdict"):
            detail.add_column(col)
        for r in checked:
            detail.add_row(r.hidden, r.output, r.loss, _fmt(r.relative_error), "pass" if r.passed else "FAIL")
        console.print(detail)
    refused = {(r.output, r.loss): r.reason for r in rows if r.status == "refused"}
    if refused:
        ref = Table(title="Refused pairings (Network(..., allow_unsafe=True) overrides)")
        for col in ("output", "loss", "why"):
            ref.add_column(col)
        for (o, loss), why in refused.items():
            ref.add_row(o, loss, why)
        console.print(ref)
    failed = [r for r in checked if not r.passed]
    console.print(f"{len(checked) - len(failed)}/{len(checked)} checked combinations pass; "
                  f"{len(refused)} pairings refused.")


# --- gradcheck check --------------------------------------------------------------------

def _add_network_options(p) -> None:
    p.add_argument("--sizes", type=_sizes, default=[4, 5, 3], help="layer widths (default 4,5,3)")
    p.add_argument("--hidden", type=_names, default=["sigmoid"],
                   help="hidden activation, or one per hidden layer (comma-separated)")
    p.add_argument("--output", default="softmax", help="output activation (default softmax)")
    p.add_argument("--loss", default="cross_entropy", help="loss (default cross_entropy)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 weight decay lambda (default 0)")
    p.add_argument("--reduction", choices=["mean", "sum"], default="mean")
    p.add_argument("--allow-unsafe", action="store_true",
                   help="accept a refused output/loss pairing (clipped log-loss)")


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="check one configuration and print the per-block report",
                       description="Check the library's own backprop for one network configuration "
                                   "on seeded random data, drawn away from kinks.")
    _add_network_options(p)
    p.add_argument("--samples", type=int, default=7, help="rows of random data (default 7)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--eps", type=float, default=1e-6, help="central-difference step (default 1e-6)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_run_check)


def _run_check(args) -> int:
    from .check import check_network
    from .matrix import draw_problem

    check_count("--samples", args.samples)
    require_memory(f"--samples {args.samples} with --sizes {','.join(map(str, args.sizes))}",
                   _problem_bytes(args.sizes, args.samples), "use fewer samples or smaller layers")
    hidden = args.hidden[0] if len(args.hidden) == 1 else args.hidden
    net, X, Y, used = draw_problem(args.sizes, hidden, args.output, args.loss, args.samples,
                                   args.seed, l2=args.l2, reduction=args.reduction,
                                   allow_unsafe=args.allow_unsafe)
    report = check_network(net, X, Y, eps=args.eps)
    if args.json:
        _print_json({"network": net.config(), "seed": used, **report.to_dict()})
    else:
        print_report(report, title=repr(net))
    return ExitStatus.OK if report.passed else ExitStatus.CHECK_FAILED


def print_report(report, title: str = "", n_worst: int = 5) -> None:
    """Print a :class:`~gradcheck.check.GradientReport`: blocks, worst coordinates, verdict."""
    from rich.table import Table

    from rich.markup import escape  # block names and labels are the user's: '[x]' is text

    console = _console()
    if title:
        console.print(escape(title))
    blocks = Table(title="Per block")
    for col in ("block", "shape", "relative error"):
        blocks.add_column(col)
    errors = report.block_errors
    for b in report.blocks:
        blocks.add_row(escape(b.name), "x".join(map(str, b.shape)), _fmt(errors[b.name]))
    console.print(blocks)
    worst = Table(title=f"Worst {n_worst} coordinates")
    for col in ("coordinate", "numerical", "analytic", "|difference|"):
        worst.add_column(col)
    for c in report.worst(n_worst):
        worst.add_row(escape(c["label"]), f"{c['numerical']: .6e}", f"{c['analytic']: .6e}", _fmt(c["abs_diff"]))
    console.print(worst)
    verdict = "[green]PASS[/green]" if report.passed else "[red]FAIL[/red]"
    console.print(f"relative error {_fmt(report.relative_error)} (tolerance {report.tolerance:g}, "
                  f"{report.evaluator}): {verdict}")


# --- gradcheck doctor (in cli_doctor.py) -------------------------------------------------

def _add_doctor(sub) -> None:
    from .cli_doctor import add_doctor_parser

    add_doctor_parser(sub)


# --- entry point ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="gradcheck",
        description="A NumPy MLP whose backprop is right, and a gradient checker that names the mistake.")
    parser.add_argument("--version", action="version", version=f"gradcheck {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    for command in sub.choices.values():  # `gradcheck train ... --debug` works too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks of errors")
    return parser


# the training commands live in their own module, argument definitions and all
from .cli_train import add_evaluate as _add_evaluate  # noqa: E402
from .cli_train import add_predict as _add_predict  # noqa: E402
from .cli_train import add_show as _add_show  # noqa: E402
from .cli_train import add_train as _add_train  # noqa: E402

_COMMANDS = [_add_matrix, _add_check, _add_train, _add_evaluate, _add_predict, _add_show, _add_doctor]


def main(argv=None) -> int:
    """Run the command line; return the exit status instead of exiting."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage error
        return int(exc.code or 0)
    if not getattr(args, "run", None):
        parser.print_help()
        return ExitStatus.USAGE
    try:
        return int(args.run(args))
    except GradcheckError as exc:
        if args.debug:  # the traceback, and still the exit status the table promises
            traceback.print_exc()
        print(f"gradcheck {args.command}: error: {exc}", file=sys.stderr)
        return int(exc.exit_status)
    except KeyboardInterrupt:
        print(f"gradcheck {args.command}: interrupted.", file=sys.stderr)
        return int(ExitStatus.INTERRUPTED)
    except MemoryError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"gradcheck {args.command}: error: ran out of memory ({exc or 'MemoryError'}); use "
              f"smaller layers, batches or data.", file=sys.stderr)
        return int(ExitStatus.USAGE)
    except BrokenPipeError:
        return _output_closed()
    except SystemExit as exc:  # rich's console exits with 1 when stdout is a closed pipe
        if isinstance(exc.__context__, BrokenPipeError):
            return _output_closed()
        raise
    except OSError as exc:  # the library turns its own file errors into sentences: this is stdout
        if args.debug:
            traceback.print_exc()
        print(f"gradcheck {args.command}: error: could not write the output "
              f"({exc.strerror or exc}); write it where there is room, or to a terminal.",
              file=sys.stderr)
        return int(ExitStatus.OUTPUT)


def _output_closed() -> int:
    """Whoever read the output stopped (``| head``): stop quietly, as a shell tool does."""
    try:  # later flushes of stdout (at exit) must not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return int(ExitStatus.OUTPUT_CLOSED)


def console_main() -> None:
    sys.exit(main())
