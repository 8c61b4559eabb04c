"""Training-time augmentation of image rows: random shifts and small rotations."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from gradcheck.errors import ConfigError

Array = np.ndarray

# --- augmentation -------------------------------------------------------------------------

@dataclass(frozen=True)
class Augment:
    """Random shifts and rotations of image rows, drawn independently for every sample.

    Parameters
    ----------
    image_shape : (int, int)
        ``(height, width)`` of a row seen row-major (``X[i].reshape(image_shape)``).
    shift : int
        Largest shift in pixels, along each axis (uniform over ``-shift..shift``).
    rotate : float
        Largest rotation in degrees (uniform in ``[-rotate, rotate]``); 0 for none.
    """

    image_shape: tuple[int, int]
    shift: int = 2
    rotate: float = 0.0

    def __post_init__(self):
        shape = tuple(self.image_shape) if isinstance(self.image_shape, (tuple, list)) else ()
        if len(shape) != 2 or not all(isinstance(d, numbers.Integral) and d > 0 for d in shape):
            raise ConfigError(f"Augment image_shape must be (height, width), got {self.image_shape!r}.")
        object.__setattr__(self, "image_shape", tuple(int(d) for d in shape))
        if not isinstance(self.shift, numbers.Integral) or not 0 <= self.shift < min(shape):
            raise ConfigError(f"Augment shift must be an integer in [0, {min(shape)}), got {self.shift!r}.")
        if not isinstance(self.rotate, numbers.Real) or not 0 <= self.rotate <= 180:
            raise ConfigError(f"Augment rotate must be degrees in [0, 180], got {self.rotate!r}.")

    def __call__(self, X: Array, rng: np.random.Generator) -> Array:
        """Return augmented copies of the rows of ``X`` (n, h*w), same dtype."""
        h, w = self.image_shape
        images = X.reshape(len(X), h, w)
        dy, dx = (rng.integers(-self.shift, self.shift + 1, len(X)) for _ in range(2))
        if self.rotate:
            angles = np.deg2rad(rng.uniform(-self.rotate, self.rotate, len(X)))
            return _rotate_shift(images, dy, dx, angles).reshape(X.shape)
        return _shift(images, dy, dx, self.shift).reshape(X.shape)


def _shift(images: Array, dy: Array, dx: Array, s: int) -> Array:
    """Shift each image by whole pixels (``dy[i]`` down, ``dx[i]`` right), zero-filled."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2 * s, w + 2 * s), images.dtype)
    padded[:, s:s + h, s:s + w] = images
    # one gather for the batch: output pixel (r, c) reads padded pixel (r + s - dy, c + s - dx)
    rows = np.arange(h)[None, :] + s - dy[:, None]
    cols = np.arange(w)[None, :] + s - dx[:, None]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _rotate_shift(images: Array, dy: Array, dx: Array, angles: Array) -> Array:
    """Rotate each image about its centre by ``angles[i]`` radians, then shift; bilinear."""
    from scipy.ndimage import map_coordinates

    n, h, w = images.shape
    r, c = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    r = r[None] - dy[:, None, None]
    c = c[None] - dx[:, None, None]
    # inverse mapping: the source of each output pixel, rotated back by -angle
    src_r = cos * r - sin * c + (h - 1) / 2
    src_c = sin * r + cos * c + (w - 1) / 2
    index = np.broadcast_to(np.arange(n, dtype=float)[:, None, None], src_r.shape)
    out = map_coordinates(images, [index, src_r, src_c], order=1, mode="constant", cval=0.0)
    return out.astype(images.dtype, copy=False)


def make_augment(spec, n_features: int, image_shape=None):
    """Build the augmentation ``fit`` uses from ``None``, a name, an Augment or a callable.

    Names: ``"shift"`` (up to 2 pixels), ``"rotate"`` (shifts and up to 10 degrees).
    ``image_shape`` defaults to a square of ``n_features`` pixels.
    """
    if spec is None or spec is False or isinstance(spec, Augment) or (callable(spec) and not isinstance(spec, str)):
        return spec or None
    if spec not in ("shift", "rotate"):
        raise ConfigError(f"augment must be None, 'shift', 'rotate', an Augment or a function "
                          f"(X, rng) -> X, got {spec!r}.")
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ConfigError(f"augment={spec!r} needs images, but {n_features} features are not "
                              f"a square image; pass augment=Augment(image_shape=(h, w)).")
        image_shape = (side, side)
    return Augment(tuple(image_shape), shift=2, rotate=10.0 if spec == "rotate" else 0.0)
