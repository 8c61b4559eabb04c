"""A multilayer perceptron whose parameters live in one flat vector.

Every layer ``l`` computes ``z_l = a_{l-1} W_l^T + b_l`` and ``a_l = f_l(z_l)``, with
``W_l`` of shape ``(n_out, n_in)`` — the course's ``Theta_l`` without its bias column.
All weights and biases are views into ``net.theta`` (``W1``, ``b1``, ``W2``, ``b2``, ... in
that order, each row-major), and :meth:`Network.loss_and_grad` returns the gradient as
one flat vector with the same layout, so optimizers and ``scipy.optimize`` work on
``theta`` with no packing copies.

The cost is ``J = scale * (sum_i L(a_i, y_i) + l2/2 * sum ||W_l||^2)`` where ``scale`` is
1/m for ``reduction="mean"`` (see :func:`gradcheck.nn.losses.reduction_scale`); biases are
never regularised.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gradcheck._files import atomic_path
from gradcheck._mat5 import check_mat5
from gradcheck.errors import ConfigError, DataError, ModelFileError
from gradcheck.nn.activations import Activation, get_activation
from gradcheck.nn.blocks import Block, mlp_n_params
from gradcheck.nn.losses import REDUCTIONS, output_delta, pair, reduction_scale
from gradcheck.nn.persist import load_model, save_model

__all__ = ["Network", "Objective", "INITS"]

Array = np.ndarray


def _init_xavier(rng, n_out, n_in, dtype):
    limit = np.sqrt(6.0 / (n_in + n_out))  # Glorot & Bengio (2010), uniform form
    return rng.uniform(-limit, limit, (n_out, n_in)).astype(dtype), np.zeros(n_out, dtype)


def _init_he(rng, n_out, n_in, dtype):
    W = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)  # He et al. (2015)
    return W.astype(dtype), np.zeros(n_out, dtype)


def _init_uniform(rng, n_out, n_in, dtype):
    # the course's randInitializeWeights: every entry of Theta, bias column included
    T = rng.uniform(-0.12, 0.12, (n_out, n_in + 1)).astype(dtype)
    return T[:, 1:], T[:, 0]


INITS = {"xavier": _init_xavier, "he": _init_he, "uniform": _init_uniform}


#: The most bytes of Theta matrices :meth:`Network.load_mat` reads: 8 million float64
#: parameters, far more than a network saved for Octave has (784-512-10: 407,050).
MAX_MAT_BYTES = 64 << 20


def _check_sizes(sizes) -> tuple[int, ...]:
    """Layer widths as ints; anything but whole numbers is refused, never rounded
    (2.5 would silently become 2, True 1 and "4" 4)."""
    try:
        given = list(sizes)
    except TypeError:
        raise ConfigError(f"sizes must be a list of layer widths such as [784, 25, 10], got {sizes!r}.") from None
    bad = [s for s in given if not isinstance(s, numbers.Integral) or isinstance(s, (bool, np.bool_))]
    if bad:
        raise ConfigError(f"sizes must be whole numbers such as [784, 25, 10], but {bad[0]!r} in "
                          f"{given!r} is a {type(bad[0]).__name__}; give each layer's width as an int.")
    sizes = tuple(int(s) for s in given)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ConfigError(f"sizes needs at least an input and an output width, all >= 1; got {list(sizes)}.")
    return sizes


class Network:
    """A fully connected network with a correct, vectorised backward pass.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, e.g. ``[400, 25, 10]``; any depth >= 2.
    hidden : str or sequence of str
        Hidden activation, one name for all hidden layers or one per hidden layer.
    output : str
        Output activation.
    loss : str
        ``"cross_entropy"``, ``"binary_cross_entropy"`` or ``"squared_error"`` (or an alias).
    l2 : float
        Weight decay ``lambda``: adds ``lambda/(2m) sum W^2`` (weights only) with "mean".
    reduction : {"mean", "sum"}
    init : {"xavier", "he", "uniform"}
    dtype : numpy float dtype
    seed : int or None
    allow_unsafe : bool
        Accept a refused output/loss pairing; log-losses then use the clipped cost.
    """

    def __init__(self, sizes: Sequence[int], hidden="sigmoid", output="softmax",
                 loss="cross_entropy", l2=0.0, reduction="mean", init="xavier",
                 dtype=np.float64, seed=None, allow_unsafe=False):
        self.sizes = _check_sizes(sizes)
        self.hidden = self._hidden_activations(hidden)
        self.pairing = pair(output, loss)
        if self.pairing.status == "refused" and not allow_unsafe:
            p = self.pairing
            raise ConfigError(f"output '{p.output.name}' with loss '{p.loss.name}' is refused: "
                              f"{p.reason}; {p.suggestion} (or pass allow_unsafe=True for the clipped cost).",
                              option="allow_unsafe")
        self.output, self.loss_function = self.pairing.output, self.pairing.loss
        if self.output.name == "softmax" and self.sizes[-1] == 1:
            raise ConfigError("a softmax over one output unit is always 1, so its loss and gradient "
                              "are constant; use output='sigmoid' with loss='binary_cross_entropy' "
                              "for two classes, or two softmax outputs.")
        self.l2 = self._check_l2(l2)
        if reduction not in REDUCTIONS:
            raise ConfigError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")
        self.reduction, self.allow_unsafe = reduction, bool(allow_unsafe)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, got {self.dtype}.")
        self._blocks = self._layout()
        try:
            self.theta = np.zeros(self.n_params, self.dtype)
        except MemoryError:
            raise ConfigError(f"sizes {list(self.sizes)} need {self.n_params} parameters "
                              f"({self.n_params * self.dtype.itemsize / 2**30:.1f} GiB), more memory "
                              f"than there is; use narrower or fewer layers.") from None
        self._views = self.layer_views(self.theta)
        self.initialize(init, seed)

    # --- construction helpers -----------------------------------------------------------

    def _hidden_activations(self, hidden) -> tuple[Activation, ...]:
        n_hidden = len(self.sizes) - 2
        names = [hidden] * n_hidden if isinstance(hidden, (str, Activation)) else list(hidden)
        if len(names) != n_hidden:
            raise ConfigError(f"{len(names)} hidden activations given for {n_hidden} hidden "
                              f"layers (sizes={list(self.sizes)}); give one name or one per layer.")
        return tuple(get_activation(n) for n in names)

    @staticmethod
    def _check_l2(l2) -> float:
        l2 = float(l2)
        if not np.isfinite(l2) or l2 < 0:
            raise ConfigError(f"l2 (lambda) must be a finite number >= 0, got {l2}.")
        return l2

    def _layout(self) -> dict[str, Block]:
        blocks, start = {}, 0
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            for name, shape in ((f"W{l}", (n_out, n_in)), (f"b{l}", (n_out,))):
                blocks[name] = Block(name, start, shape)
                start = blocks[name].stop
        return blocks

    def layer_views(self, theta: Array | None = None) -> list[tuple[Array, Array]]:
        """``[(W1, b1), (W2, b2), ...]`` as views into ``theta`` (default :attr:`theta`).

        ``theta`` is any array of ``n_params`` values in this layout: a parameter vector, or a
        flat gradient that :meth:`backward_pass` should fill.  No copies are made.
        """
        if theta is None:
            return self._views
        b = self._blocks
        return [(b[f"W{l}"].matrix(theta), b[f"b{l}"].matrix(theta)) for l in range(1, self.n_layers + 1)]

    def initialize(self, init="xavier", seed=None) -> Network:
        """Draw fresh weights in place with ``np.random.default_rng(seed)``."""
        if init not in INITS:
            raise ConfigError(f"unknown init {init!r}; use one of {', '.join(INITS)}.")
        try:
            rng = np.random.default_rng(seed)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"seed must be None or a non-negative integer, got {seed!r}; pass "
                              f"e.g. seed=0.") from exc
        for (W, b), n_in, n_out in zip(self._views, self.sizes[:-1], self.sizes[1:]):
            W[...], b[...] = INITS[init](rng, n_out, n_in, self.dtype)
        return self

    def __getstate__(self) -> dict:
        # the layer views must be rebuilt on the copied theta, or they would keep pointing
        # at a detached array and a copied network would silently stop learning
        return {k: v for k, v in self.__dict__.items() if k != "_views"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._views = self.layer_views(self.theta)

    # --- properties ---------------------------------------------------------------------

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        return mlp_n_params(self.sizes)

    @property
    def activations(self) -> tuple[Activation, ...]:
        return (*self.hidden, self.output)

    @property
    def layers(self) -> list[tuple[Array, Array]]:
        """``[(W1, b1), (W2, b2), ...]``: views into :attr:`theta`."""
        return self._views

    def param_blocks(self) -> dict[str, Block]:
        """Ordered ``name -> Block`` (``.slice``, ``.shape``) for W1, b1, W2, b2, ..."""
        return dict(self._blocks)

    def config(self) -> dict:
        """The constructor arguments (JSON-ready) that rebuild this architecture."""
        return {"sizes": list(self.sizes), "hidden": [a.spec for a in self.hidden],
                "output": self.output.name, "loss": self.loss_function.name, "l2": self.l2,
                "reduction": self.reduction, "dtype": self.dtype.name,
                "allow_unsafe": self.allow_unsafe}

    def __repr__(self) -> str:
        hidden = ",".join(a.spec for a in self.hidden)
        return (f"Network(sizes={list(self.sizes)}, hidden={hidden!r}, output={self.output.name!r}, "
                f"loss={self.loss_function.name!r}, l2={self.l2}, dtype={self.dtype.name})")

    # --- data ---------------------------------------------------------------------------

    def _inputs(self, X, dtype) -> Array:
        X = np.asarray(X, dtype=dtype)
        if X.ndim == 1 and X.size == self.sizes[0]:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise DataError(f"X has shape {X.shape} but the network's input layer has "
                            f"{self.sizes[0]} units (sizes[0]); pass X of shape (n_samples, "
                            f"{self.sizes[0]}).")
        if len(X) == 0:
            raise DataError("X has no rows; pass at least one sample.")
        return X

    def targets(self, Y, m: int, dtype=None) -> Array:
        """Targets as ``(m, n_outputs)``: class indices become one-hot rows."""
        dtype = dtype or self.dtype
        k = self.sizes[-1]
        Y = np.asarray(Y)
        if Y.ndim == 2 and Y.shape == (m, 1) and k > 1:  # Octave's column of labels
            Y = Y[:, 0]
        if Y.ndim == 1 and k > 1:
            if len(Y) != m:
                raise DataError(f"{len(Y)} labels for {m} rows of X; give one label per row.")
            return _one_hot(Y, k, dtype)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if Y.shape != (m, k):
            raise DataError(f"targets have shape {Y.shape} but X has {m} rows and the network "
                            f"{k} outputs; pass labels of shape ({m},) or targets ({m}, {k}).")
        return Y.astype(dtype, copy=False)

    # --- forward and backward -----------------------------------------------------------

    def forward_pass(self, X: Array, layers=None, *, activations=None, buffers=None,
                     last_activation: bool = True) -> tuple[list[Array], list[Array]]:
        """The network's one forward pass: ``z_l = a_{l-1} W_l^T + b_l``, ``a_l = f_l(z_l)``.

        Every variant uses it: :meth:`loss_and_grad`, the training kernel (with ``buffers``),
        the structure-aware numerical gradient and the mistake catalogue (with
        ``activations``).

        Parameters
        ----------
        X : ndarray of shape (n_samples, sizes[0])
            Used as given, in the layers' dtype (:meth:`forward` checks and converts).
        layers : list of (W, b), optional
            :meth:`layer_views` of the parameters to use; default :attr:`layers`.
        activations : sequence of Activation, optional
            One per layer, in place of :attr:`activations`.
        buffers : list of (z, a), optional
            Arrays of shape ``(n_samples, sizes[l + 1])`` to write layer ``l``'s
            pre-activations and activations into, instead of new arrays.
        last_activation : bool
            False stops at the last layer's pre-activations, for a caller that needs only
            ``z_L`` (a per-sample cost from ``z``); ``acts`` then ends at ``a_{L-1}``.

        Returns
        -------
        zs : list of ndarray
            ``[z_1, ..., z_L]``, each ``(n_samples, sizes[l])``.
        acts : list of ndarray
            ``[X, a_1, ..., a_L]``.
        """
        layers = self._views if layers is None else layers
        zs, acts = [], [X]
        for l, ((W, b), act) in enumerate(zip(layers, activations or self.activations)):
            z, a = buffers[l] if buffers is not None else (None, None)
            z = np.matmul(acts[-1], W.T, out=z)
            z += b
            zs.append(z)
            if l < len(layers) - 1 or last_activation:
                a = np.empty_like(z) if a is None else a
                act.forward_into(z, a)
                acts.append(a)
        return zs, acts

    def _theta_views(self, theta):
        if theta is None:
            return self._views, self.dtype
        theta = np.asarray(theta)
        if theta.shape != (self.n_params,) or theta.dtype.kind != "f":
            raise ConfigError(f"theta must be a float vector of length {self.n_params} for sizes "
                              f"{list(self.sizes)}, got shape {theta.shape} ({theta.dtype}).")
        return self.layer_views(theta), theta.dtype

    def forward(self, X, theta=None) -> Array:
        """Output activations, shape ``(n_samples, sizes[-1])``."""
        views, dtype = self._theta_views(theta)
        return self.forward_pass(self._inputs(X, dtype), views)[1][-1]

    def predict_proba(self, X) -> Array:
        """Output activations (class probabilities for softmax/sigmoid outputs)."""
        return self.forward(X)

    def predict(self, X) -> Array:
        """Class indices, shape ``(n_samples,)``: the argmax of the outputs, or for a single
        output unit 1 where it exceeds the middle of its range (0.5 for sigmoid) else 0."""
        out = self.forward(X)
        if out.shape[1] == 1:
            lo, hi = self.output.output_range
            middle = (lo + hi) / 2 if np.isfinite(lo) and np.isfinite(hi) else 0.5
            return (out[:, 0] > middle).astype(np.int64)
        return np.argmax(out, axis=1)

    def penalty(self, layers, scale: float) -> float:
        """The L2 term ``l2/2 * scale * sum_l ||W_l||^2`` of the cost (biases never count).

        ``layers`` are :meth:`layer_views`; ``scale`` is the reduction's (1/m or 1).
        """
        if not self.l2:
            return 0.0
        return 0.5 * self.l2 * scale * sum(float(np.vdot(W, W)) for W, _ in layers)

    def loss(self, X, Y, theta=None) -> float:
        """The cost J (data term plus L2 penalty)."""
        return self.loss_and_grad(X, Y, theta, need_grad=False)[0]

    def loss_and_grad(self, X, Y, theta=None, need_grad=True) -> tuple[float, Array | None]:
        """Cost and its gradient as one flat vector in :attr:`theta`'s layout.

        Computes in ``theta``'s dtype when a ``theta`` is given (so a float32 network can be
        checked in float64), else in the network's dtype.
        """
        views, dtype = self._theta_views(theta)
        X = self._inputs(X, dtype)
        Y = self.targets(Y, len(X), dtype)
        zs, acts = self.forward_pass(X, views)
        J, delta = output_delta(self.pairing, zs[-1], acts[-1], Y, self.reduction)
        scale = reduction_scale(len(X), self.reduction)
        J += self.penalty(views, scale)
        if not need_grad:
            return J, None
        grad = np.empty(self.n_params, dtype)
        self.backward_pass(views, self.layer_views(grad), zs, acts, delta, scale)
        return J, grad

    def backward_pass(self, layers, grads, zs, acts, delta: Array, scale: float, *,
                      activations=None, through=None, hidden_delta=None, buffers=None) -> None:
        """The network's one backward pass: fill ``grads`` from the output delta down.

        ``dJ/dW_l = delta_l^T a_{l-1} + l2 scale W_l``, ``dJ/db_l = sum_i delta_l`` and
        ``delta_{l-1} = f'_{l-1}(z_{l-1}) * (delta_l W_l)`` (``W`` has no bias column).

        Parameters
        ----------
        layers : list of (W, b)
            The :meth:`layer_views` the forward pass used.
        grads : list of (gW, gb)
            :meth:`layer_views` of the flat gradient to fill, in place.
        zs, acts : lists of ndarray
            What :meth:`forward_pass` returned.
        delta : ndarray of shape (n_samples, sizes[-1])
            ``dJ/dz`` of the output layer, the reduction's 1/m included (see
            :func:`gradcheck.nn.losses.output_delta`).  Overwritten when ``buffers`` are given.
        scale : float
            The reduction's factor (1/m or 1), for the L2 term's gradient.
        activations : sequence of Activation, optional
            The ones the forward pass used, if not :attr:`activations`.
        through : callable ``(act, z, a, g) -> ndarray``, optional
            ``dJ/dz`` of a hidden layer from ``g = dJ/da`` (may overwrite ``g``); default
            ``act.backward_into``, the derivative of the layer's own activation.
        hidden_delta : callable ``(l, delta) -> ndarray``, optional
            Replaces the whole step from ``delta`` of layer ``l`` (0-based, ``l >= 1``) to the
            delta of layer ``l - 1`` (a catalogued mistake that gets the step wrong).
        buffers : list of ndarray, optional
            ``buffers[l]`` of shape ``(n_samples, sizes[l + 1])`` receives layer ``l``'s
            hidden delta, instead of a new array (the training kernel's).
        """
        activations = activations or self.activations
        decay = dtype_scalar(delta, self.l2 * scale)
        for l in range(self.n_layers - 1, -1, -1):
            (W, _), (gW, gb) = layers[l], grads[l]
            np.matmul(delta.T, acts[l], out=gW)  # dJ/dW_l = delta_l^T a_{l-1}
            if self.l2:
                gW += decay * W
            np.sum(delta, axis=0, out=gb)
            if l > 0 and hidden_delta is not None:
                delta = hidden_delta(l, delta)
            elif l > 0:
                g = np.matmul(delta, W, out=None if buffers is None else buffers[l - 1])
                delta = self._through(activations[l - 1], zs[l - 1], acts[l], g, through)

    @staticmethod
    def _through(act: Activation, z: Array, a: Array, g: Array, through) -> Array:
        if through is not None:
            return through(act, z, a, g)
        act.backward_into(z, a, g)
        return g

    def objective(self, X, Y) -> Objective:
        """The cost on fixed data as a function of theta, for checkers and optimizers."""
        return Objective(self, X, Y)

    # --- the course's (Octave) layout ---------------------------------------------------

    def course_order(self) -> Array:
        """Indices ``p`` such that ``theta[p]`` is the course's unrolled ``[Theta1(:); Theta2(:)]``."""
        index = np.arange(self.n_params)
        views = self.layer_views(index)
        return np.concatenate([np.hstack([b[:, None], W]).ravel(order="F") for W, b in views])

    def to_thetas(self) -> list[Array]:
        """One matrix per layer, shape ``(n_out, n_in + 1)``, the bias as column 0."""
        return [np.hstack([b[:, None], W]) for W, b in self._views]

    @classmethod
    def from_thetas(cls, thetas, *, sizes=None, **kwargs) -> Network:
        """Build a network from the course's matrices (or their unrolled vector + ``sizes``).

        ``thetas`` may be a list of ``Theta_l`` of shape ``(n_out, n_in + 1)`` (bias column 0),
        a dict ``{"Theta1": ..., "Theta2": ...}``, or, with ``sizes``, Octave's unrolled
        ``[Theta1(:); Theta2(:)]`` as a vector or an ``(n, 1)`` column (what ``loadmat`` gives).
        Without ``dtype`` the network takes the matrices' float dtype.
        """
        if isinstance(thetas, dict):
            thetas = _ordered_thetas(thetas)
        if sizes is not None and (isinstance(thetas, np.ndarray) or np.ndim(thetas[0]) == 0):
            vec = np.asarray(thetas)
            if vec.ndim == 2 and 1 in vec.shape:
                vec = vec.ravel()
            if vec.ndim == 1:
                return cls._from_unrolled(vec, sizes, **kwargs)
        if isinstance(thetas, np.ndarray) and thetas.ndim == 2:
            thetas = [thetas]
        thetas = [np.atleast_2d(np.asarray(T)) for T in thetas]
        derived = _chained_sizes(thetas)
        if sizes is not None and list(sizes) != derived:
            raise ConfigError(f"sizes {list(sizes)} disagree with the matrices, which give {derived}.")
        kwargs.setdefault("dtype", _float_dtype(thetas[0]))
        net = cls(derived, **kwargs)
        for (W, b), T in zip(net._views, thetas):
            b[...], W[...] = T[:, 0], T[:, 1:]
        return net

    @classmethod
    def _from_unrolled(cls, vec, sizes, **kwargs) -> Network:
        kwargs.setdefault("dtype", _float_dtype(vec))
        net = cls(sizes, **kwargs)
        if vec.shape != (net.n_params,):
            raise ConfigError(f"the unrolled vector has {vec.size} values but sizes {list(sizes)} "
                              f"need {net.n_params}.")
        net.theta[net.course_order()] = vec
        return net

    def save_mat(self, path) -> None:
        """Write ``Theta1``, ``Theta2``, ... to a MATLAB .mat file (scipy.io.savemat)."""
        from scipy.io import savemat

        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                savemat(fh, {f"Theta{l}": T for l, T in enumerate(self.to_thetas(), start=1)})

    @classmethod
    def load_mat(cls, path, *, hidden="sigmoid", **kwargs) -> Network:
        """Read ``Theta1``, ``Theta2``, ... from a .mat file into a new network.

        The file holds the matrices alone, not the activation they were trained with: give
        it as ``hidden`` (default ``"sigmoid"``, the course's), and ``output``/``loss`` when
        they differ from softmax + cross-entropy.  The MAT 5 structure is checked before
        scipy reads the file (a crafted one crashed the interpreter), and the matrices may
        hold at most :data:`MAX_MAT_BYTES`, compressed or not.
        """
        from scipy.io import loadmat

        path = Path(path)
        if not path.is_file():
            what = "does not exist" if not path.exists() else "is not a regular file"
            raise ModelFileError(f"{path} {what}; give a .mat file holding Theta1, Theta2, ...")
        names = check_mat5(path, lambda name: _theta_number(name) is not None, ModelFileError,
                           MAX_MAT_BYTES)
        try:
            data = loadmat(path, variable_names=sorted(names) or None)
        except Exception as exc:  # scipy's MatReadError derives from Exception alone
            raise ModelFileError(f"cannot read {path} as a .mat file ({exc}); check the path and format.") from exc
        thetas = {k: v for k, v in data.items() if _theta_number(k) is not None}
        if not thetas:
            raise ModelFileError(f"{path} holds no Theta1, Theta2, ... matrices; save them with those names.")
        try:  # what the file holds; a bad hidden= is still the caller's ConfigError below
            ordered = _ordered_thetas(thetas)
            _chained_sizes([np.atleast_2d(T) for T in ordered])
        except ConfigError as exc:
            raise ModelFileError(f"{path} holds matrices that do not make a network ({exc})") from exc
        return cls.from_thetas(ordered, hidden=hidden, **kwargs)

    # --- model files (format in gradcheck.nn.persist) ----------------------------------------

    def save(self, path, metadata=None):
        """Write theta and a JSON header to ``path`` (.npz), atomically; see :mod:`gradcheck.nn.persist`.

        ``metadata`` may hold ``labels``, ``image_shape`` and ``dataset``; it defaults to
        :attr:`metadata` when a loaded network has one.
        """

        return save_model(self, path, metadata)

    @classmethod
    def load(cls, path) -> Network:
        """Read a model saved by :meth:`save` (never unpickles); ModelFileError if refused."""

        return load_model(path, cls)


def dtype_scalar(like: Array, value: float):
    """``value`` as a scalar of ``like``'s dtype, so float32 arithmetic stays float32."""
    return like.dtype.type(value)


def _float_dtype(array) -> np.dtype:
    dtype = np.asarray(array).dtype
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _chained_sizes(thetas: list) -> list[int]:
    """The layer widths the course's matrices ``Theta_l`` (n_out, n_in + 1) describe."""
    derived = [thetas[0].shape[1] - 1] + [T.shape[0] for T in thetas]
    for l, (T, n_in) in enumerate(zip(thetas, derived[:-1]), start=1):
        if T.ndim != 2 or T.shape[1] != n_in + 1:
            raise ConfigError(f"Theta{l} has shape {T.shape} but Theta{l - 1} has {n_in} rows, "
                              f"so Theta{l} needs {n_in + 1} columns (bias first).")
    return derived


def _ordered_thetas(thetas: dict) -> list:
    numbers = {k: _theta_number(k) for k in thetas}
    bad = [k for k, n in numbers.items() if n is None]
    if bad:
        raise ConfigError(f"keys {bad} are not Theta1, Theta2, ...; name the matrices that way.")
    order = sorted(thetas, key=lambda k: numbers[k] or 0)  # every number is known by now
    if [numbers[k] for k in order] != list(range(1, len(order) + 1)):
        raise ConfigError(f"the matrices {order} skip a number; give Theta1 to Theta{len(order)}.")
    return [thetas[k] for k in order]


def _theta_number(key: str):
    digits = key[len("Theta"):] if key.startswith("Theta") else ""
    return int(digits) if digits.isdigit() else None


def _one_hot(y, k, dtype) -> Array:
    labels = np.asarray(y)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise DataError("class labels must be whole numbers; pass integer labels 0..n_classes-1.")
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iu":
        raise DataError(f"class labels must be integers, got dtype {labels.dtype}.")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise DataError(f"labels range from {labels.min()} to {labels.max()} but the network has "
                        f"{k} outputs; labels must lie in [0, {k}).")
    Y = np.zeros((labels.size, k), dtype)
    Y[np.arange(labels.size), labels] = 1
    return Y


class Objective:
    """``J(theta)`` of a network on fixed data, with ``.grad`` and ``.loss_and_grad``.

    :func:`gradcheck.check.check_gradient` recognises it and can use the network's
    structure to evaluate the numerical gradient faster.
    """

    def __init__(self, net: Network, X, Y):
        self.net = net
        self.X = net._inputs(X, np.float64)
        self.Y = net.targets(Y, len(self.X), np.float64)

    def __call__(self, theta) -> float:
        return self.net.loss_and_grad(self.X, self.Y, theta, need_grad=False)[0]

    def grad(self, theta) -> Array:
        return self.loss_and_grad(theta)[1]

    def loss_and_grad(self, theta) -> tuple[float, Array]:
        J, grad = self.net.loss_and_grad(self.X, self.Y, theta)
        assert grad is not None  # need_grad=True returns one
        return J, grad
