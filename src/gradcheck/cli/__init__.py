"""The command line: ``gradcheck check | matrix | doctor | train | evaluate | predict | show``.

:mod:`gradcheck.cli.main` builds the parser and maps errors to exit statuses; each command lives
in its own module; :mod:`gradcheck.cli.common` holds what they share.
"""
from gradcheck.cli.main import console_main, main

__all__ = ["main", "console_main"]
