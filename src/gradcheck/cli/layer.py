"""``gradcheck doctor --layer``: check a layer's backward from the user's module.

::

    gradcheck doctor --layer FILE.py:FORWARD FILE.py:BACKWARD --inputs x=4x5,w=5x3,b=3
                     [--params '{"stride": 1, "pad": 1}'] [--constants y] [--reference affine]
                     [--seed N] [--eps E] [--quick [--directions K]] [--json] [--plot FILE.png]
    gradcheck doctor --layer FILE.py:MyFunction --inputs ...        # a torch.autograd.Function
    gradcheck doctor --layer FILE.py:softmax_loss --inputs ...      # returns (loss, dx) itself

``--inputs`` items are ``NAME=SHAPE`` (standard normal floats, seeded by ``--seed``),
``NAME=SHAPE:float32``, ``NAME=SHAPE:intK`` (integers 0..K-1: labels, indices),
``NAME=SHAPE:bool`` (a 0/1 mask) or ``NAME=FILE.npy``.  Without ``--inputs`` the module's
``inputs`` dict is used, and without ``--params`` its ``params`` dict.
"""
from __future__ import annotations

import json
import re

import numpy as np

from gradcheck._files import read_numeric_npy
from gradcheck.check.layer.check import LayerReport, check_layer
from gradcheck.check.userinput import MAX_INPUT_BYTES, describe_value, load_function
from gradcheck.cli.common import fmt_error, make_console, plain_text, print_findings, print_json
from gradcheck.errors import ConfigError, DataError, ExitStatus, UserCodeError
from gradcheck.nn.layers import get_layer

__all__ = ["add_layer_arguments", "run_layer", "parse_inputs", "parse_params", "print_layer"]

_ITEM = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>[^,]+?)\s*$")
_SHAPE = re.compile(r"^\d+(x\d+)*$")
_KIND = re.compile(r"^(float32|float64|bool|int(?P<k>\d+))$")
#: Options of the network-function modes that mean nothing for a layer.
_NOT_FOR_LAYERS = ("blocks", "theta", "data", "workers", "columns", "analytic_first")


def add_layer_arguments(p) -> None:
    """The doctor's options for ``--layer``."""
    p.add_argument("--layer", nargs="+", metavar="FILE.py:FUNC",
                   help="check a layer's backward: FILE.py:FORWARD FILE.py:BACKWARD, a loss returning "
                        "(loss, dx), or a torch.autograd.Function (FILE.py:MyFunction)")
    p.add_argument("--inputs", metavar="SPEC", help="the layer's inputs in forward's order, e.g. "
                   "x=4x5,w=5x3,b=3 (also y=4:int10, mask=4x5:bool, x=4x5:float32, x=FILE.npy)")
    p.add_argument("--params", metavar="JSON", help='forward\'s other arguments as JSON, e.g. '
                   '\'{"stride": 1, "pad": 1}\'')
    p.add_argument("--constants", metavar="NAMES", help="float inputs held fixed (not differentiated), "
                   "e.g. X")


def parse_params(text: str) -> dict:
    """``'{"stride": 1}'`` -> ``{"stride": 1}``; anything but a JSON object is refused."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--params is not valid JSON ({exc.msg} at character {exc.pos}); write e.g. "
                          f"'{{\"stride\": 1, \"pad\": 1}}'.") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--params must be a JSON object of forward's arguments, got {describe_value(value)}; "
                          f"write e.g. '{{\"stride\": 1}}'.")
    return value


def _input_value(name: str, value: str, rng: np.random.Generator) -> np.ndarray:
    if value.endswith(".npy"):
        return read_numeric_npy(value, DataError, MAX_INPUT_BYTES)
    shape_text, _, kind = value.partition(":")
    kind_match = _KIND.match(kind or "float64")
    if not _SHAPE.match(shape_text) or kind_match is None:
        raise ConfigError(f"--inputs {name}={value!r} is not SHAPE[:KIND] or a .npy file; write e.g. "
                          f"{name}=4x5, {name}=4:int10, {name}=4x5:bool or {name}=4x5:float32.")
    shape = tuple(int(s) for s in shape_text.split("x"))
    if 0 in shape or int(np.prod(shape)) > 10**7:
        raise ConfigError(f"--inputs {name} has shape {shape}; give 1 to 10,000,000 values.")
    if kind_match["k"] is not None:
        if int(kind_match["k"]) < 1:
            raise ConfigError(f"--inputs {name}={value}: intK needs K >= 1 classes.")
        return rng.integers(0, int(kind_match["k"]), shape)
    if kind == "bool":
        return rng.random(shape) < 0.5
    return rng.standard_normal(shape).astype(kind or "float64")


def parse_inputs(text: str, seed: int | None) -> dict[str, np.ndarray]:
    """``"x=4x5,w=5x3,b=3"`` -> seeded arrays of those shapes, in that order."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for item in filter(str.strip, text.split(",")):
        match = _ITEM.match(item)
        if match is None:
            raise ConfigError(f"--inputs item {item.strip()!r} is not NAME=SHAPE; write e.g. x=4x5,w=5x3,b=3.")
        if match["name"] in inputs:
            raise ConfigError(f"--inputs names {match['name']!r} twice; give each input once.")
        inputs[match["name"]] = _input_value(match["name"], match["value"], rng)
    if not inputs:
        raise ConfigError("--inputs is empty; write e.g. x=4x5,w=5x3,b=3.")
    return inputs


def _module_value(module, name: str, spec: str, kind: type):
    value = getattr(module, name, None)
    if value is not None and not isinstance(value, kind):
        raise UserCodeError(f"{spec.rpartition(':')[0]} defines {name} as {describe_value(value)}, not a dict; "
                            f"define {name} = {{'x': ..., ...}} or pass --{name}.")
    return value


