"""What every command shares: the console, JSON output, number formatting and the
validators of command-line values."""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import warnings
from typing import TYPE_CHECKING

import numpy as np

from gradcheck.data.datasets import DATASET_NAMES, load_dataset
from gradcheck.errors import ConfigError, GradcheckError, GradcheckWarning, UserCodeError
from gradcheck.jsonsafe import to_json
from gradcheck.nn.blocks import mlp_n_params

if TYPE_CHECKING:
    from rich.progress import TaskID


def make_console(stderr=False):
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, emoji=False)  # ":smile:" in a name is text
    if not console.is_terminal:  # piped output: wide enough for the tables, no wrapping
        console.width = 140
    return console


MAX_COUNT = 2**31 - 1  # the largest width, sample count, epoch count ... an option takes


def _integers(text: str) -> list[int]:
    """``"784,512,10"`` or ``"4x5x3"`` as integers; ValueError when any part is not one
    (``4,x,3`` and ``4,,3`` are mistakes, not [4, 3])."""
    parts = re.split(r"[,x]", text.strip())
    if not all(part.strip().lstrip("+").isdigit() for part in parts):
        raise ValueError(text)
    return [int(part) for part in parts]


def sizes_arg(text: str) -> list[int]:
    try:
        sizes = _integers(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers like 4,5,3, got {text!r}") from None
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


def problem_bytes(sizes, samples: int) -> float:
    """Rough peak of checking one network on random data in float64: the data and every
    layer's pre-activations, activations and deltas many times over (the structure-aware
    evaluator works on many perturbed copies at once: 3.3 GB measured for 2,000,000 samples
    of 4-5-3, 20 x 8 bytes x samples x widths = 3.8 GB), and the parameter-sized vectors."""
    widths = sum(sizes)
    params = mlp_n_params(sizes)
    return 8.0 * (20 * samples * widths + 8 * params)


def seed_arg(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"a seed must be a non-negative integer like 0, got {text!r}")
    return seed


def names_arg(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def fmt_error(x) -> str:
    return "-" if x is None else f"{x:.2e}"


def print_json(obj) -> None:
    print(json.dumps(to_json(obj), indent=2, allow_nan=False))



# C0 and C1 control characters and DEL: a terminal obeys them (ESC [2J clears the screen)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text) -> str:
    """``text`` with control characters written as escapes (``\\x1b``, ``\\n``), so that file
    names, labels, metadata and exception text from elsewhere cannot drive the terminal
    or break a one-line message."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def plain_text(text) -> str:
    """A file name, label or note as plain text for rich (``[x]`` is not markup there),
    control characters escaped."""
    from rich.markup import escape

    return escape(printable(text))


@contextlib.contextmanager
def warnings_printed(command: str):
    """Print the library's :class:`~gradcheck.errors.GradcheckWarning` as one line on stderr
    each (``gradcheck train: warning: ...``), as they happen."""
    def show(message, category, *args, **kwargs):
        print(f"gradcheck {command}: warning: {printable(message)}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", GradcheckWarning)
        warnings.showwarning = show
        yield


def widths_arg(text: str) -> list[int]:
    try:
        widths = _integers(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes must be comma-separated integers like 512 or 256,128, "
                                         f"got {text!r}") from None

    if min(widths, default=0) < 1 or max(widths) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"hidden sizes must be integers from 1 to {MAX_COUNT}, got {text!r}")
    return widths


def check_positive(flag: str, value, kind=float) -> None:

    if value is None:
        return
    if kind is int:  # a Python int of any size: no float conversion (it may overflow)
        if not 0 < value <= MAX_COUNT:
            raise ConfigError(f"{flag} must be an integer > 0 and at most {MAX_COUNT}, got {value}.")
    elif not (value > 0 and np.isfinite(value)):
        raise ConfigError(f"{flag} must be a number > 0, got {value}.")


class _DownloadProgress:
    """A rich progress bar on stderr for :func:`gradcheck.data.load_dataset`'s downloads:
    one task per file, shown only when a file is actually fetched (not from the cache)."""

    def __init__(self, quiet: bool = False):
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24),
                                 DownloadColumn(), TransferSpeedColumn(),
                                 console=make_console(stderr=True),
                                 disable=quiet or not sys.stderr.isatty())
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, name: str, done: int, total: int | None) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(f"downloading {plain_text(name)}", total=total)
        self.progress.update(self.tasks[name], completed=done, total=total)


def load_data(data, quiet: bool, input_scale=None):

    with _DownloadProgress(quiet) as progress:
        return load_dataset(data, progress=progress, input_scale=input_scale)


def registered_dataset(data: str) -> bool:

    return data.lower() in DATASET_NAMES


# the command-line flag for each library keyword an error's remedy names (GradcheckError.option)
OPTION_FLAGS = {"allow_unsafe": "--allow-unsafe", "workers": "--workers", "resume": "--resume",
                "blocks": "--blocks", "reference": "--reference",
                "constants": "--constants", "name_or_path": "--data DIR"}


def error_sentence(exc: GradcheckError, debug: bool) -> str:
    """The library's sentence with what the command line adds: the flag its remedy concerns, and
    ``--debug`` for the traceback of an exception raised by the user's code."""
    message = str(exc)
    flag = OPTION_FLAGS.get(exc.option or "")
    if flag:
        end = "." if message.endswith(".") else ""
        message = f"{message.removesuffix('.')} (on the command line: {flag}){end}"
    if isinstance(exc, UserCodeError) and exc.__cause__ is not None and not debug:
        message += " Run with --debug for the traceback."
    return message


def print_findings(console, title: str, findings: list, *, say_none: bool = True) -> None:
    """Each finding as ``code (block): message`` and its fix; ``title: none.`` when there are none
    (unless ``say_none`` is False)."""
    if not findings:
        if say_none:
            console.print(f"{title}: none.")
        return
    console.print(f"[bold]{title}[/bold]")
    for d in findings:
        where = f" ({plain_text(d.block)})" if d.block else ""
        console.print(f"  [bold]{plain_text(d.code)}[/bold]{where}: {plain_text(d.message)}")
        if d.fix:
            console.print(f"    fix: {plain_text(d.fix)}")
        flags = [OPTION_FLAGS[o] for o in d.evidence.get("options", ()) if o in OPTION_FLAGS]
        if flags:
            console.print(f"    on the command line: {', '.join(flags)}")
