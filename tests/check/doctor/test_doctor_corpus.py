"""The doctor in plain mode on the corpus of real-shaped networks (tests/check/corpus).

Each buggy module must be named right (``expect_plain.PLAIN``); each fixed one must pass with
no finding.  Runs the command line in-process, as a newcomer would: ``gradcheck doctor
FILE.py:cost FILE.py:grad --json``, no --blocks, no --reference.
"""
import json

import corpus
import pytest
from corpus.expect_plain import PLAIN, named_right

from gradcheck.cli import main


def doctor(path, capsys) -> tuple[int, dict]:
    status = main(["doctor", f"{path}:cost", f"{path}:grad", "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_every_module_has_expectations_a_spec_and_a_marked_slip():
    assert set(PLAIN) == set(corpus.NAMES) and len(corpus.NAMES) >= 30
    for name in corpus.NAMES:
        assert corpus.slips(name), f"{name} marks no slip with '# FIX:'"
        assert "SPEC = {" in corpus.source(name), f"{name} defines no SPEC"


@pytest.mark.parametrize("name", corpus.NAMES)
def test_buggy_module_is_named_right(name, tmp_path, capsys):
    status, report = doctor(corpus.write(name, tmp_path), capsys)
    ok, why = named_right(PLAIN[name], report["diagnoses"])
    assert ok, f"{name}: {why}; findings: {[(d['code'], d['block'], d['message']) for d in report['diagnoses']]}"
    assert status == 1


@pytest.mark.parametrize("name", corpus.NAMES)
def test_fixed_module_passes_with_no_finding(name, tmp_path, capsys):
    status, report = doctor(corpus.write(name, tmp_path, fixed=True), capsys)
    assert report["passed"] and report["diagnoses"] == [] and status == 0, report["diagnoses"]
