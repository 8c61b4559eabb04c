"""Issue 4's accuracy targets, measured side by side with scikit-learn in one run.

Cases
-----
sample
    ``gradcheck train`` with its defaults on the embedded MNIST sample (4,000 training
    digits, the 1,000 held-out ones for the test) against scikit-learn's MLPClassifier
    (its defaults, and 512 hidden units) on the same split.  Target: >= 0.955 within 15 s.
fashion
    Fashion-MNIST 60k/10k, one hidden layer, against MLPClassifier(100) for 30 epochs.
    Target: >= 0.895 within 30 s.  Needs the Debian/Ubuntu package dataset-fashion-mnist
    (``apt-get install dataset-fashion-mnist``); skipped with a note when it is missing.

Usage::

    python bench/accuracy.py                 # both cases, a table
    python bench/accuracy.py --case sample   # one case
    python bench/accuracy.py --json results.json
    taskset -c 0,1 python bench/accuracy.py  # pin to 2 cores, as the targets assume

Times are wall-clock seconds of training (data loading excluded, evaluation included
for gradcheck's CLI run); the machine's load average is printed beside them because a
busy machine makes every number slower.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import warnings

import numpy as np

#: Fashion-MNIST settings for gradcheck: one hidden layer, no augmentation.
FASHION_ARGV = ["--data", "fashion-mnist", "--hidden", "256", "--epochs", "30", "--batch-size", "256",
                "--lr", "3e-3", "--val-fraction", "0", "--no-augment"]


def run_gradcheck(argv: list[str]) -> dict:
    """Run ``gradcheck train ... --json`` in-process; return accuracy and seconds."""
    from gradcheck.cli.main import main

    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["train", *argv, "--json"])
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"gradcheck train {' '.join(argv)} exited with {code}")
    report = json.loads(out.getvalue())
    return {"accuracy": report["test"]["accuracy"], "seconds": report["seconds"],
            "wall_seconds": wall, "epochs": len(report["history"]["epochs"])}


def run_sklearn(ds, **params) -> dict:
    """Fit MLPClassifier(**params) on the dataset's training part; test accuracy and seconds."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(random_state=0, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the epoch budget here
        clf.fit(ds.X_train, ds.y_train)
    seconds = time.perf_counter() - start
    return {"accuracy": float(clf.score(ds.X_test, ds.y_test)), "seconds": seconds,
            "epochs": int(clf.n_iter_)}


def case_sample() -> list[dict]:
    from gradcheck.data.datasets import load_dataset

    ds = load_dataset("mnist-sample")
    rows = [{"case": "sample", "model": "gradcheck train (defaults)", "target": ">= 0.955 in 15 s",
             **run_gradcheck([])}]
    for hidden in ((100,), (512,)):
        rows.append({"case": "sample", "model": f"sklearn MLPClassifier{hidden}", "target": "",
                     **run_sklearn(ds, hidden_layer_sizes=hidden)})
    return rows


def case_fashion() -> list[dict]:
    from gradcheck.data.datasets import FASHION_MNIST_DIR, load_dataset

    if not FASHION_MNIST_DIR.is_dir():
        return [{"case": "fashion", "model": "skipped", "note": f"{FASHION_MNIST_DIR} is missing; "
                 "apt-get install dataset-fashion-mnist"}]
    ds = load_dataset("fashion-mnist")
    return [{"case": "fashion", "model": "gradcheck train " + " ".join(FASHION_ARGV[2:]),
             "target": ">= 0.895 in 30 s", **run_gradcheck(FASHION_ARGV)},
            {"case": "fashion", "model": "sklearn MLPClassifier(100), 30 epochs", "target": "",
             **run_sklearn(ds, hidden_layer_sizes=(100,), max_iter=30)}]


CASES = {"sample": case_sample, "fashion": case_fashion}


def print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Accuracy targets (load average {os.getloadavg()[0]:.1f}, "
                        f"{len(os.sched_getaffinity(0))} usable cores)")
    for col in ("case", "model", "test accuracy", "train s", "epochs", "target"):
        table.add_column(col)
    for r in rows:
        if "note" in r:
            table.add_row(r["case"], r["model"], r["note"], "", "", "")
            continue
        table.add_row(r["case"], r["model"], f"{r['accuracy']:.4f}", f"{r['seconds']:.1f}",
                      str(r["epochs"]), r.get("target", ""))
    Console(width=140).print(table)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=list(CASES), action="append",
                        help="run only this case (repeatable; default all)")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)
    rows = [row for name in (args.case or CASES) for row in CASES[name]()]
    print_table(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"load_average": os.getloadavg(), "cores": len(os.sched_getaffinity(0)),
                       "numpy": np.__version__, "results": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
