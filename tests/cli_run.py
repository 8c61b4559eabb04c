"""Running the command line in-process, as the reliability tests do: the exit status, stdout and
stderr, and the one sentence an error must be."""
import contextlib
import io

from gradcheck.cli import main


def cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def one_sentence(err: str) -> str:
    """The error line on stderr, after checking it is the only thing there (no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
