"""scikit-learn estimators on gradcheck's Network, trained by :func:`gradcheck.train.fit`.

:class:`MLPClassifier` and :class:`MLPRegressor` take the parameters of scikit-learn's
estimators of the same names (a subset, with the same meanings and defaults, plus
``augment``, ``dtype`` and the "cg" solver), so they drop into pipelines and grid
searches.  The fitted network is ``network_``, so its gradient can be checked with
:mod:`gradcheck.check`.

Conventions shared with scikit-learn's MLP:

* the cost is ``J = mean_i L(a_i, y_i) + alpha / (2 m) * sum ||W_l||^2`` over a batch of
  ``m`` samples, weights only (biases are never regularised): ``alpha`` is the network's ``l2``;
* ``batch_size="auto"`` is ``min(200, n_samples)``; ``max_iter`` counts epochs (iterations
  for ``"lbfgs"`` and ``"cg"``); ``partial_fit`` is one epoch over the data it is given.

Differences, on purpose:

* ``random_state=None`` draws fresh entropy from the operating system; numpy's global
  random state is never read or advanced.  An int makes ``fit`` reproducible.
* training stops early only with ``early_stopping=True`` (after ``n_iter_no_change`` epochs
  without a lower validation *loss*, then the best epoch's weights are put back); there is
  no ``tol`` on the training loss, so ``fit`` otherwise runs ``max_iter`` epochs.

scikit-learn is an optional dependency of gradcheck: importing this module needs it,
importing :mod:`gradcheck` does not.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets, unique_labels
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # validate_data appeared in scikit-learn 1.6
    raise ImportError(
        f"gradcheck.sklearn needs scikit-learn >= 1.6, an optional dependency of gradcheck "
        f"({exc}); install it with `pip install 'scikit-learn>=1.6'`.") from exc

from gradcheck.errors import ConfigError, DataError, nearest_name
from gradcheck.nn.network import Network
from gradcheck.train.loop import fit as train_fit
from gradcheck.train.optim import Adam, Momentum, Optimizer

__all__ = ["MLPClassifier", "MLPRegressor", "SOLVERS"]

Array = np.ndarray
#: Input dtypes kept as they are; anything else (ints, bools, objects) becomes float64.
_FLOAT_DTYPES = (np.float64, np.float32)


# --- parameter checks (in fit, never in __init__: scikit-learn's clone contract) -----------

def _integer(owner: str, name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not (isinstance(value, numbers.Integral) and int(value) >= minimum):
        raise ConfigError(f"{owner} {name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _real(owner: str, name: str, value, ok: Callable[[float], bool], expected: str) -> float:
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and ok(float(value))):
        raise ConfigError(f"{owner} {name} must be {expected}, got {value!r}.")
    return float(value)


def _hidden_sizes(owner: str, value) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple; an int is one layer, ``()`` none (a linear model)."""
    sizes = (value,) if isinstance(value, numbers.Integral) else value
    try:
        return tuple(_integer(owner, "hidden_layer_sizes entries", s, 1) for s in sizes)
    except TypeError:
        raise ConfigError(f"{owner} hidden_layer_sizes must be an int or a sequence of ints "
                          f"such as (100,), got {value!r}.") from None


def _entropy(owner: str, random_state) -> int | None:
    """A seed for ``np.random.default_rng``; None asks the OS, never numpy's global state."""
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        # scikit-learn's convention: a RandomState instance is drawn from, and so advanced
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) \
            and int(random_state) >= 0:
        return int(random_state)
    raise ConfigError(f"{owner} random_state must be None, an int >= 0 or a "
                      f"numpy.random.RandomState, got {random_state!r}.")


# --- solvers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Solver:
    """A ``solver=`` name: a minibatch optimizer factory, or a full-batch scipy method.

    ``make_optimizer(estimator) -> Optimizer`` reads the estimator's hyperparameters; it
    is None for the full-batch methods, which :func:`gradcheck.train.fit` runs by name.
    """

    name: str
    make_optimizer: Callable[[object], Optimizer] | None

    @property
    def stochastic(self) -> bool:
        return self.make_optimizer is not None


def _learning_rate(est) -> float:
    return _real(type(est).__name__, "learning_rate_init", est.learning_rate_init,
                 lambda lr: 0 < lr < np.inf, "a finite number > 0")


def _adam(est) -> Optimizer:
    return Adam(lr=_learning_rate(est))


def _sgd(est) -> Optimizer:
    # scikit-learn's "sgd" is momentum SGD, Nesterov by default; torch's form, dampening 0
    return Momentum(lr=_learning_rate(est), beta=est.momentum, nesterov=est.nesterovs_momentum)


