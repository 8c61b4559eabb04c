"""The library's own exceptions, each with the CLI exit status it maps to.

Every message is one sentence: what is wrong, where, and what to do.
"""
from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit statuses of the ``gradcheck`` command (documented in the README)."""

    OK = 0
    CHECK_FAILED = 1      # a gradient check or doctor run found a mismatch
    USAGE = 2             # bad command line, unknown name, refused pairing, bad hyperparameter
    DATA = 3              # unreadable, corrupt or inconsistent data file
    MODEL = 4             # unreadable, crafted or mismatched model file
    USER_CODE = 5         # the user's module or function could not be imported or called
    NUMERICAL = 6         # training diverged (NaN/Inf) and stopped
    OUTPUT = 7            # the output could not be written (disk full, stdout closed)
    INTERRUPTED = 130     # Ctrl-C
    OUTPUT_CLOSED = 141   # the reader of stdout went away (| head): 128 + SIGPIPE, as shells say


class GradcheckError(Exception):
    """Base class: a problem the user can fix, reported without a traceback.

    Messages speak the library's language (keyword arguments, method names); ``option`` names
    the keyword argument the remedy is about (e.g. ``"allow_unsafe"``), so the command line can
    add its own flag for it — library messages never mention command-line flags.
    """

    exit_status = ExitStatus.USAGE

    def __init__(self, message: str = "", *, option: str | None = None):
        super().__init__(message)
        self.option = option


class ConfigError(GradcheckError, ValueError):
    """Bad argument: unknown name, refused pairing, out-of-range hyperparameter, wrong shape."""

    exit_status = ExitStatus.USAGE


class DataError(GradcheckError, ValueError):
    """Data that cannot be used: corrupt file, NaN, labels out of range, empty set."""

    exit_status = ExitStatus.DATA


class ModelFileError(GradcheckError, ValueError):
    """A model file that is unreadable, crafted, or does not fit the data."""

    exit_status = ExitStatus.MODEL


class UserCodeError(GradcheckError, RuntimeError):
    """The user's module or function could not be imported or called."""

    exit_status = ExitStatus.USER_CODE


class NumericalError(GradcheckError, ArithmeticError):
    """Training produced NaN or Inf and stopped; ``history`` holds the epochs run before it."""

    exit_status = ExitStatus.NUMERICAL
    history: object = None


class OutputError(GradcheckError, OSError):
    """A file the user asked for could not be written (a full disk, a vanished directory)."""

    exit_status = ExitStatus.OUTPUT


class GradcheckWarning(UserWarning):
    """Something went wrong that did not stop the work (a checkpoint that could not be
    written); the library warns, the command line prints it as one line."""


def nearest_name(name: str, choices) -> str:
    """Return a ``did you mean`` clause for an unknown ``name`` ('' when nothing is close)."""
    import difflib

    close = difflib.get_close_matches(str(name).lower(), list(choices), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""
