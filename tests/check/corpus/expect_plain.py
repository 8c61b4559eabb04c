"""What the doctor must say about each corpus module in plain mode (no --blocks, no --reference).

``PLAIN[name]`` lists the findings expected for the buggy module: each :class:`Finding` has a
code, the block it must concern (``block``: the finding's ``block`` field; None: any, as for a
finding about the whole vector or several blocks) and the words its sentence (message or fix)
must contain
(``mentions``: block names, rows/columns/coordinate ranges, the meaning of a factor).  The set
of codes the doctor reports must equal the set of expected codes — nothing missing, nothing
more.  ``observable=False`` marks slips whose cause a black-box comparison cannot see (a missing
activation derivative looks like any other related function): the doctor must still confine
them to the right blocks and say to add ``--reference``.  Every fixed module must pass with no
finding at all.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding", "Expect", "PLAIN", "named_right"]


@dataclass(frozen=True)
class Finding:
    code: str
    block: str | None = None
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expect:
    findings: tuple[Finding, ...]
    observable: bool = True
    slip: str = ""


def _e(slip: str, *findings: Finding, observable: bool = True) -> Expect:
    return Expect(tuple(findings), observable, slip)


F = Finding
REFERENCE = "give reference mode the network you meant"

PLAIN: dict[str, Expect] = {
    "cost_divides_X_in_place": _e(
        "X /= 255 inside the cost, on the module's X",
        F("argument-modified", None, ("X", "cost"))),
    "cost_relabels_y_in_place": _e(
        "y[y == 10] = 0 inside the cost/gradient, on the module's y (the check itself passes)",
        F("argument-modified", None, ("y",))),
    "cost_zeroes_bias_view": _e(
        "the cost zeroes the bias columns of its reshaped views of theta before the forward pass",
        F("argument-modified", None, ("cost", "Theta1", "Theta2", "column 0"))),
    "cs231n_tanh_derivative_sign": _e(
        "tanh' typed as h**2 - 1: layer 1's data term negated",
        F("sign-flip", "W1", ("data term",)), F("sign-flip", "b1")),
    "cs231n_two_slips": _e(
        "W1/b1 not divided by N (scale in one layer) and b2 regularised (offset in another)",
        F("scale-factor", "W1", ("m", "data term")), F("scale-factor", "b1", ("m",)),
        F("bias-regularized", "b2")),
    "cs231n_typo_b2_reg_no_half": _e(
        "grads['b_2'] typo leaves b2's gradient zero; the cost's penalty lacks the 0.5",
        F("zero-gradient", "b2"), F("regularization-mismatch", "W1"), F("regularization-mismatch", "W2")),
    "deep_dict_two_slips": _e(
        "db3 multiplied by N; W1's penalty missing from the gradient",
        F("scale-factor", "b3", ("m",)), F("regularization-mismatch", "W1")),
    "flat_theta_sign_segment": _e(
        "layer 2's gradient written (Y - h)^T a2; no arrays or shapes at module level",
        F("sign-flip", None, ("20-37", "0-19"))),
    "flat_theta_zero_tail": _e(
        "b2's gradient computed but never stored in the flat vector; no arrays at module level",
        F("zero-gradient", None, ("48-50",))),
    "loop_hidden_units_from_one": _e(
        "for j in range(1, hidden): row 0 of Theta1's gradient never written",
        F("range-mismatch", "Theta1", ("row 0",))),
    "loop_penalty_inside_loop": _e(
        "the penalty added inside the per-sample loop, so m times before dividing by m",
        F("regularization-mismatch", None, ("Theta1", "Theta2"))),
    "loop_tanh_missing_derivative": _e(
        "hidden delta without tanh'", F("block-mismatch", None, ("W1", "b1", REFERENCE)),
        observable=False),
    "matlab_bias_last_factor2": _e(
        "output delta 2 (out - Y) for a cost 0.5 sum (out - Y)^2",
        F("scale-factor", None, ("2",))),
    "matlab_bias_last_penalty_first_col": _e(
        "bias in the last column, penalty slice [:, 1:] copied from bias-first code",
        F("range-mismatch", None, ("w1", "w2", "column 0"))),
    "missing_derivative_and_softmax_twice": _e(
        "hidden delta without sigmoid' and a cost that applies softmax twice",
        F("different-function", None, (REFERENCE,)), observable=False),
    "momentum_velocity_state": _e(
        "gradient read off a momentum step that updates the module's velocity in place",
        F("argument-modified", None, ("velocity", "grad"))),
    "mse_outputs_mean_plus_b1_reg": _e(
        "cost averaged over outputs too (factor n_outputs) and b1 regularised in the gradient",
        F("scale-factor", None, ("n_outputs",)), F("bias-regularized", "b1")),
    "nielsen_cost_without_half": _e(
        "quadratic cost without its 1/2", F("scale-factor", None, ("1/2",))),
    "nielsen_transposed_w1": _e(
        "nabla_w1 = x delta^T: the first weight gradient transposed",
        F("transposed", "weights[0]")),
    "octave_bias_in_cost_penalty": _e(
        "the cost's penalty sums Theta.^2 including the bias column",
        F("bias-regularized-in-cost", None, ("Theta1", "Theta2", "column 0"))),
    "octave_bias_ones_regulariser": _e(
        "the penalty matrix built with a column of ones instead of zeros",
        F("bias-constant", None, ("Theta1", "Theta2", "column 0"))),
    "octave_c_bias_in_grad_penalty": _e(
        "the gradient's penalty covers the bias column (row-major unrolling)",
        F("bias-regularized", None, ("Theta1", "Theta2", "column 0"))),
    "octave_c_bias_ones_layer2": _e(
        "layer 2's penalty copy has its bias column set to 1",
        F("bias-constant", "Theta2", ("column 0",))),
    "octave_c_transposed_theta1": _e(
        "Theta1_grad = a1' * delta2 (transposed) unrolled row-major",
        F("transposed", "Theta1")),
    "octave_loop_sign_delta2": _e(
        "Delta2 -= outer(d3, a2) in the per-sample loop",
        F("sign-flip", "Theta2", ("data term",))),
    "octave_loop_unroll_from_one": _e(
        "the unrolling loop starts at 1, leaving each block's first entry 0",
        F("isolated-coordinates", None, ("Theta1[0, 0]", "Theta2[0, 0]"))),
    "octave_reg_slice_one_short": _e(
        "Theta1_grad[:, 2:] += ...: the penalty slice starts one column late",
        F("range-mismatch", "Theta1", ("column 1",))),
    "octave_sizes_only_bias_in_cost": _e(
        "cost penalises the bias columns; only the course's size variables at module level",
        F("bias-regularized-in-cost", None, ("Theta1", "Theta2", "column 0"))),
    "octave_two_slips_scale_and_bias": _e(
        "Theta2's data term not divided by m; Theta1's bias column penalised in the gradient",
        F("scale-factor", "Theta2", ("m", "data term")), F("bias-regularized", "Theta1")),
    "octave_vec_sign_output_delta": _e(
        "delta3 = Y - a3 with an unflipped penalty", F("sign-flip", None, ("data term",))),
    "shapes_var_missing_m_layer2": _e(
        "layer 2's gradient not divided by m; blocks given by a shapes list",
        F("scale-factor", "shapes[1]", ("m",))),
    "sklearn_intercepts_in_penalty": _e(
        "the penalty sums over coefs_ + intercepts_",
        F("bias-regularized-in-cost", None, ("intercepts_[0]", "intercepts_[1]"))),
    "sklearn_intercepts_sum": _e(
        "intercept gradients summed, not averaged",
        F("scale-factor", "intercepts_[0]", ("m",)), F("scale-factor", "intercepts_[1]", ("m",))),
    "softmax_twice_in_cost": _e(
        "the cost applies softmax to probabilities", F("different-function", None, (REFERENCE,)),
        observable=False),
    "update_step_ascent_theta2": _e(
        "the trainer adds alpha * Theta2_grad, so the gradient read off it is negated",
        F("sign-flip", "Theta2")),
    "update_step_layer_order": _e(
        "layer 2 updated before delta1 is computed from W2",
        F("block-mismatch", None, ("W1", "b1", REFERENCE)), observable=False),
    "views_theta_zero_bias_after": _e(
        "reg1 = T1 is a view of theta; reg1[:, 0] = 0 zeroes theta's biases (the check passes)",
        F("argument-modified", None, ("grad", "column 0"))),
    "views_theta_zero_bias_before": _e(
        "the gradient zeroes theta's bias columns through views before its forward pass",
        F("argument-modified", None, ("grad", "column 0"))),
}


def _matches(expected: Finding, finding: dict) -> bool:
    text = f"{finding.get('message', '')} {finding.get('fix', '')}"
    where = expected.block is None or finding.get("block") == expected.block
    return finding.get("code") == expected.code and where and all(w in text for w in expected.mentions)


def named_right(expect: Expect, findings: list[dict]) -> tuple[bool, str]:
    """Whether the findings (``Diagnosis.to_dict()`` rows) name the slips, and why not."""
    want = {f.code for f in expect.findings}
    got = {f["code"] for f in findings}
    if got != want:
        return False, f"codes {sorted(got)} instead of {sorted(want)}"
    for expected in expect.findings:
        if not any(_matches(expected, f) for f in findings):
            return False, f"no {expected.code} finding on {expected.block or 'the vector'} saying {expected.mentions}"
    return True, ""