SOLVERS: dict[str, Solver] = {s.name: s for s in (
    Solver("adam", _adam), Solver("sgd", _sgd), Solver("lbfgs", None), Solver("cg", None))}


def _get_solver(owner: str, name) -> Solver:
    if not isinstance(name, str) or name.lower() not in SOLVERS:
        hint = nearest_name(name, SOLVERS) if isinstance(name, str) else ""
        raise ConfigError(f"unknown {owner} solver {name!r}{hint} (known: "
                          f"{', '.join(SOLVERS)}).")
    return SOLVERS[name.lower()]


def _draw_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(np.iinfo(np.int64).max))


# --- data --------------------------------------------------------------------------------------

def _random_split(X: Array, T: Array, fraction: float, rng: np.random.Generator):
    """Shuffled ``(X_train, T_train), (X_val, T_val)`` with ``round(fraction * n)`` held out."""
    n = len(X)
    n_val = round(fraction * n)
    if not 1 <= n_val < n:
        raise DataError(f"early_stopping holds out validation_fraction={fraction} of {n} "
                        f"samples, which leaves no validation or no training sample; give more "
                        f"samples or another fraction.")
    order = rng.permutation(n)
    val, train = order[:n_val], order[n_val:]
    return (X[train], T[train]), (X[val], T[val])


# --- the shared estimator -------------------------------------------------------------------

def _stochastic_solver(est) -> bool:
    """``available_if`` test: partial_fit exists only for minibatch solvers, as in scikit-learn."""
    solver = SOLVERS.get(str(est.solver).lower())
    # an unknown name keeps partial_fit, whose call then explains it: hasattr must not raise
    if solver is not None and not solver.stochastic:
        raise AttributeError(f"partial_fit is only available for the minibatch solvers 'adam' "
                             f"and 'sgd', not solver={est.solver!r}.")
    return True


