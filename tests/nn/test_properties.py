"""Property tests: random architectures, activations, losses and data never fail a correct check."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck.check.gradient import check_network
from gradcheck.check.matrix import draw_problem
from gradcheck.nn.activations import ACTIVATIONS
from gradcheck.nn.losses import LOSSES, pair

ACCEPTED = [(o, loss) for o in ACTIVATIONS for loss in LOSSES if pair(o, loss).status != "refused"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    widths=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    hidden=st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=2, max_size=2),
    pairing=st.sampled_from(ACCEPTED),
    l2=st.sampled_from([0.0, 0.1, 3.0]),
    reduction=st.sampled_from(["mean", "sum"]),
    m=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_random_correct_networks_pass(widths, hidden, pairing, l2, reduction, m, seed):
    output, loss = pairing
    n_out = max(widths[-1], 2) if output == "softmax" else widths[-1]
    sizes = [*widths[:-1], n_out]
    hidden = [hidden[i % 2] for i in range(len(sizes) - 2)]
    net, X, Y, _ = draw_problem(sizes, hidden, output, loss, m, seed, l2=l2, reduction=reduction)
    report = check_network(net, X, Y)
    assert report.passed, (sizes, hidden, output, loss, report.relative_error, report.block_errors)


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(1e-3, 1e4), seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float32, np.float64]),
       output_loss=st.sampled_from(ACCEPTED), hidden=st.sampled_from(sorted(ACTIVATIONS)))
def test_any_input_scale_gives_finite_cost_and_gradient(scale, seed, dtype, output_loss, hidden):
    output, loss = output_loss
    net, X, Y, _ = draw_problem([3, 4, 2], hidden, output, loss, 5, seed, margin=0, dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        J, grad = net.loss_and_grad(X * scale, Y)
    assert np.isfinite(J) and np.all(np.isfinite(grad)) and grad.dtype == dtype
