"""Training progress on stderr: a live bar on a terminal, one line per epoch otherwise
(a log file or a pipe gets each epoch as it ends, not nothing until the end)."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from gradcheck.cli.common import make_console

if TYPE_CHECKING:
    from rich.progress import TaskID


class TrainProgress:
    """Fed by :func:`gradcheck.train.fit`'s events; ``quiet`` (``--json``) shows nothing."""

    def __init__(self, quiet: bool = False):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.lines = not quiet and not sys.stderr.isatty()
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(bar_width=16), TextColumn("{task.fields[metrics]}"),
            TimeElapsedColumn(), console=make_console(stderr=True), transient=False,
            disable=quiet or self.lines)
        self.task: TaskID | None = None
        self.metrics = ""

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, event) -> None:
        if event.kind == "train_begin":
            self.task = self.progress.add_task("train", total=event.epochs * max(event.batches, 1),
                                               completed=event.epoch * max(event.batches, 1),
                                               epoch=f"{event.epoch}/{event.epochs}", metrics="")
        elif event.kind == "batch_end" and self.task is not None:
            self.progress.update(self.task, advance=1, epoch=f"{event.epoch}/{event.epochs}",
                                 metrics=f"loss {event.loss:.3f}{self.metrics}")
        elif event.kind == "epoch_end":
            self._epoch_end(event)

    def _epoch_end(self, event) -> None:
        r = event.record
        self.metrics = "".join(text.format(value) for text, value in (
            (" acc {:.3f}", r.train_accuracy), (" · val {:.3f}", r.val_loss),
            (" acc {:.3f}", r.val_accuracy)) if value is not None)
        if self.lines:
            print(f"epoch {event.epoch}/{event.epochs}: loss {r.train_loss:.3f}{self.metrics} "
                  f"({r.seconds:.1f} s)", file=sys.stderr, flush=True)
            return
        if self.task is None:
            return
        done = event.epoch * (self.progress.tasks[0].total or 0) // event.epochs
        self.progress.update(self.task, completed=done, epoch=f"{event.epoch}/{event.epochs}",
                             metrics=f"loss {r.train_loss:.3f}{self.metrics}")