class _BaseMLP(BaseEstimator):
    """Parameters, network construction, training and pickling shared by both estimators."""

    #: the output activation and the loss it is paired with (a fused, exact delta)
    _output: str = ""
    _loss: str = ""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate_init=1e-3, max_iter=200,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, augment=None,
                 random_state=None, dtype=np.float64):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.augment = augment
        self.random_state = random_state
        self.dtype = dtype

    # --- parameters -----------------------------------------------------------------------

    @property
    def _owner(self) -> str:
        return type(self).__name__

    def _batch_size(self, n_samples: int) -> int:
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            return min(200, n_samples)
        # larger than the set means full batch; scikit-learn clips the same way
        return min(_integer(self._owner, "batch_size", self.batch_size, 1), n_samples)

    def _hidden_and_alpha(self) -> tuple[tuple[int, ...], float]:
        alpha = _real(self._owner, "alpha", self.alpha, lambda a: 0 <= a < np.inf,
                      "a finite number >= 0")
        return _hidden_sizes(self._owner, self.hidden_layer_sizes), alpha

    def _patience(self) -> int | None:
        """Epochs without a lower validation loss before stopping; None: no early stopping."""
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise ConfigError(f"{self._owner} early_stopping must be True or False, got "
                              f"{self.early_stopping!r}.")
        if not self.early_stopping:
            return None
        fraction = self.validation_fraction
        if not (isinstance(fraction, numbers.Real) and 0 < float(fraction) < 1):
            raise ConfigError(f"{self._owner} validation_fraction must be in (0, 1) with "
                              f"early_stopping=True, got {fraction!r}.")
        return _integer(self._owner, "n_iter_no_change", self.n_iter_no_change, 1)

    # --- building and training ------------------------------------------------------------

    def _start(self, n_features: int, n_outputs: int) -> None:
        """Fresh generator, network and optimizer: what fit and a first partial_fit do.

        Every parameter is checked before the first fitted attribute is set, so a bad one
        leaves the estimator as it was.
        """
        solver = _get_solver(self._owner, self.solver)
        self._batch_size(1)
        hidden, alpha = self._hidden_and_alpha()
        optimizer = solver.make_optimizer(self) if solver.make_optimizer is not None else None
        rng = np.random.default_rng(_entropy(self._owner, self.random_state))
        network = Network([n_features, *hidden, n_outputs], hidden=self.activation,
                          output=self._output, loss=self._loss, l2=alpha, dtype=self.dtype,
                          seed=_draw_seed(rng))
        self.network_, self._optimizer, self._rng = network, optimizer, rng
        self.loss_curve_: list[float] = []
        self.n_iter_ = 0

    def _train(self, X: Array, T: Array, *, epochs: int, validation=None, patience=None) -> None:
        """Run :func:`gradcheck.train.fit` on ``network_``; record the loss curve."""
        solver = _get_solver(self._owner, self.solver)
        if solver.make_optimizer is not None and self._optimizer is None:  # fitted by lbfgs/cg, then set_params
            self._optimizer = solver.make_optimizer(self)
        # the optimizer object, not its name: its moments carry over between partial_fit calls
        optimizer = self._optimizer if solver.stochastic else solver.name
        history = train_fit(self.network_, X, T, optimizer=optimizer, epochs=epochs,
                            batch_size=self._batch_size(len(X)), validation=validation,
                            early_stopping=patience, augment=self.augment,
                            seed=_draw_seed(self._rng))
        self.history_ = history
        self.loss_curve_ = [*self.loss_curve_, *history["train_loss"]]
        self.n_iter_ += len(history)

    def _fit(self, X: Array, T: Array, n_outputs: int) -> _BaseMLP:
        patience = self._patience()
        epochs = _integer(self._owner, "max_iter", self.max_iter, 1)
        self._start(X.shape[1], n_outputs)
        validation = None
        if patience is not None:
            X, T, validation = self._hold_out(X, T)
        self._train(X, T, epochs=epochs, validation=validation, patience=patience)
        return self

    def _hold_out(self, X: Array, T: Array):
        """``(X_train, T_train, validation)``, the last as :func:`gradcheck.train.fit` takes it."""
        (X, T), validation = _random_split(X, T, float(self.validation_fraction), self._rng)
        return X, T, validation

    def _forward(self, X) -> Array:
        """Output activations for ``X`` after the checks scikit-learn's API requires."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=_FLOAT_DTYPES)
        return self.network_.forward(X)

    # --- pickling and deepcopy ------------------------------------------------------------

    def __getstate__(self):
        # a copy: BaseEstimator hands back the live __dict__ for classes outside sklearn
        state = dict(super().__getstate__())
        net = state.pop("network_", None)
        if net is not None:
            # a Network's layer matrices are views into theta, and pickle/deepcopy copy them
            # apart (training would then change theta but not what forward reads): rebuild
            state["_network_state"] = (net.config(), net.theta.copy())
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_network_state", None)
        super().__setstate__(state)
        if saved is not None:
            config, theta = saved
            self.network_ = Network(**config)
            self.network_.theta[...] = theta


_PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : str, default="relu"
        Hidden activation, any name of :data:`gradcheck.ACTIVATIONS` ("relu", "tanh",
        "logistic" / "sigmoid", "identity", "gelu", ...).
    solver : {"adam", "sgd", "lbfgs", "cg"}, default="adam"
        Minibatch Adam, minibatch momentum SGD, or scipy's full-batch L-BFGS-B or
        nonlinear conjugate gradient (``fmin_cg``).
    alpha : float, default=1e-4
        L2 penalty ``alpha / (2 m) * sum ||W||^2`` on the weights (the network's ``l2``).
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.  Ignored by full-batch solvers.
    learning_rate_init : float, default=1e-3
        Constant learning rate of "adam" and "sgd".
    max_iter : int, default=200
        Epochs for "adam" and "sgd", iterations for "lbfgs" and "cg".
    momentum : float, default=0.9
        Momentum of "sgd", in [0, 1).
    nesterovs_momentum : bool, default=True
        Nesterov's form of momentum for "sgd".
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training set, stop after
        ``n_iter_no_change`` epochs without a lower validation loss and keep the best
        epoch's weights.  Not used by ``partial_fit``.
    validation_fraction : float, default=0.1
        Share of the training set held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Patience of ``early_stopping``, in epochs.
    augment : None, "shift", "rotate", Augment or callable, default=None
        Random distortions of each minibatch for image rows, as in
        :func:`gradcheck.train.fit`; minibatch solvers only.
    random_state : None, int or numpy.random.RandomState, default=None
        Seeds the weights, the batches, the validation split and the augmentation; None
        draws fresh OS entropy (numpy's global state is never used).
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Dtype of the weights and of the computation.
"""

