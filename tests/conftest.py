"""Shared fixtures: seeded generators, never the global RNG."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def central_diff(f, x, eps=1e-6):
    """Elementwise central differences of an elementwise function f at x (float64)."""
    return (f(x + eps) - f(x - eps)) / (2 * eps)


@pytest.fixture(autouse=True)
def _scratch_working_directory(tmp_path, monkeypatch):
    """Commands write default outputs (``model.npz``, ``checkpoint.npz``) into the current
    directory: each test gets its own, never the repository."""
    monkeypatch.chdir(tmp_path)
