import numpy as np
import pytest

from gradcheck.check.gradient import check_gradient
from gradcheck.check.numerical import numerical_gradient, relative_error
from gradcheck.errors import ConfigError, UserCodeError
from gradcheck.nn.blocks import make_blocks, parse_shape


def quadratic(A):
    return (lambda t: 0.5 * t @ A @ t), (lambda t: A @ t)


def test_correct_gradient_passes(rng):
    A = rng.normal(size=(6, 6))
    A = A @ A.T
    f, g = quadratic(A)
    report = check_gradient(f, g, rng.normal(size=6))
    assert report.passed and report.relative_error < 1e-8 and report.mismatched.size == 0
    assert report.diagnoses == [] and report.verdict == "pass"


def test_one_function_returning_cost_and_gradient(rng):
    f, g = quadratic(np.eye(4))
    report = check_gradient(lambda t: (f(t), g(t)), None, rng.normal(size=4))
    assert report.passed


def test_wrong_gradient_fails_and_is_located(rng):
    f, g = quadratic(np.eye(5))

    def wrong(t):
        out = g(t)
        out[3] *= 2
        return out

    report = check_gradient(f, wrong, np.arange(1.0, 6.0), blocks={"a": (2,), "b": (3,)})
    assert not report.passed
    assert report.mismatched.tolist() == [3]
    assert report.worst(1)[0]["label"] == "b[1]"
    assert report.block_errors["a"] < 1e-9 and report.block_errors["b"] > 0.1


def test_relative_error_does_not_explode_on_sign_flip():
    n = np.array([1.0, -2.0, 3.0])
    assert relative_error(-n, n) == pytest.approx(2.0)  # ||a-n|| / ||a+n|| would divide by 0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_numerical_gradient_pinned():
    # f = x0^2 x1: gradient (2 x0 x1, x0^2) = (12, 4) at (2, 3)
    np.testing.assert_allclose(numerical_gradient(lambda t: t[0] ** 2 * t[1], [2.0, 3.0]), [12, 4], rtol=1e-9)


def test_blocks_in_octave_order_label_row_and_column():
    blocks = make_blocks({"Theta1": "2x3", "Theta2": (1, 3)}, 9, order="F")
    assert blocks[0].position(1) == (1, 0)  # column-major: index 1 is row 1 of column 0
    assert blocks[1].label(7) == "Theta2[0, 1]"
    assert parse_shape("25x401") == (25, 401)
    with pytest.raises(ConfigError, match="cover 9 parameters but theta has 10"):
        make_blocks({"Theta1": "2x3", "Theta2": (1, 3)}, 10)


def test_user_function_that_raises_is_one_clear_error():
    def broken(theta):
        raise IndexError("index 7 is out of bounds")

    with pytest.raises(UserCodeError, match="cost function raised IndexError"):
        check_gradient(broken, lambda t: t, np.zeros(3))


def test_non_scalar_cost_and_wrong_gradient_size_are_clear_errors():
    with pytest.raises(UserCodeError, match="not one number"):
        check_gradient(lambda t: t, lambda t: t, np.zeros(3))
    with pytest.raises(UserCodeError, match="gradient has 2 values but theta has 3"):
        check_gradient(lambda t: float(t @ t), lambda t: t[:2], np.zeros(3))


def test_report_to_dict_is_json_ready(rng):
    import json

    f, g = quadratic(np.eye(3))
    d = check_gradient(f, g, rng.normal(size=3)).to_dict()
    assert json.loads(json.dumps(d, allow_nan=False))["passed"] is True
    assert {"relative_error", "blocks", "worst", "diagnoses", "evaluator"} <= d.keys()
