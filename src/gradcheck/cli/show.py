"""``gradcheck show``: a saved model's header and its first layer's weights."""
from __future__ import annotations

from gradcheck.cli.common import check_positive, make_console, plain_text, print_json
from gradcheck.cli.evaluate import load_model
from gradcheck.errors import ExitStatus, ModelFileError
from gradcheck.plots import weight_grid

# --- gradcheck show -----------------------------------------------------------------------

def add_show(sub) -> None:
    p = sub.add_parser("show", help="describe a saved model; --plot draws its hidden units as images",
                       description="Print a saved model's architecture, and with --plot draw the "
                                   "input weights of its first hidden layer as a grid of images.")
    p.add_argument("model", help="a model file written by gradcheck train --out")
    p.add_argument("--plot", help="draw the hidden units' weights here (.png, .pdf, .svg)")
    p.add_argument("--units", type=int, default=100, help="draw at most this many units (default 100)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_run_show)


def _run_show(args) -> int:
    check_positive("--units", args.units, int)
    net = load_model(args.model)
    if args.plot:
        _draw_weights(net, args)
    info = {"model": str(args.model), **net.config(), "n_params": net.n_params, "metadata": net.metadata}
    if args.json:
        print_json(info)
        return ExitStatus.OK
    console = make_console()
    console.print(plain_text(repr(net)))
    console.print(f"{net.n_params} parameters; " + ", ".join(
        f"W{l} {W.shape[0]}x{W.shape[1]}" for l, (W, _) in enumerate(net.layers, start=1)))
    for key, value in net.metadata.items():
        console.print(plain_text(f"{key}: {value}"))
    if args.plot:
        console.print(f"weights of {min(args.units, net.sizes[1])} hidden units drawn in {plain_text(args.plot)}")
    return ExitStatus.OK


def _draw_weights(net, args) -> None:
    import math

    shape = net.metadata.get("image_shape")
    side = math.isqrt(net.sizes[0])
    if shape is None and side * side != net.sizes[0]:
        raise ModelFileError(f"{args.model} records no image shape and its {net.sizes[0]} inputs "
                             f"are not a square image, so its weights cannot be drawn as images.")
    shape = shape or (side, side)
    weight_grid(net.layers[0][0], shape, args.plot, max_units=args.units,
                order=net.metadata.get("image_order", "C"), title=f"{args.model}: first-layer weights")
