"""The training commands of the ``gradcheck`` CLI: ``train``, ``evaluate``, ``predict``, ``show``.

Each ``add_*`` registers a subcommand on the parser that :mod:`gradcheck.cli` builds;
each ``_run_*`` calls the library and prints.  Errors are the library's own
(:class:`~gradcheck.errors.GradcheckError`), which ``cli.main`` turns into one sentence
and an exit status.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gradcheck._files import check_writable
from gradcheck.cli.common import (
    check_positive,
    load_data,
    make_console,
    plain_text,
    print_json,
    printable,
    registered_dataset,
    require_memory,
    seed_arg,
    warnings_printed,
    widths_arg,
)
from gradcheck.cli.progress import TrainProgress
from gradcheck.data.datasets import default_cache_dir
from gradcheck.errors import ConfigError, DataError, ExitStatus, NumericalError, OutputError
from gradcheck.nn.blocks import mlp_n_params
from gradcheck.nn.network import Network
from gradcheck.plots import check_format, learning_curves
from gradcheck.train.augment import Augment
from gradcheck.train.evaluation import evaluate
from gradcheck.train.loop import fit
from gradcheck.train.optim import FULL_BATCH_METHODS

#: What ``gradcheck train`` does with no arguments: ~0.97 held-out accuracy on the sample.
TRAIN_DEFAULTS: dict[str, Any] = {"data": "mnist-sample", "hidden": [512], "activation": "relu",
                  "optimizer": "adam", "lr": {"adam": 3e-3}, "epochs": 30, "batch_size": 128,
                  "val_fraction": 0.1, "dtype": "float32"}
#: Without --out the model goes here, or to the first free model-N.npz beside it.
DEFAULT_MODEL = "model.npz"


# --- gradcheck train ----------------------------------------------------------------------

def add_train(sub) -> None:
    d = TRAIN_DEFAULTS
    p = sub.add_parser("train", help="train a network and report its held-out accuracy",
                       description="Train a fully connected network (default: one hidden layer of "
                                   "512 relu units, Adam with a cosine schedule, random 2-pixel "
                                   "shifts) on the embedded MNIST sample or your data, and print "
                                   "its accuracy on the held-out test split.")
    p.add_argument("--data", default=d["data"], help="mnist-sample (default), mnist, fashion-mnist, "
                   "an IDX directory, a .mat or a .csv file")
    p.add_argument("--hidden", type=widths_arg, default=d["hidden"], help="hidden layer widths, e.g. 512 or 256,128")
    p.add_argument("--activation", default=d["activation"],
                   help="hidden activation, or one per layer (comma-separated)")
    p.add_argument("--output", default="softmax", help="output activation (default softmax)")
    p.add_argument("--loss", default="cross_entropy", help="loss (default cross_entropy)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 weight decay lambda (default 0)")
    p.add_argument("--allow-unsafe", action="store_true",
                   help="accept a refused output/loss pairing (clipped log-loss)")
    p.add_argument("--optimizer", default=d["optimizer"], help="adam (default), sgd, momentum, nesterov, cg, lbfgs")
    p.add_argument("--lr", type=float, help="learning rate (default 3e-3 for adam, else the optimizer's own)")
    p.add_argument("--epochs", type=int, default=d["epochs"],
                   help=f"epochs, or iterations for cg/lbfgs (default {d['epochs']})")
    p.add_argument("--batch-size", type=int, default=d["batch_size"],
                   help=f"minibatch size (default {d['batch_size']})")
    p.add_argument("--val-fraction", type=float, default=d["val_fraction"],
                   help=f"share of the training split held out for validation "
                        f"(default {d['val_fraction']}; 0 for none)")
    p.add_argument("--patience", type=int, help="stop after this many epochs without a better validation loss")
    p.add_argument("--seed", type=seed_arg, default=0, help="seeds initialisation, batches, augmentation (default 0)")
    p.add_argument("--dtype", choices=["float32", "float64"], default=d["dtype"])
    p.add_argument("--augment", nargs="?", const="shift", choices=["shift", "rotate"],
                   help="random shifts (default for image data), or shifts and rotations")
    p.add_argument("--no-augment", action="store_true", help="train on the images as they are")
    p.add_argument("--out", help=f"save the trained model here (.npz; default {DEFAULT_MODEL}, or "
                                 f"model-2.npz ... when that exists: never overwritten)")
    p.add_argument("--plot", help="draw the learning curves here (.png, .pdf, .svg)")
    p.add_argument("--checkpoint-every", type=int, metavar="N", help="write a checkpoint every N epochs")
    p.add_argument("--checkpoint", metavar="PATH", help="checkpoint file (default checkpoint.npz)")
    p.add_argument("--resume", metavar="PATH", help="continue the run in this checkpoint (same command otherwise)")
    p.add_argument("--json", action="store_true", help="print the history and test metrics as JSON")
    p.set_defaults(run=_run_train)


def _check_train_args(args) -> None:
    args.default_out = args.out is None
    if args.default_out:
        args.out = str(_free_model_path())
    check_positive("--epochs", args.epochs, int)
    check_positive("--batch-size", args.batch_size, int)
    check_positive("--lr", args.lr)
    check_positive("--patience", args.patience, int)
    check_positive("--checkpoint-every", args.checkpoint_every, int)
    if not 0 <= args.val_fraction < 1:
        raise ConfigError(f"--val-fraction must be in [0, 1), got {args.val_fraction}; use 0 for no validation.")
    if args.patience is not None and args.val_fraction == 0:
        raise ConfigError("--patience watches the validation loss; give --val-fraction above 0 as well.")
    if args.augment and args.no_augment:
        raise ConfigError("--augment and --no-augment contradict each other; give one.")
    if args.checkpoint_every is None and args.checkpoint is not None:
        raise ConfigError("--checkpoint names the file that --checkpoint-every N writes; give both.")
    _check_outputs(args)


def _check_outputs(args) -> None:
    """Refuse unwritable output paths before training, not after the work is done."""

    if args.plot:

        check_format(args.plot)
    outputs = [("--out", args.out), ("--plot", args.plot)]
    if args.checkpoint_every:
        outputs.append(("--checkpoint", args.checkpoint or "checkpoint.npz"))
    outputs = [(flag, path) for flag, path in outputs if path]
    # an output written over an input (or over another output) would destroy it; a run may
    # keep checkpointing into the checkpoint it resumed from
    inputs = [(flag, path) for flag, path in (("--data", args.data), ("--resume", args.resume))
              if path and Path(path).is_file()]
    seen: dict[Path, tuple[str, str]] = {}
    for flag, path in [*inputs, *outputs]:
        key = Path(path).resolve()
        other = seen.get(key)
        if other and {flag, other[0]} != {"--resume", "--checkpoint"}:
            raise ConfigError(f"{flag} {path} is the same file as {other[0]} {other[1]}; writing "
                              f"it would destroy that file, give another path.")
        seen[key] = (flag, path)
    for flag, path in outputs:
        check_writable(path, flag, ConfigError)


def _build_network(args, ds):

    activations = [a.strip() for a in args.activation.split(",") if a.strip()]
    hidden = activations[0] if len(activations) == 1 else activations
    sizes = [ds.n_features, *args.hidden, ds.n_classes]
    return Network(sizes, hidden=hidden, output=args.output, loss=args.loss, l2=args.l2,
                   dtype=args.dtype, seed=args.seed, allow_unsafe=args.allow_unsafe)


def _augmentation(args, ds):
    """Shifts by default for image data; none for other data unless asked (then refused)."""

    if args.no_augment or (args.augment is None and ds.image_shape is None):
        return None
    if ds.image_shape is None or len(ds.image_shape) != 2:
        raise ConfigError(f"--augment moves image pixels, but {ds.name} is not image data; drop --augment.")
    # rows of column-major (MATLAB) images are row-major images of the transposed shape
    shape = ds.image_shape if ds.image_order == "C" else ds.image_shape[::-1]
    return Augment(shape, shift=2, rotate=10.0 if args.augment == "rotate" else 0.0)


def _run_train(args) -> int:

    _check_train_args(args)
    ds = load_data(args.data, quiet=args.json)
    for note in ds.notes:
        print(f"gradcheck train: note: {printable(note)}", file=sys.stderr)
    if args.val_fraction and ds.n_train < 2:
        raise DataError(f"the training split of {ds.name} has {ds.n_train} sample, too few to hold "
                        f"out a validation part; give more data or --val-fraction 0.")
    full_batch = args.optimizer.lower() in FULL_BATCH_METHODS
    if full_batch:  # what fit would refuse, refused here rather than silently dropped
        for flag, value in (("--lr", args.lr), ("--augment", args.augment),
                            ("--checkpoint-every", args.checkpoint_every), ("--resume", args.resume)):
            if value is not None:
                raise ConfigError(f"{flag} does not apply to --optimizer {args.optimizer}, a "
                                  f"full-batch method; drop it, or use a minibatch optimizer "
                                  f"such as adam.")
    _require_training_memory(args, ds, full_batch)
    net = _build_network(args, ds)
    lr = args.lr if args.lr is not None or full_batch else TRAIN_DEFAULTS["lr"].get(args.optimizer.lower())
    kwargs = {} if full_batch else dict(
        lr=lr, batch_size=args.batch_size, augment=_augmentation(args, ds),
        checkpoint_every=args.checkpoint_every, resume=args.resume,
        checkpoint_path=(args.checkpoint or "checkpoint.npz") if args.checkpoint_every else None)
    start = time.perf_counter()
    try:
        with TrainProgress(quiet=args.json) as progress, warnings_printed("train"):
            history = fit(net, ds.X_train, ds.y_train, optimizer=args.optimizer, epochs=args.epochs,
                          validation=args.val_fraction or None, early_stopping=args.patience,
                          seed=args.seed, callbacks=[progress], **kwargs)
    except NumericalError:
        _keep_outputs(args, net, ds, None)  # the last finite weights, as the message says
        raise
    seconds = time.perf_counter() - start
    result = evaluate(net, ds.X_test, ds.y_test)
    _keep_outputs(args, net, ds, history)
    _report_training(args, ds, net, history, result, seconds)
    return ExitStatus.INTERRUPTED if history.interrupted else ExitStatus.OK


def _require_training_memory(args, ds, full_batch: bool) -> None:
    """Refuse layers or batches whose arrays cannot fit, before allocating any of them."""

    sizes = [ds.n_features, *args.hidden, ds.n_classes]
    itemsize = 4 if args.dtype == "float32" else 8
    params = mlp_n_params(sizes)
    # theta, gradient, optimizer state, scratch, last finite and best weights, checkpoints
    # the rows one pass holds: the batch (the whole training set for cg/lbfgs), or the
    # test set evaluated at the end; per row every layer's z, a and delta, a few times
    rows = max(len(ds.X_train) if full_batch else args.batch_size, len(ds.X_test))
    nbytes = itemsize * (10 * params + 4 * rows * sum(sizes[1:]))
    require_memory(f"a {'-'.join(map(str, sizes))} network", nbytes,
                   "use smaller hidden layers" + ("" if full_batch else " or batches"))


def _keep_outputs(args, net, ds, history) -> None:
    if args.out:
        _save_model(args, net, _model_metadata(args, ds))
    if args.plot and history is not None:
        layers = "-".join(map(str, net.sizes))
        learning_curves(history, args.plot, title=f"{layers} {args.activation}, {args.optimizer} on {ds.name}")


def _model_metadata(args, ds) -> dict:
    """What the model keeps of its data: the name, where it is, its image layout and scale."""
    metadata = {"dataset": ds.name}
    if not registered_dataset(args.data):  # a file or directory: evaluate finds it from anywhere
        metadata["data_path"] = str(Path(args.data).expanduser().resolve())
    if ds.image_shape is not None and len(ds.image_shape) == 2:
        metadata.update(image_shape=list(ds.image_shape), image_order=ds.image_order)
    if ds.input_scale is not None:
        metadata["input_scale"] = list(ds.input_scale)
    return metadata


def _save_model(args, net, metadata) -> None:
    """Save to --out (a default name is taken afresh if another run took it meanwhile); on a
    full disk, keep the weights in the temporary directory and say so (status 7)."""
    if args.default_out and Path(args.out).exists():
        args.out = str(_free_model_path())
    try:
        net.save(args.out, metadata)
    except OutputError as exc:
        raise OutputError(f"{exc} {_rescue(net, metadata, args.out)}") from exc


def _rescue(net, metadata, out) -> str:
    """Save the trained weights where there may be room; the sentence that says where."""
    stem = Path(out).stem or "model"
    try:
        fd, spare = tempfile.mkstemp(prefix=f"gradcheck-{stem}-", suffix=".npz")
        os.close(fd)
        net.save(spare, metadata)
    except (OSError, OutputError) as exc:
        return (f"The trained weights could not be saved anywhere else either "
                f"({getattr(exc, 'strerror', None) or exc}); free some space and train again.")
    return f"The trained weights were saved to {spare} instead: move them where there is room."


def _free_model_path() -> Path:
    """model.npz in the current directory, or the first of model-2.npz, model-3.npz ... that
    does not exist; in the cache directory when the current one cannot be written."""
    for directory in (Path.cwd(), default_cache_dir() / "models"):
        if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
            continue
        stem, suffix = Path(DEFAULT_MODEL).stem, Path(DEFAULT_MODEL).suffix
        for n in range(1, 10_000):
            path = directory / (DEFAULT_MODEL if n == 1 else f"{stem}-{n}{suffix}")
            if not os.path.lexists(path):
                return path if directory != Path.cwd() else Path(path.name)
    raise ConfigError("no free model file name in the current directory; give one with --out.")


def _report_training(args, ds, net, history, result, seconds) -> None:
    if args.json:
        print_json({"data": ds.name, "network": net.config(), "seconds": seconds,
                     "history": history.to_dict(), "test": result.to_dict(), "model": args.out})
        return
    console = make_console()
    if history.interrupted:
        console.print(f"interrupted after {len(history)} complete epochs; the model is kept as it was.")
    elif history.stopped_early:
        console.print(f"stopped early: no better validation loss for {args.patience} epochs.")
    if history.best_epoch is not None:
        best = history.records[history.best_epoch - 1]
        restored = history.best_epoch != len(history) and not history.interrupted
        console.print(f"best validation epoch {history.best_epoch}: loss {best.val_loss:.4f}, "
                      f"accuracy {best.val_accuracy:.4f}" + (" (weights restored)" if restored else ""))
    console.print(f"held-out test accuracy [bold]{result.accuracy:.4f}[/bold] on {result.n_samples} "
                  f"samples of {plain_text(ds.name)} (loss {result.loss:.4f}); {len(history)} epochs in "
                  f"{seconds:.1f} s")
    if args.out:
        taken = args.default_out and args.out != DEFAULT_MODEL
        console.print(f"model saved to {plain_text(args.out)}" + (
            f" ({DEFAULT_MODEL} exists and is kept; --out names the file)" if taken else
            " (--out names the file)" if args.default_out else ""))
    if args.plot:
        console.print(f"learning curves drawn in {plain_text(args.plot)}")
