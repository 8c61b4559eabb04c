"""``gradcheck check``: check the library's own network on random data."""
from __future__ import annotations

from gradcheck.check.gradient import check_network
from gradcheck.check.matrix import draw_problem
from gradcheck.cli.common import (
    check_count,
    fmt_error,
    make_console,
    names_arg,
    print_json,
    problem_bytes,
    require_memory,
    seed_arg,
    sizes_arg,
)
from gradcheck.errors import ExitStatus

# --- gradcheck check --------------------------------------------------------------------

def _add_network_options(p) -> None:
    p.add_argument("--sizes", type=sizes_arg, default=[4, 5, 3], help="layer widths (default 4,5,3)")
    p.add_argument("--hidden", type=names_arg, default=["sigmoid"],
                   help="hidden activation, or one per hidden layer (comma-separated)")
    p.add_argument("--output", default="softmax", help="output activation (default softmax)")
    p.add_argument("--loss", default="cross_entropy", help="loss (default cross_entropy)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 weight decay lambda (default 0)")
    p.add_argument("--reduction", choices=["mean", "sum"], default="mean")
    p.add_argument("--allow-unsafe", action="store_true",
                   help="accept a refused output/loss pairing (clipped log-loss)")


def add_check(sub) -> None:
    p = sub.add_parser("check", help="check one configuration and print the per-block report",
                       description="Check the library's own backprop for one network configuration "
                                   "on seeded random data, drawn away from kinks.")
    _add_network_options(p)
    p.add_argument("--samples", type=int, default=7, help="rows of random data (default 7)")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--eps", type=float, default=1e-6, help="central-difference step (default 1e-6)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_run_check)


def _run_check(args) -> int:

    check_count("--samples", args.samples)
    require_memory(f"--samples {args.samples} with --sizes {','.join(map(str, args.sizes))}",
                   problem_bytes(args.sizes, args.samples), "use fewer samples or smaller layers")
    hidden = args.hidden[0] if len(args.hidden) == 1 else args.hidden
    net, X, Y, used = draw_problem(args.sizes, hidden, args.output, args.loss, args.samples,
                                   args.seed, l2=args.l2, reduction=args.reduction,
                                   allow_unsafe=args.allow_unsafe)
    report = check_network(net, X, Y, eps=args.eps)
    if args.json:
        print_json({"network": net.config(), "seed": used, **report.to_dict()})
    else:
        print_report(report, title=repr(net))
    return ExitStatus.OK if report.passed else ExitStatus.CHECK_FAILED


def print_report(report, title: str = "", n_worst: int = 5) -> None:
    """Print a :class:`~gradcheck.check.report.GradientReport`: blocks, worst coordinates, verdict."""
    from rich.markup import escape  # block names and labels are the user's: '[x]' is text
    from rich.table import Table

    console = make_console()
    if title:
        console.print(escape(title))
    blocks = Table(title="Per block")
    for col in ("block", "shape", "relative error"):
        blocks.add_column(col)
    errors = report.block_errors
    for b in report.blocks:
        blocks.add_row(escape(b.name), "x".join(map(str, b.shape)), fmt_error(errors[b.name]))
    console.print(blocks)
    worst = Table(title=f"Worst {n_worst} coordinates")
    for col in ("coordinate", "numerical", "analytic", "|difference|"):
        worst.add_column(col)
    for c in report.worst(n_worst):
        worst.add_row(escape(c["label"]), f"{c['numerical']: .6e}", f"{c['analytic']: .6e}", fmt_error(c["abs_diff"]))
    console.print(worst)
    verdict = "[green]PASS[/green]" if report.passed else "[red]FAIL[/red]"
    console.print(f"relative error {fmt_error(report.relative_error)} (tolerance {report.tolerance:g}, "
                  f"{report.evaluator}): {verdict}")
