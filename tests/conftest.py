"""Shared fixtures: seeded generators, never the global RNG."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def central_diff(f, x, eps=1e-6):
    """Elementwise central differences of an elementwise function f at x (float64)."""
    return (f(x + eps) - f(x - eps)) / (2 * eps)
