"""``python -m gradcheck``: a thin shim over :func:`gradcheck.cli.main`."""
from gradcheck.cli.main import console_main

console_main()
