"""The ``gradcheck`` command line: parse, call the library, print.

``main(argv=None) -> int`` returns an :class:`~gradcheck.errors.ExitStatus`; every
library error becomes one sentence on stderr and its own exit status (``--debug``
shows the traceback instead).
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback

from gradcheck import __version__
from gradcheck.cli.check import add_check
from gradcheck.cli.common import error_sentence, printable
from gradcheck.cli.doctor import add_doctor_parser
from gradcheck.cli.evaluate import add_evaluate
from gradcheck.cli.matrix import add_matrix
from gradcheck.cli.predict import add_predict
from gradcheck.cli.show import add_show
from gradcheck.cli.train import add_train
from gradcheck.errors import ExitStatus, GradcheckError

# each command's module adds its subparser, argument definitions and all
_COMMANDS = [add_matrix, add_check, add_train, add_evaluate, add_predict, add_show, add_doctor_parser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcheck",
        description="A NumPy MLP whose backprop is right, and a gradient checker that names the mistake.")
    parser.add_argument("--version", action="version", version=f"gradcheck {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    for command in sub.choices.values():  # `gradcheck train ... --debug` works too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks of errors")
    return parser



def main(argv=None) -> int:
    """Run the command line; return the exit status instead of exiting."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage error
        return int(exc.code or 0)
    if not getattr(args, "run", None):
        parser.print_help()
        return ExitStatus.USAGE
    try:
        return int(args.run(args))
    except GradcheckError as exc:
        if args.debug:  # the traceback, and still the exit status the table promises
            traceback.print_exc()
        print(f"gradcheck {args.command}: error: {printable(error_sentence(exc, args.debug))}",
              file=sys.stderr)
        return int(exc.exit_status)
    except KeyboardInterrupt:
        print(f"gradcheck {args.command}: interrupted.", file=sys.stderr)
        return int(ExitStatus.INTERRUPTED)
    except MemoryError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"gradcheck {args.command}: error: ran out of memory ({exc or 'MemoryError'}); use "
              f"smaller layers, batches or data.", file=sys.stderr)
        return int(ExitStatus.USAGE)
    except BrokenPipeError:
        return _output_closed()
    except SystemExit as exc:  # rich's console exits with 1 when stdout is a closed pipe
        if isinstance(exc.__context__, BrokenPipeError):
            return _output_closed()
        raise
    except OSError as exc:  # the library turns its own file errors into sentences: this is stdout
        if args.debug:
            traceback.print_exc()
        print(f"gradcheck {args.command}: error: could not write the output "
              f"({exc.strerror or exc}); write it where there is room, or to a terminal.",
              file=sys.stderr)
        return int(ExitStatus.OUTPUT)


def _output_closed() -> int:
    """Whoever read the output stopped (``| head``): stop quietly, as a shell tool does."""
    try:  # later flushes of stdout (at exit) must not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)  # stdout's descriptor now points at it too
    except (OSError, ValueError):
        pass
    return int(ExitStatus.OUTPUT_CLOSED)


def console_main() -> None:
    sys.exit(main())
