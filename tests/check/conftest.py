"""Tests of gradcheck.check. Being a conftest's folder puts tests/check on sys.path, so the
doctor's and reference mode's tests in subfolders import the shared corpus as ``corpus``."""
