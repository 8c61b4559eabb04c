"""``gradcheck predict``: a saved model on images, .npy or CSV rows."""
from __future__ import annotations

from gradcheck.cli.common import check_positive, make_console, plain_text, print_json
from gradcheck.cli.evaluate import load_model
from gradcheck.data.inputs import predictions, read_inputs
from gradcheck.errors import ExitStatus

# --- gradcheck predict --------------------------------------------------------------------

def add_predict(sub) -> None:
    p = sub.add_parser("predict", help="labels and probabilities for an image, .npy or CSV file",
                       description="Predict with a saved model. An image (PNG, JPEG ...) is made "
                                   "grayscale, inverted if its background is light, and cropped, "
                                   "scaled and centred like MNIST; a .npy array or a CSV file gives "
                                   "one sample per row (pixels 0..255 are divided by 255).")
    p.add_argument("model", help="a model file written by gradcheck train --out")
    p.add_argument("file", help="an image, a .npy array or a .csv file")
    p.add_argument("--top", type=int, default=3, help="most probable classes to show (default 3)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_run_predict)


def _run_predict(args) -> int:

    check_positive("--top", args.top, int)
    net = load_model(args.model)
    meta = net.metadata
    X, notes = read_inputs(args.file, net.sizes[0], meta.get("image_shape"), meta.get("image_order", "C"),
                           meta.get("input_scale"))
    rows = predictions(net, X, top=args.top, labels=meta.get("labels"))
    if args.json:
        print_json({"model": str(args.model), "file": str(args.file), "notes": notes, "predictions": rows})
        return ExitStatus.OK
    console = make_console()
    for note in notes:
        console.print(f"note: {plain_text(args.file)} {plain_text(note)}")
    for row in rows[:50]:
        top = ", ".join(f"{plain_text(label)} {p:.3f}" for label, p in row["top"])
        label = plain_text(row["label"])
        console.print(f"{row['index']}: [bold]{label}[/bold] (p={row['probability']:.3f}; top: {top})")
    if len(rows) > 50:
        console.print(f"... {len(rows) - 50} more rows; use --json for all of them.")
    return ExitStatus.OK
