"""The scikit-learn estimators: scikit-learn's own API checks, pipelines, partial_fit, seeds."""
import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gradcheck.check.gradient import check_network
from gradcheck.errors import ConfigError, DataError
from gradcheck.sklearn import MLPClassifier, MLPRegressor

# --- scikit-learn's estimator checks, one test each -----------------------------------------

# max_iter as in scikit-learn's own instances of its MLPs; each check refits many times
CHECKED = [
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    MLPClassifier(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=20),
    MLPRegressor(solver="cg", hidden_layer_sizes=(), max_iter=30, early_stopping=True),
    MLPClassifier(solver="sgd", hidden_layer_sizes=(10, 10), learning_rate_init=0.05,
                  max_iter=50, dtype=np.float32),
]

_FLOAT32_REASON = ("dtype=float32 computes in float32 (eps 1.2e-7), and BLAS rounds a row "
                   "differently by its position in the batch; these checks demand rtol=1e-7")


def expected_failures(estimator) -> dict:
    """Checks that cannot hold for an instance, each with the reason (scikit-learn >= 1.6)."""
    if np.dtype(estimator.dtype) == np.float32:
        return {"check_methods_sample_order_invariance": _FLOAT32_REASON,
                "check_methods_subset_invariance": _FLOAT32_REASON}
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# --- pipelines and grid searches ---------------------------------------------------------------

def test_pipeline_with_scaler_in_grid_search_over_alpha():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((10,), learning_rate_init=0.01,
                                                         max_iter=200, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e3]}, cv=3)
    search.fit(X, y)
    # a huge penalty flattens the weights: the search must prefer the small one
    assert search.best_params_ == {"mlpclassifier__alpha": 1e-4}
    assert search.best_score_ > 0.9
    assert search.score(X, y) > 0.95
    assert search.best_estimator_[-1].network_.l2 == 1e-4


# --- partial_fit -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:1000], y[:1000], X[1000:1500], y[1000:1500]


def test_partial_fit_over_several_calls_improves_accuracy(digits):
    X, y, X_test, y_test = digits
    clf = MLPClassifier((32,), learning_rate_init=1e-2, batch_size=32, random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    first = clf.score(X_test, y_test)
    for _ in range(3):
        for chunk in np.array_split(np.arange(len(X)), 5):
            clf.partial_fit(X[chunk], y[chunk])
    assert clf.n_iter_ == 16 and len(clf.loss_curve_) == 16
    assert clf.score(X_test, y_test) > max(first + 0.3, 0.9)


def test_partial_fit_keeps_the_optimizer_state_across_calls():
    # full-batch steps make the batch order irrelevant, so three partial_fit calls must give
    # fit's weights, which holds only if Adam's moments and step count carry over
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(5,), batch_size=len(X), random_state=3)
    fitted = MLPClassifier(max_iter=3, **params).fit(X, y)
    partial = MLPClassifier(**params)
    for _ in range(3):
        partial.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_allclose(partial.network_.theta, fitted.network_.theta, rtol=1e-12)
    assert partial.loss_curve_ == pytest.approx(fitted.loss_curve_, rel=1e-12)


def test_partial_fit_refuses_missing_classes_and_unknown_labels():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ConfigError, match="classes="):
        MLPClassifier().partial_fit(X, y)
    clf = MLPClassifier((4,)).partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(DataError, match="label 2"):
        clf.partial_fit(X, y)
    with pytest.raises(ConfigError, match="differs"):
        clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])


