"""``python -m gradcheck``: a thin shim over :func:`gradcheck.cli.main`."""
from .cli import console_main

console_main()
