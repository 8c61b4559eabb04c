"""A softmax layer's backward pass built from its input, and a vector for a Jacobian.

The derivative of ``s = softmax(x)`` is a matrix, ``ds_i/dx_j = s_i (delta_ij - s_j)``,
made of the OUTPUTS ``s``.  This hand-written backward pass has two slips:

* it uses the input where the output belongs: ``s_i (1 - x_i)`` and ``-s_i x_j``;
* it stores one number per output, ``grad[i]``, overwritten for every ``j``, so only the
  last ``j`` survives; the backward pass then multiplies the upstream gradient by this
  vector elementwise — it treats the Jacobian as the diagonal matrix ``diag(grad)``.

:func:`gradcheck.check.jacobian.check_jacobian` compares that implied Jacobian with central
differences of the softmax itself.

Run ``python examples/softmax_backward_inputs.py``.
"""
import numpy as np

from gradcheck.check.jacobian import check_jacobian

N_CLASSES = 5


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def softmax_local_gradient(x):
    """The hand-written local gradient: one value per output, built from the input x."""
    s = softmax(x)
    grad = np.empty_like(s)
    for i in range(len(s)):
        for j in range(len(x)):
            # each j overwrites grad[i]; the input x appears where s belongs
            grad[i] = s[i] * (1 - x[i]) if i == j else -s[i] * x[j]
    return grad


def implied_jacobian(x):
    """What the backward pass uses: upstream * grad elementwise, i.e. diag(grad)."""
    return np.diag(softmax_local_gradient(x))


def right_jacobian(x):
    s = softmax(x)
    return np.diag(s) - np.outer(s, s)


def make_input(seed=0):
    return np.random.default_rng(seed).normal(0, 1.5, N_CLASSES)


def check(seed=0, jac=implied_jacobian):
    return check_jacobian(softmax, jac, make_input(seed))


def run(seed=0):
    """The doctor's findings on the implied Jacobian."""
    return check(seed).diagnoses


if __name__ == "__main__":
    for title, jac in (("hand-written backward", implied_jacobian), ("diag(s) - s s^T", right_jacobian)):
        report = check(jac=jac)
        print(f"== {title}: relative error {report.relative_error:.2e}, {report.verdict}")
        for d in report.diagnoses:
            print(f"[{d.code}] {d.message}")
            print(f"    fix: {d.fix}")
        print()