_ATTRIBUTES_DOC = """
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.
    network_ : gradcheck.Network
        The fitted network; ``network_.theta`` holds all its parameters.
    loss_curve_ : list of float
        Mean training cost J of each epoch (penalty included), across partial_fit calls.
    n_iter_ : int
        Epochs (or full-batch iterations) run, across partial_fit calls.
    history_ : gradcheck.train.History
        Per-epoch records of the last fit or partial_fit call (validation loss and, for
        the classifier, accuracy included).
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    # an assigned __doc__: one Parameters section for both estimators, so they cannot drift
    __doc__ = """Multilayer perceptron classifier: softmax outputs, cross-entropy cost.

    One softmax unit per class, binary problems included (two units), so
    ``predict_proba`` rows sum to 1 and the output delta is ``a - y``.
    """ + _PARAMETERS_DOC + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted class labels.""" + _ATTRIBUTES_DOC

    _output, _loss = "softmax", "cross_entropy"

    def fit(self, X, y):
        """Train a fresh network on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, reset=True, dtype=_FLOAT_DTYPES)
        labels = self._encode(y, classes=None, first=True)
        return self._fit(X, labels, n_outputs=len(self.classes_))

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, classes=None):
        """One epoch over ``X``, ``y``, continuing the weights and the optimizer's state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), optional
            All the labels ``y`` will ever hold; required on the first call (unless
            ``fit`` ran before), since the output layer has one unit per class.

        Returns
        -------
        self
        """
        first = not hasattr(self, "network_")
        if first and classes is None:
            raise ConfigError(f"{self._owner}.partial_fit needs classes= (every label y will "
                              f"hold) on its first call, to size the output layer.")
        X, y = validate_data(self, X, y, reset=first, dtype=_FLOAT_DTYPES)
        labels = self._encode(y, classes=classes, first=first)
        if first:
            self._start(X.shape[1], len(self.classes_))
        self._train(X, labels, epochs=1)
        return self

    def _encode(self, y, classes, first: bool) -> Array:
        """Class indices of ``y`` in ``classes_`` (set here on a first call)."""
        check_classification_targets(y)
        if first:
            self.classes_ = unique_labels(y if classes is None else classes)
            if len(self.classes_) < 2:
                raise DataError(f"{self._owner} needs at least 2 classes, but y holds one class "
                                f"({self.classes_[0]}); one softmax unit has nothing to learn.")
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ConfigError(f"classes={unique_labels(classes).tolist()} differs from the "
                              f"classes {self.classes_.tolist()} of the first call; pass the "
                              f"same classes.")
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise DataError(f"y holds the label {y[unknown][0]}, which is not among the classes "
                            f"{self.classes_.tolist()}; pass every label in classes= on the "
                            f"first partial_fit call.")
        return np.searchsorted(self.classes_, y)

    def _hold_out(self, X, T):
        # a fraction: train.fit splits it off stratified by class, seeded by its own seed
        return X, T, float(self.validation_fraction)

    def predict_proba(self, X) -> Array:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in ``classes_`` order."""
        return self._forward(X)

    def predict(self, X) -> Array:
        """The most probable class of each row, shape ``(n_samples,)``."""
        proba = self._forward(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multilayer perceptron regressor: identity outputs, squared-error cost.

    ``y`` may be 1-D (one output) or 2-D (one column per output).  The cost is
    ``J = 1/m sum_i 1/2 ||a_i - y_i||^2 + alpha/(2m) sum ||W||^2``: the squared error is
    summed over the outputs and averaged over the samples, and the gradient every solver
    uses is the exact gradient of that same J whatever the number of outputs.  (In
    scikit-learn's MLPRegressor the reported loss also averages over the outputs but its
    gradient does not, so with k outputs they disagree by a factor k, and L-BFGS gets an
    inconsistent pair: scikit-learn issue #8349.  So with k outputs the data term of our
    ``loss_curve_`` is k times scikit-learn's, while the gradient, and so what ``alpha``
    does, is the same.)
    """ + _PARAMETERS_DOC + """
    Attributes
    ----------
    n_outputs_ : int
        Number of outputs; ``predict`` returns shape ``(n_samples,)`` when it is 1, as
        scikit-learn's MLPRegressor does, else ``(n_samples, n_outputs_)``.""" + _ATTRIBUTES_DOC

    _output, _loss = "identity", "squared_error"

    def fit(self, X, y):
        """Train a fresh network on ``X`` (n_samples, n_features), ``y`` (n_samples[, n_outputs]).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, reset=True, multi_output=True, y_numeric=True,
                             dtype=_FLOAT_DTYPES)
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return self._fit(X, self._targets(y), n_outputs=self.n_outputs_)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y):
        """One epoch over ``X``, ``y``, continuing the weights and the optimizer's state.

        Returns
        -------
        self
        """
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True,
                             dtype=_FLOAT_DTYPES)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self.n_outputs_ = n_outputs
            self._start(X.shape[1], n_outputs)
        elif n_outputs != self.n_outputs_:
            raise DataError(f"y has {n_outputs} output(s) but the first call had "
                            f"{self.n_outputs_}; pass targets of the same width.")
        self._train(X, self._targets(y), epochs=1)
        return self

    @staticmethod
    def _targets(y) -> Array:
        """``y`` as ``(n_samples, n_outputs)`` floats, the layout the network's cost reads."""
        y = np.asarray(y, dtype=np.float64)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X) -> Array:
        """Predicted targets, shape ``(n_samples,)`` or ``(n_samples, n_outputs_)``."""
        A = self._forward(X)
        return A.ravel() if self.n_outputs_ == 1 else A
