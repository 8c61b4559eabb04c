"""``gradcheck evaluate``: a saved model on a dataset."""
from __future__ import annotations

import sys
from pathlib import Path

from gradcheck.cli.common import load_data, make_console, plain_text, print_json, printable, registered_dataset
from gradcheck.errors import DataError, ExitStatus, ModelFileError
from gradcheck.nn.network import Network
from gradcheck.plots import confusion_matrix
from gradcheck.train.evaluation import evaluate

# --- gradcheck evaluate -------------------------------------------------------------------

def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy, loss, per-class precision/recall, confusion matrix",
                       description="Evaluate a saved model on a dataset's test split (or train split).")
    p.add_argument("model", help="a model file written by gradcheck train --out")
    p.add_argument("--data", help="dataset name or path (default: the one the model was trained on)")
    p.add_argument("--split", choices=["test", "train"], default="test")
    p.add_argument("--plot", help="draw the confusion matrix here (.png, .pdf, .svg)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_run_evaluate)


def load_model(path):

    return Network.load(path)


def _check_features(net, n_features: int, model_path, data_name) -> None:
    if net.sizes[0] != n_features:
        raise ModelFileError(f"{model_path} takes {net.sizes[0]} features per sample but "
                             f"{data_name} has {n_features}; use the data the model was trained on.")




def _training_data(net, model_path) -> str:
    """Where the model's training data is: its saved path, or a registered dataset's name.

    A bare file name (models saved before paths were kept) would be looked up in the
    current directory, where an unrelated file of that name may be: it is refused instead.
    """
    meta = net.metadata
    path, name = meta.get("data_path"), meta.get("dataset") or "mnist-sample"
    if path is not None:
        if not Path(path).exists():
            raise DataError(f"{model_path} was trained on {path}, which is not there any more; "
                            f"give the data with --data.")
        return path
    if not registered_dataset(name):
        raise DataError(f"{model_path} was trained on {name} but does not say where that file is; "
                        f"give the data with --data.")
    return name


def _run_evaluate(args) -> int:

    net = load_model(args.model)
    data = args.data or _training_data(net, args.model)
    ds = load_data(data, quiet=args.json, input_scale=net.metadata.get("input_scale"))
    _check_features(net, ds.n_features, args.model, ds.name)
    outputs = net.sizes[-1]
    if ds.n_classes > max(outputs, 2):  # fewer classes than outputs: a subset, fine
        raise ModelFileError(f"{args.model} tells {max(outputs, 2)} classes apart but {ds.name} "
                             f"has {ds.n_classes}; use the data the model was trained on.")
    _warn_other_data(net, args.model, data, ds)
    X, y = (ds.X_test, ds.y_test) if args.split == "test" else (ds.X_train, ds.y_train)
    result = evaluate(net, X, y, labels=net.metadata.get("labels"))
    if args.plot:
        confusion_matrix(result.confusion, args.plot, result.labels,
                         title=f"{args.model} on {ds.name} ({args.split}): accuracy {result.accuracy:.4f}")
    if args.json:
        print_json({"model": str(args.model), "data": ds.name, "split": args.split, **result.to_dict()})
    else:
        _print_evaluation(result, f"{args.model} on the {args.split} split of {ds.name}")
        if args.plot:
            make_console().print(f"confusion matrix drawn in {plain_text(args.plot)}")
    return ExitStatus.OK


# the embedded sample is 5,000 of MNIST's digits: a model of one is fairly tried on the other
_SAME_DIGITS = {"mnist-sample": "mnist"}


def _warn_other_data(net, model_path, data: str, ds) -> None:
    """A warning when the data is not what the model was trained on (an MNIST model on
    Fashion-MNIST answers, wrongly, for every image): another name, or another place."""
    meta = net.metadata
    trained_on, trained_path = meta.get("dataset"), meta.get("data_path")
    if trained_on is None:
        return  # a model saved by the library without metadata: nothing to compare
    here = None if registered_dataset(data) else str(Path(data).expanduser().resolve())
    same_name = _SAME_DIGITS.get(trained_on, trained_on) == _SAME_DIGITS.get(ds.name, ds.name)
    if same_name and (trained_path is None or here is None or trained_path == here):
        return
    where = f" ({trained_path})" if trained_path and trained_path != here else ""
    print(f"gradcheck evaluate: warning: {printable(model_path)} was trained on "
          f"{printable(trained_on)}{printable(where)}, not on {printable(ds.name)}; its accuracy "
          f"here says how it does on other data.", file=sys.stderr)


def _print_evaluation(result, title: str) -> None:
    from rich.table import Table

    console = make_console()
    console.print(f"{plain_text(title)}: accuracy [bold]{result.accuracy:.4f}[/bold] on {result.n_samples} "
                  f"samples, loss {result.loss:.4f}")
    per_class = Table(title="Per class")
    for col in ("class", "samples", "precision", "recall"):
        per_class.add_column(col, justify="right")
    for name, n, p, r in zip(result.labels, result.confusion.sum(axis=1), result.precision, result.recall):
        per_class.add_row(plain_text(name), str(n), f"{p:.4f}", f"{r:.4f}")
    console.print(per_class)
    confusion = Table(title="Confusion matrix (rows: true class, columns: predicted)")
    confusion.add_column("")
    for name in result.labels:
        confusion.add_column(plain_text(name), justify="right")
    for name, row in zip(result.labels, result.confusion):
        confusion.add_row(plain_text(name), *(str(v) if v else "." for v in row))
    console.print(confusion)
