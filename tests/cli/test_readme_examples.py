"""The README's examples are real runs: rerun them and compare (the review found the
``check --json`` example printing cost 1.23 and relative error 8.9e-10 where the command gave
2.42 and 7.2e-11)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gradcheck.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _example(command: str) -> dict:
    text = README.read_text(encoding="utf-8")
    at = text.index(f"`{command}` prints")
    block = re.search(r"```json\n(.*?)\n```", text[at:], re.S)
    assert block, f"no JSON block after {command!r} in the README"
    return json.loads(block.group(1))


def _same(expected, got, where="") -> list[str]:
    """Differences, with round-off-sized floats (below 1e-8, which BLAS builds change) compared
    by size alone and the others to 1e-9."""
    if isinstance(expected, dict):
        return [d for k in expected for d in _same(expected[k], got.get(k), f"{where}.{k}")]
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) < len(expected):
            return [f"{where}: {got!r}"]
        return [d for k, e in enumerate(expected) for d in _same(e, got[k], f"{where}[{k}]")]
    if isinstance(expected, float) and not isinstance(got, bool) and isinstance(got, (int, float)):
        if abs(expected) < 1e-8:
            return [] if abs(got) < 1e-8 else [f"{where}: {got} is not round-off like {expected}"]
        return [] if got == pytest.approx(expected, rel=1e-9) else [f"{where}: {got} != {expected}"]
    return [] if expected == got else [f"{where}: {got!r} != {expected!r}"]


def test_the_check_json_example_is_what_the_command_prints(capsys):
    command = "gradcheck check --hidden tanh --l2 1 --json"
    expected = _example(command)
    assert main(command.split()[1:]) == 0
    got = json.loads(capsys.readouterr().out)
    assert len(got["worst"]) == 10 and len(expected["worst"]) == 1  # the README shows the first
    assert not _same(expected, got), _same(expected, got)
