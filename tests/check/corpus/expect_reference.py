"""What reference mode must say about each corpus module, told only the network (no layout).

``compare_reference(grad, theta, spec, X, y, cost)`` gets the module's ``SPEC`` without its
``layout``, ``labels`` and ``notes``: reference mode must find the layout itself (the order of
``SPEC["layout"]``, or one that puts the same numbers in the same places) and the labels'
numbering.  Then, for the buggy module:

* ``codes``: the reference findings, in order, with today's catalogue (``check/mistakes.py``);
* ``departs``: the blocks (the recognised layout's default names, ``Theta1`` or ``W1``, ``b1``
  ...) where the gradient differs from the reference's; every other block equals it to 1e-6.
  A ``reference-mismatch`` finding also names the closest catalogued mistake with its distance;
* ``proposed``: the catalogue entry that would name the slip and that ``check/mistakes.py``
  lacks today (proposed in issue 12, part 3); empty when a catalogued code names it already or
  when the slip is not a textbook mistake of backprop (a typo, a view written through, a slice);
* ``blind``: why reference mode cannot see the slip at all (it changes the module's data or
  theta in place, or keeps state between calls: plain mode's findings); its ``codes`` are then
  what it says, usually nothing;
* ``data``: how the module's X must be changed for the spec's network (``"X / 255"``).

Every fixed module must give no finding, in the layout of its SPEC.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Expect", "REFERENCE", "PROPOSED"]

MISMATCH, COST = "reference-mismatch", "reference-cost-mismatch"


@dataclass(frozen=True)
class Expect:
    codes: tuple[str, ...]
    departs: tuple[str, ...] = ()
    proposed: str = ""
    blind: str = ""
    data: str | None = None


def _e(*codes: str, departs: str = "", proposed: str = "", blind: str = "", data=None) -> Expect:
    return Expect(codes, tuple(departs.split()), proposed, blind, data)


#: Catalogue entries the corpus asks for (issue 12, part 3), for check/mistakes.py's owner; an
#: entry leaves this list for the expected codes when it joins the catalogue (all have).
PROPOSED: dict[str, str] = {}

REFERENCE: dict[str, Expect] = {
    "cost_divides_X_in_place": _e(
        data="X / 255", blind="X /= 255 changes the module's X; each value is right when called"),
    "cost_relabels_y_in_place": _e(
        blind="y[y == 10] = 0 changes the module's y; the values are right (labels K-is-0)"),
    "cost_zeroes_bias_view": _e(COST),
    "cs231n_tanh_derivative_sign": _e("mistake:tanh-derivative-negated"),
    "cs231n_two_slips": _e(MISMATCH, departs="W1 b1 b2"),
    "cs231n_typo_b2_reg_no_half": _e(MISMATCH, "mistake:penalty-without-half", departs="b2"),
    "deep_dict_two_slips": _e(MISMATCH, departs="W1 b3"),
    "flat_theta_sign_segment": _e(MISMATCH, departs="Theta2"),
    "flat_theta_zero_tail": _e(MISMATCH, departs="b2"),
    "loop_hidden_units_from_one": _e(MISMATCH, departs="Theta1"),
    "loop_penalty_inside_loop": _e(MISMATCH, departs="Theta1 Theta2"),
    "loop_tanh_missing_derivative": _e("mistake:hidden-derivative-missing"),
    "matlab_bias_last_factor2": _e("mistake:squared-error-half-dropped"),
    "matlab_bias_last_penalty_first_col": _e(MISMATCH, departs="W1 b1 W2 b2"),
    "missing_derivative_and_softmax_twice": _e("mistake:hidden-derivative-missing",
                                               "mistake:softmax-twice-in-cost"),
    "momentum_velocity_state": _e(
        blind="the gradient keeps a velocity between calls; the first call is right"),
    "mse_outputs_mean_plus_b1_reg": _e("mistake:bias-of-one-layer-regularized",
                                       "mistake:mean-over-outputs"),
    "nielsen_cost_without_half": _e("mistake:squared-error-half-dropped"),
    "nielsen_transposed_w1": _e(MISMATCH, departs="W1"),
    "octave_bias_in_cost_penalty": _e("mistake:biases-regularized-in-cost"),
    "octave_bias_ones_regulariser": _e(MISMATCH, departs="Theta1 Theta2"),
    "octave_c_bias_in_grad_penalty": _e("mistake:biases-regularized"),
    "octave_c_bias_ones_layer2": _e(MISMATCH, departs="Theta2"),
    "octave_c_transposed_theta1": _e(MISMATCH, departs="Theta1"),
    "octave_loop_sign_delta2": _e(MISMATCH, departs="Theta2"),
    "octave_loop_unroll_from_one": _e(MISMATCH, departs="Theta1 Theta2"),
    "octave_reg_slice_one_short": _e(MISMATCH, departs="Theta1"),
    "octave_sizes_only_bias_in_cost": _e("mistake:biases-regularized-in-cost"),
    "octave_two_slips_scale_and_bias": _e(MISMATCH, departs="Theta1 Theta2"),
    "octave_vec_sign_output_delta": _e(MISMATCH, departs="Theta1 Theta2"),
    "shapes_var_missing_m_layer2": _e(MISMATCH, departs="Theta2"),
    "sklearn_intercepts_in_penalty": _e("mistake:biases-regularized-in-cost"),
    "sklearn_intercepts_sum": _e(MISMATCH, departs="b1 b2"),
    "softmax_twice_in_cost": _e("mistake:softmax-twice-in-cost"),
    "update_step_ascent_theta2": _e(MISMATCH, departs="Theta2"),
    "update_step_layer_order": _e("mistake:update-order"),
    "views_theta_zero_bias_after": _e(
        blind="the gradient zeroes theta's bias columns through views after computing; values right"),
    "views_theta_zero_bias_before": _e(MISMATCH, departs="Theta1 Theta2"),
}
