"""A torch.autograd.Function checked in float32: the pitfall, and what is and is not a bug.

``Swish`` (x * sigmoid(x)) has a right backward.  Checked with float32 tensors, central
differences with a step of 1e-6 are only a few float32 spacings wide, so the numerical
gradient is off by several per cent: ``torch.autograd.gradcheck`` reports "Jacobian mismatch
for output 0 with respect to input 0", and the usual advice is "switch to double" without a
reason.  :func:`gradcheck.check_layer` names it ``low-precision``, re-runs with a step suited to
float32, finds agreement, and says so.

``SwishForgotSigmoidTerm`` has a real bug (the derivative of x * sigmoid(x) without the
``x * s (1 - s)`` term).  Checked in float32 the re-run does not make the mismatch go away,
so precision is not the whole story; in float64 it is plainly the gradient of another function.
Run ``python examples/layers_torch_float32.py`` (needs torch).
"""
import numpy as np
import torch

from gradcheck import check_layer

SHAPE = (4, 6)


class Swish(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = torch.sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * (s + x * s * (1 - s))


class SwishForgotSigmoidTerm(Swish):
    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * s  # the slip: d(x s)/dx = s + x s (1 - s)


def make_input(seed=0, dtype=torch.float64):
    return torch.tensor(np.random.default_rng(seed).standard_normal(SHAPE), dtype=dtype)


def torch_says(function, x):
    """torch.autograd.gradcheck's own verdict (its first line when it raises)."""
    try:
        torch.autograd.gradcheck(function.apply, (x.clone().requires_grad_(),), raise_exception=True)
    except RuntimeError as exc:
        return str(exc).splitlines()[0]
    return "gradcheck passed"


def reports(seed=0):
    return [check_layer(function, None, {"x": make_input(seed, dtype)}, seed=seed)
            for function in (Swish, SwishForgotSigmoidTerm) for dtype in (torch.float32, torch.float64)]


def run(seed=0):
    return [d for report in reports(seed) for d in report.diagnoses]


if __name__ == "__main__":
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that float32 inputs will likely fail
        print("torch.autograd.gradcheck, float32:", torch_says(Swish, make_input(0, torch.float32)))
    titles = ("Swish, float32 tensors", "Swish, float64 tensors", "SwishForgotSigmoidTerm, float32",
              "SwishForgotSigmoidTerm, float64")
    for title, report in zip(titles, reports()):
        print(f"== {title}: {report.summary()}", *map(str, report.diagnoses), "", sep="\n")
