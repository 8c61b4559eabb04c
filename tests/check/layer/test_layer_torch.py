"""check_layer on torch.autograd.Function subclasses and on layers written with tensors."""
import numpy as np
import pytest

from gradcheck import check_layer
from gradcheck.errors import ConfigError, UserCodeError

torch = pytest.importorskip("torch")


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad @ w.T, x.T @ grad, grad.sum(0)


class LinearBiasNotSummed(Linear):
    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad @ w.T, x.T @ grad, grad  # torch's engine would sum this over the batch silently


class SigmoidFromInput(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * (1 - x)


class Scale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        return x * alpha

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.alpha, None


class NotATensor(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return float(x.sum())  # a Python number: autograd cannot attach backward to it

    @staticmethod
    def backward(ctx, grad):
        return grad


rng = np.random.default_rng(0)
X, W, B = (torch.tensor(rng.standard_normal(shape)) for shape in ((4, 5), (5, 3), (3,)))


def test_a_right_function_in_float64_passes():
    report = check_layer(Linear, None, {"x": X, "w": W, "b": B})
    assert report.kind == "torch.autograd.Function" and report.passed and report.diagnoses == []


def test_float32_tensors_get_the_explanation_pytorch_users_need():
    report = check_layer(Linear, None, {"x": X.float(), "w": W.float(), "b": B.float()})
    [finding] = report.diagnoses
    assert finding.code == "low-precision" and finding.evidence["goes_away"]
    assert "torch.autograd.gradcheck" in finding.message and "x.double()" in finding.message
    assert "not a bug in backward" in finding.message


def test_a_real_bug_in_float32_is_not_excused_by_precision():
    report = check_layer(SigmoidFromInput, None, {"x": X.float()})
    low = report.diagnoses[0]
    assert low.code == "low-precision" and not low.evidence["goes_away"]
    assert "a real mismatch remains" in low.message
    assert len(report.diagnoses) > 1


def test_a_broadcast_gradient_is_read_as_returned_not_as_torch_sums_it():
    report = check_layer(LinearBiasNotSummed, None, {"x": X, "w": W, "b": B})
    assert [d.code for d in report.diagnoses] == ["shape-not-summed"]
    assert report.inputs["b"].returned_shape == (4, 3)


def test_the_textbook_mistake_is_named_for_a_function():
    report = check_layer(SigmoidFromInput, None, {"x": X}, reference="sigmoid")
    assert "mistake:sigmoid-derivative-from-input" in [d.code for d in report.reference]


def test_non_tensor_arguments_follow_the_tensors():
    assert check_layer(Scale, None, {"x": X}, params={"alpha": 3.0}).passed


def test_numpy_inputs_become_float64_tensors():
    report = check_layer(Linear, None, {"x": X.numpy(), "w": W.numpy(), "b": B.numpy()}, quick=True)
    assert report.passed and report.mode == "quick"


def test_a_pair_written_with_tensors_is_called_with_tensors():
    def forward(x, w):
        assert isinstance(x, torch.Tensor)
        return x @ w, (x, w)

    def backward(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout

    report = check_layer(forward, backward, {"x": X, "w": W})
    assert report.kind == "torch" and report.passed


def test_a_function_must_come_without_backward_and_stay_attached():
    with pytest.raises(ConfigError, match="pass backward=None"):
        check_layer(Linear, lambda d, c: d, {"x": X, "w": W, "b": B})
    with pytest.raises(UserCodeError, match="no grad_fn"):
        check_layer(NotATensor, None, {"x": X})
