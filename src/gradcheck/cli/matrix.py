"""``gradcheck matrix``: every activation/loss pairing checked on a small network."""
from __future__ import annotations

from gradcheck.check.matrix import pairing_matrix
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
from gradcheck.nn.activations import get_activation
from gradcheck.nn.losses import get_loss, pair

# --- gradcheck matrix -------------------------------------------------------------------

def add_matrix(sub) -> None:
    p = sub.add_parser("matrix", help="check backprop for every hidden x output x loss pairing",
                       description="Check backprop on a small seeded network for every hidden "
                                   "activation x output activation x loss, and list refused pairings.")
    p.add_argument("--sizes", type=sizes_arg, default=[4, 5, 3], help="layer widths (default 4,5,3)")
    p.add_argument("--samples", type=int, default=7, help="rows of random data (default 7)")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--hidden", type=names_arg, help="only these hidden activations (comma-separated)")
    p.add_argument("--output", type=names_arg, help="only these output activations")
    p.add_argument("--loss", type=names_arg, help="only these losses")
    p.add_argument("--full", action="store_true", help="one row per hidden activation too")
    p.add_argument("--json", action="store_true", help="print every row as JSON")
    p.set_defaults(run=_run_matrix)


def _run_matrix(args) -> int:

    check_count("--samples", args.samples)
    require_memory(f"--samples {args.samples} with --sizes {','.join(map(str, args.sizes))}",
                   problem_bytes(args.sizes, args.samples), "use fewer samples or smaller layers")
    hidden = [get_activation(h).spec for h in args.hidden] if args.hidden else None
    outputs = [get_activation(o).spec for o in args.output] if args.output else None
    losses = [get_loss(x).name for x in args.loss] if args.loss else None
    rows = pairing_matrix(args.sizes, args.samples, args.seed, hidden, outputs, losses)
    ok = all(r.passed for r in rows if r.status != "refused")
    if args.json:
        print_json({"sizes": args.sizes, "samples": args.samples, "passed": ok,
                     "rows": [r.to_dict() for r in rows]})
    else:
        _matrix_tables(rows, args.full)
    return ExitStatus.OK if ok else ExitStatus.CHECK_FAILED


def _matrix_tables(rows, full: bool) -> None:
    from rich.table import Table

    console = make_console()
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
        table.add_row(o, loss, group[0].status, pair(o, loss).delta_formula, fmt_error(worst),
                      f"{passed}/{len(group)}")
    console.print(table)
    if full:
        detail = Table(title="Every checked combination")
        for col in ("hidden", "output", "loss", "rel. error", "verdict"):
            detail.add_column(col)
        for r in checked:
            detail.add_row(r.hidden, r.output, r.loss, fmt_error(r.relative_error), "pass" if r.passed else "FAIL")
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
