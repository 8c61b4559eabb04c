"""A corpus of hand-written networks the way people write and post them, each with its slips.

Every file in ``modules/`` is one user's module: it defines ``cost(theta)`` and ``grad(theta)``,
the point to check ``theta``, its data ``X`` and ``y``, and whatever else such a module holds
(``Theta1``/``Theta2``, a ``params`` dict, ``coefs_``/``intercepts_``, a ``shapes`` list, the
course's ``input_layer_size``...).  Each line that holds a slip ends with ``# FIX: <the line as it
should read>``; :func:`source` with ``fixed=True`` is the module with every such line replaced (the
answer a forum reply would give), so a buggy module and its fixed version differ in exactly
those lines.

``SPEC`` in each module describes the network its author meant, for reference mode:

* ``sizes``, ``hidden``, ``output``, ``loss``, ``l2``, ``reduction``: :class:`gradcheck.Network`
  arguments in the library's convention, ``J = scale (sum_i L_i + l2/2 sum ||W||^2)`` with
  ``scale = 1/m`` for ``"mean"`` (so CS231n's ``0.5 reg sum W^2`` added to a mean loss is
  ``l2 = reg * m``);
* ``layout``: ``blocks`` (the parameter arrays in the order they are packed into theta, with the
  names the module uses), ``weights`` (``"out-in"``: W has shape (n_out, n_in), ``"in-out"``:
  (n_in, n_out)), ``bias`` (``"first-column"``, ``"last-column"`` of the weight matrix, or
  ``"separate"`` vectors), ``unroll`` (``"C"`` row-major or ``"F"`` column-major), ``packing``
  (``"per-layer"``: W1 b1 W2 b2 ..., ``"weights-then-biases"``: W1 W2 ... b1 b2 ...);
* ``labels``: ``"0-based"`` class indices, ``"1-based"`` (1..K), ``"one-hot"`` rows, or
  ``"targets"`` (regression);
* ``notes``: what the author meant where the library's names do not say it all.

Plain-mode expectations live in ``expect_plain.py``.
"""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["MODULES", "NAMES", "source", "write", "slips"]

MODULES = Path(__file__).parent / "modules"
NAMES = tuple(sorted(p.stem for p in MODULES.glob("*.py")))
_FIX = re.compile(r"^(?P<indent>\s*)(?P<code>\S.*?)\s*# FIX: (?P<fixed>.*)$")


def slips(name: str) -> list[tuple[str, str]]:
    """The marked lines of a module: (as written, as fixed)."""
    text = (MODULES / f"{name}.py").read_text(encoding="utf-8")
    return [(m["code"], m["fixed"]) for m in map(_FIX.match, text.splitlines()) if m]


def source(name: str, fixed: bool = False) -> str:
    """The module's text, with every ``# FIX:`` line replaced by its fix when ``fixed``."""
    lines = []
    for line in (MODULES / f"{name}.py").read_text(encoding="utf-8").splitlines():
        match = _FIX.match(line)
        if match and fixed:
            line = match["indent"] + match["fixed"].rstrip()
        lines.append(line)
    return "\n".join(lines) + "\n"


def write(name: str, directory: Path, fixed: bool = False) -> Path:
    """Write the (fixed) module into ``directory`` and return its path."""
    path = Path(directory) / f"{name}{'_fixed' if fixed else ''}.py"
    path.write_text(source(name, fixed), encoding="utf-8")
    return path