def _refuse_other_modes(args) -> None:
    given = [f"--{name.replace('_', '-')}" for name in _NOT_FOR_LAYERS if getattr(args, name, None)]
    if args.functions or given:
        what = ", ".join(given) or "FILE.py:COST FILE.py:GRAD"
        raise ConfigError(f"{what} belong(s) to the other doctor modes; with --layer the blocks are the "
                          f"layer's inputs: give --inputs (and --params, --constants) instead.")
    if len(args.layer) > 2:
        raise ConfigError("--layer takes FILE.py:FORWARD FILE.py:BACKWARD, or one FILE.py:FUNC.")
    if args.quick and (args.plot or args.reference):
        raise ConfigError("--plot and --reference belong to the full check of every coordinate: drop "
                          "--quick.")
    if isinstance(args.reference, dict):
        raise ConfigError("with --layer, --reference names a reference layer (e.g. --reference affine), "
                          "not a network spec.")
    if args.reference is not None:
        get_layer(args.reference)  # an unknown name is refused before any user code runs


def _layer_source(args, inputs_text, params) -> dict:
    return {"mode": "layer", "forward": args.layer[0],
            "backward": args.layer[1] if len(args.layer) == 2 else None,
            "inputs": inputs_text or "module", "params": params, "reference": args.reference,
            "seed": args.seed if args.seed is not None else 0}


def run_layer(args, running_user_code) -> int:
    """Check the layer; print the report (or JSON); 0 if the backward agrees, else 1."""
    _refuse_other_modes(args)
    params = parse_params(args.params) if args.params else None
    constants = [c.strip() for c in args.constants.split(",") if c.strip()] if args.constants else ()
    seed = args.seed if args.seed is not None else 0
    inputs = parse_inputs(args.inputs, seed) if args.inputs else None
    with running_user_code(args.json):
        module, forward = load_function(args.layer[0])
        backward = load_function(args.layer[1])[1] if len(args.layer) == 2 else None
        inputs = inputs if inputs is not None else _module_value(module, "inputs", args.layer[0], dict)
        params = params if params is not None else _module_value(module, "params", args.layer[0], dict)
        if inputs is None:
            raise ConfigError("say what to check the layer at: --inputs x=4x5,w=5x3,b=3, or define "
                              "inputs = {'x': ..., ...} in your module.")
        report = check_layer(forward, backward, inputs, params=params, constants=constants, seed=seed,
                             eps=args.eps, reference=args.reference, quick=args.quick,
                             k=args.directions, n_samples=args.samples)
        if args.plot:
            report.plot(args.plot)
    if args.json:
        print_json({"command": "doctor", "agree": report.passed,
                     "source": _layer_source(args, args.inputs, params), **report.to_dict()})
    else:
        print_layer(report, args.plot)
    return ExitStatus.OK if report.passed else ExitStatus.CHECK_FAILED


# --- printing -----------------------------------------------------------------------------------

def _inputs_table(report: LayerReport):
    from rich.table import Table

    table = Table(title=f"Inputs ({report.kind} layer, {report.mode} check, upstream gradient seed "
                        f"{report.seed})")
    for col in ("input", "shape", "dtype", "gradient returned", "relative error", "verdict"):
        table.add_column(col)
    for i in report.inputs.values():
        verdict = ("held fixed" if not i.differentiated else "-" if i.passed is None else
                   "agree" if i.passed else "[red]disagree[/red]")
        returned = "-" if i.returned_shape is None else "x".join(map(str, i.returned_shape)) or "()"
        table.add_row(plain_text(i.name), "x".join(map(str, i.shape)) or "()", i.dtype, returned,
                      fmt_error(i.relative_error), verdict)
    return table


def _worst_table(gradient, n: int = 8):
    from rich.table import Table

    table = Table(title=plain_text(f"Worst {n} coordinates as input[index], 0-based"))
    for col in ("coordinate", "numerical", "analytic", "|difference|"):
        table.add_column(col)
    for c in gradient.worst(n):
        table.add_row(plain_text(c["label"]), f"{c['numerical']: .6e}", f"{c['analytic']: .6e}",
                      fmt_error(c["abs_diff"]))
    return table




def _print_directions(console, quick) -> None:
    for i, (n, a, e) in enumerate(zip(quick.numerical, quick.analytic, quick.errors)):
        console.print(f"direction {i + 1}: numerical {n: .9e}, analytic {a: .9e}, relative error {fmt_error(e)}")
    if quick.inconclusive:
        console.print(f"[yellow]INCONCLUSIVE[/yellow]: {plain_text(quick.inconclusive)}.")
    if len(quick.located):
        console.print("wrong coordinates: " + plain_text(", ".join(quick.labels[:20]))
                      + (" ..." if len(quick.located) > 20 else ""))


def print_layer(report: LayerReport, plot_path=None) -> None:
    """Per-input table, worst coordinates (full check), the verdict, findings, notes, reference."""
    console = make_console()
    console.print(_inputs_table(report))
    if report.gradient is not None:
        console.print(_worst_table(report.gradient))
    elif report.quick is not None:
        _print_directions(console, report.quick)
    verdict = "[green]AGREE[/green]" if report.passed else "[red]DISAGREE[/red]"
    error = f"relative error {fmt_error(report.relative_error)}: " if report.gradient is not None else ""
    console.print(f"{error}{verdict}")
    print_findings(console, "Findings", report.findings, say_none=False)
    print_findings(console, "Notes (not counted against the layer)", report.notes, say_none=False)
    print_findings(console, "Reference comparison", report.reference, say_none=False)
    if plot_path:
        console.print(f"wrote {plain_text(plot_path)}")
