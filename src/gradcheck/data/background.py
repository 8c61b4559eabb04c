"""The paper behind a photographed digit: estimated, subtracted, and the strokes found.

A photo of a digit on paper is not MNIST's white-on-black: the paper is gray (a sheet under
room light is RGB 180-220, not 255), lit unevenly (brighter towards a window), and noisy.
After inverting (strokes bright), :func:`remove_background` fits a smooth surface, a
quadratic in the pixel coordinates, to the paper alone (pixels far above the fit are strokes
and are left out of the next fit), subtracts it, and splits strokes from what remains with
Otsu's threshold.  What is left of the paper becomes 0, as MNIST's background is.
"""
from __future__ import annotations

import numpy as np

__all__ = ["remove_background", "otsu_threshold"]

# the fit sees at most this many pixels a side: a smooth surface needs no more
_FIT_SIDE = 96
_FIT_ROUNDS = 6
# a pixel more than this many robust deviations above the surface is ink, not paper
_INK_SIGMAS = 2.5


def remove_background(gray: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Subtract the paper from an image whose strokes are bright.

    Parameters
    ----------
    gray : ndarray, shape (h, w), values in [0, 1], strokes brighter than the paper

    Returns
    -------
    ink : ndarray, shape (h, w), in [0, 1]
        The strokes over a background of 0, scaled so the strokes reach 1.
    threshold : float
        Otsu's threshold on ``ink``: pixels above it are strokes (for cropping).
    paper : float
        The brightest level the fitted paper reached (0 for a black background).
    """
    surface = _paper_surface(gray)
    above = np.clip(gray - surface, 0.0, None)
    threshold = otsu_threshold(above)
    strokes = above[above > threshold]
    if strokes.size == 0:
        return np.zeros_like(gray), 0.0, float(surface.max())
    # what is left of the paper (noise below half the threshold) becomes 0; the strokes 1
    floor, level = threshold / 2, float(np.percentile(strokes, 95))
    ink = np.clip((above - floor) / max(level - floor, 1e-12), 0.0, 1.0)
    return ink, (threshold - floor) / max(level - floor, 1e-12), float(surface.max())


def _paper_surface(gray: np.ndarray) -> np.ndarray:
    """A quadratic ``c0 + c1 x + c2 y + c3 x^2 + c4 xy + c5 y^2`` fitted to the paper."""
    h, w = gray.shape
    step = max(1, max(h, w) // _FIT_SIDE)
    sample = gray[::step, ::step]
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    design = _quadratic_terms(xs.ravel() / max(w - 1, 1), ys.ravel() / max(h - 1, 1))
    values, keep = sample.ravel(), np.ones(sample.size, bool)
    coef = np.zeros(design.shape[1])
    for _ in range(_FIT_ROUNDS):
        coef = _least_squares(design[keep], values[keep])
        residual = values - design @ coef
        spread = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep])))
        paper = residual <= _INK_SIGMAS * spread + 1e-3
        if paper.sum() < design.shape[1] or np.array_equal(paper, keep):
            break
        keep = paper
    ys, xs = np.mgrid[0:h, 0:w]
    return (_quadratic_terms(xs.ravel() / max(w - 1, 1), ys.ravel() / max(h - 1, 1)) @ coef).reshape(h, w)


def _least_squares(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    # normal equations: six unknowns, coordinates in [0, 1], so well conditioned (and 50x
    # faster than the SVD of lstsq on a few thousand rows)
    gram = A.T @ A
    return np.linalg.solve(gram + 1e-9 * np.trace(gram) * np.eye(len(gram)), A.T @ b)


def _quadratic_terms(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(x), x, y, x * x, x * y, y * y])


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The threshold that best splits ``values`` into two classes (Otsu, 1979): the one
    maximising the between-class variance of a ``bins``-bin histogram."""
    values = np.asarray(values, dtype=np.float64).ravel()
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return high
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts)                   # pixels at or below each bin
    mass = np.cumsum(counts * centres)
    total, total_mass = weight[-1], mass[-1]
    below, above = weight[:-1], total - weight[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_below = mass[:-1] / below
        mean_above = (total_mass - mass[:-1]) / above
        between = below * above * (mean_below - mean_above) ** 2
    best = int(np.nanargmax(np.where((below > 0) & (above > 0), between, np.nan)))
    return float(edges[best + 1])
