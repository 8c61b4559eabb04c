"""The doctor on the corpus of real-shaped networks: how many slips plain mode names right.

Runs ``gradcheck doctor FILE.py:cost FILE.py:grad --json`` (no ``--blocks``, no
``--reference``: what a newcomer runs first) on every module of ``tests/check/corpus/modules``
and on its fixed version, and compares the findings with ``tests/check/corpus/expect_plain.py``.
Prints one line per module and the share named right: over the slips a black-box comparison
can observe, and over the others (confined to the right blocks, pointing to ``--reference``);
the fixed versions must all pass with no finding.

Usage::

    PYTHONPATH=src python bench/doctor_corpus.py [--verbose] [NAME ...]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "check"))

import corpus  # noqa: E402
from corpus.expect_plain import PLAIN, named_right  # noqa: E402
from gradcheck.cli import main  # noqa: E402


def doctor(path: Path) -> dict:
    """The doctor's JSON report on a module file (status and report)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["doctor", f"{path}:cost", f"{path}:grad", "--json"])
    report = json.loads(out.getvalue()) if out.getvalue().strip() else {}
    report["status"] = int(status)
    report["stderr"] = err.getvalue().strip()
    return report


def run(names, verbose: bool) -> int:
    rows, seconds = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            start = time.perf_counter()
            buggy = doctor(corpus.write(name, Path(tmp), fixed=False))
            fixed = doctor(corpus.write(name, Path(tmp), fixed=True))
            seconds += time.perf_counter() - start
            ok, why = named_right(PLAIN[name], buggy.get("diagnoses", []))
            clean = fixed.get("passed") is True and not fixed.get("diagnoses") and fixed["status"] == 0
            rows.append((name, PLAIN[name].observable, ok, clean))
            codes = ",".join(d["code"] for d in buggy.get("diagnoses", [])) or buggy["stderr"][:60] or "-"
            mark = "ok " if ok else "BAD"
            print(f"{mark} {'  ' if PLAIN[name].observable else 'R '}{name:40s} {codes:50s}"
                  f" fixed:{'clean' if clean else 'FINDINGS'}{'' if ok else '  (' + why + ')'}")
            if verbose:
                for d in buggy.get("diagnoses", []):
                    print(f"      [{d['code']}] {d['block'] or ''}: {d['message']}\n        fix: {d['fix']}")
    _summary(rows, seconds)
    return 0 if all(ok and clean for _, _, ok, clean in rows) else 1


def _summary(rows, seconds: float) -> None:
    observable = [r for r in rows if r[1]]
    hidden = [r for r in rows if not r[1]]
    share = lambda part: f"{sum(r[2] for r in part)}/{len(part)} ({100 * sum(r[2] for r in part) / max(len(part), 1):.0f} %)"
    print(f"\nnamed right, observable without a reference: {share(observable)}")
    print(f"confined and pointed to --reference, the others: {share(hidden)}")
    print(f"all modules: {share(rows)}")
    print(f"fixed versions with no finding: {sum(r[3] for r in rows)}/{len(rows)}")
    print(f"{len(rows)} modules x 2 in {seconds:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="modules to run (default: all)")
    parser.add_argument("--verbose", action="store_true", help="print every finding's sentence")
    args = parser.parse_args()
    sys.exit(run(args.names or corpus.NAMES, args.verbose))