def test_full_batch_solvers_have_no_partial_fit():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="cg"), "partial_fit")
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((4,), solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
    iterations = clf.n_iter_  # up to 5: L-BFGS may stop early
    clf.set_params(solver="sgd").partial_fit(X, y)  # continues the lbfgs weights with SGD
    assert 1 <= iterations <= 5 and clf.n_iter_ == iterations + 1


# --- the regressor -----------------------------------------------------------------------------

def test_regressor_multi_output():
    X, Y = make_regression(200, 6, n_targets=3, noise=1.0, random_state=0)
    Y = Y / Y.std(axis=0)
    reg = MLPRegressor((32,), learning_rate_init=1e-2, max_iter=150, random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 3 and reg.predict(X).shape == (200, 3)
    assert reg.score(X, Y) > 0.95
    # one output: 1-D predictions whether y came as (n,) or (n, 1), as in scikit-learn
    one = MLPRegressor((4,), max_iter=2, random_state=0)
    assert one.fit(X, Y[:, 0]).predict(X).shape == (200,)
    assert one.fit(X, Y[:, :1]).predict(X).shape == (200,)


def test_regressor_cost_and_gradient_agree_for_several_outputs():
    # scikit-learn issue #8349: its loss divides by n_outputs, its gradient does not
    X, Y = make_regression(30, 4, n_targets=3, random_state=1)
    reg = MLPRegressor((5,), activation="tanh", solver="lbfgs", alpha=0.5, max_iter=5,
                       random_state=0).fit(X, Y)
    net = reg.network_
    penalty = 0.5 * 0.5 / len(X) * sum(np.sum(W * W) for W, _ in net.layers)
    expected = 0.5 * np.mean(np.sum((reg.predict(X) - Y) ** 2, axis=1)) + penalty
    assert reg.loss_curve_[-1] == pytest.approx(expected, rel=1e-10)
    report = check_network(net, X, Y)
    assert report.passed, f"relative error {report.relative_error:.2e}"


def test_early_stopping_holds_out_validation_fraction_and_waits_n_iter_no_change():
    X, Y = make_regression(60, 3, noise=30.0, random_state=0)
    reg = MLPRegressor((64,), learning_rate_init=0.05, max_iter=300, early_stopping=True,
                       validation_fraction=0.2, n_iter_no_change=5, random_state=0)
    history = reg.fit(X, Y / Y.std()).history_
    assert history.stopped_early and reg.n_iter_ == history.best_epoch + 5
    assert history.best_epoch == int(np.argmin(history["val_loss"])) + 1
    # the classifier's hold-out is stratified by train.fit; validation accuracy is recorded
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8,), max_iter=3, early_stopping=True, random_state=0).fit(X, y)
    records = clf.history_.records
    assert len(records) == 3 and all(0 <= r.val_accuracy <= 1 for r in records)
    # each is a fraction of the 15 held-out flowers (validation_fraction 0.1 of 150)
    correct = [r.val_accuracy * 15 for r in records]
    assert correct == pytest.approx([round(c) for c in correct], abs=1e-9)


# --- seeds and copies --------------------------------------------------------------------------

def test_random_state_makes_fit_reproducible(digits):
    X, y = digits[0][:300], digits[1][:300]
    a, b, c = (MLPClassifier((16,), max_iter=3, random_state=s).fit(X, y) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.network_.theta, b.network_.theta)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.network_.theta, c.network_.theta)


def test_random_state_none_never_touches_numpys_global_state():
    X, y = load_iris(return_X_y=True)
    before = np.random.get_state()[1].copy()
    MLPClassifier((4,), max_iter=1).fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    # scikit-learn's convention: a RandomState instance is drawn from, so it moves on
    rs = np.random.RandomState(0)
    MLPClassifier((4,), max_iter=1, random_state=rs).fit(X, y)
    assert rs.get_state()[2] != np.random.RandomState(0).get_state()[2]


@pytest.mark.parametrize("duplicate", [lambda e: pickle.loads(pickle.dumps(e)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_a_copy_trains_on_exactly_like_the_original(duplicate):
    # a Network copied naively loses the link between theta and its layer views; the copy
    # would then predict with frozen weights however much it trained
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    twin = duplicate(clf)
    for est in (clf, twin):
        est.partial_fit(X, y)
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    # forward with an explicit theta builds fresh views: the stored ones must agree
    np.testing.assert_array_equal(twin.network_.forward(X, twin.network_.theta.copy()),
                                  twin.predict_proba(X))


# --- parameters and the optional dependency ----------------------------------------------------

@pytest.mark.parametrize("params, match", [
    ({"solver": "adma"}, "did you mean 'adam'"),
    ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"),
    ({"max_iter": 0}, "max_iter"),
    ({"batch_size": "big"}, "batch_size"),
    ({"early_stopping": True, "validation_fraction": 1.0}, "validation_fraction"),
    ({"random_state": -1}, "random_state"),
    ({"activation": "rleu"}, "rleu"),
    ({"alpha": -1.0}, "alpha"),
    ({"learning_rate_init": 0.0}, "learning_rate_init"),
])
def test_bad_parameters_raise_config_error_in_fit_not_init(params, match):
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(**params)  # scikit-learn's clone needs __init__ to accept anything
    with pytest.raises(ConfigError, match=match) as info:
        clf.fit(X, y)
    assert isinstance(info.value, ValueError)  # what scikit-learn's checks expect
    assert not hasattr(clf, "network_"), "a refused parameter left a half-fitted estimator"


def test_importing_gradcheck_does_not_import_sklearn():
    code = "import sys, gradcheck; assert 'sklearn' not in sys.modules, 'sklearn was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_sklearn_gives_a_clear_import_error():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import gradcheck.sklearn\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert "pip install" in out.stdout and "scikit-learn" in out.stdout


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_docstring_describes_every_parameter(cls):
    for name in cls().get_params():
        assert f"\n    {name} : " in cls.__doc__, f"{cls.__name__} docstring misses {name}"
