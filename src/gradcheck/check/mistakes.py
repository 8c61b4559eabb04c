"""The catalogue of textbook backprop mistakes, and reference mode.

A :class:`Mistake` is one small frozen entry: a stable ``code``, a title, an explanation
in words, the one line of math that fixes it, and a :class:`Slip` — the few hooks by which
its wrong backward pass (or cost) departs from the right one.  :func:`backprop` runs the
network's own forward and backward passes with a Slip's hooks, so a new mistake is one entry
in :data:`MISTAKES`, not another copy of backprop::

    Mistake("mistake:missing-1/m", "the 1/m of the mean is missing", "...",
            "Theta_grad = Delta / m + (lambda / m) Theta",
            Slip(data_scale=lambda m, k, reduction: 1.0), applies=_mean_reduction)

:func:`match_reference` is reference mode: given the network the user meant (a spec of
:class:`~gradcheck.nn.network.Network` arguments plus a parameter ``layout``) and the user's
gradient (and optionally cost) function, it computes the correct gradient and every
applicable wrong one at ``theta`` and names the mistake whose gradient the user's equals.

Layouts of the user's flat vector:

``"C"``
    This library's: ``W1, b1, W2, b2, ...``, each row-major.
``"course"``
    Octave's ``[Theta1(:); Theta2(:); ...]``: ``Theta_l = [b_l W_l]`` (bias column first),
    each unrolled column-major.
``"course-C"``
    The same ``Theta`` matrices unrolled row-major, as NumPy ports of the course do
    (``np.hstack([Theta1.ravel(), Theta2.ravel()])``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import expit

from gradcheck.errors import ConfigError, nearest_name
from gradcheck.nn.activations import Activation, get_activation
from gradcheck.nn.losses import LOSSES, get_loss, reduction_scale
from gradcheck.nn.network import Network

__all__ = ["Slip", "Mistake", "get_mistake", "backprop", "slipped_cost"]

Array = np.ndarray


# --- the hooks a mistake may change -------------------------------------------------------

@dataclass(frozen=True)
class Slip:
    """How a wrong backward pass (or cost) departs from the right one; None keeps the right piece.

    Attributes
    ----------
    activation : callable ``(Activation) -> Activation``, optional
        Replaces a layer's activation in the forward pass (and the derivative with it).
    output_delta : callable ``(net, act, z, a, Y) -> ndarray (m, k)``, optional
        The output layer's per-sample ``dJ/dz`` before the 1/m.
    derivative : callable ``(act, z, a) -> ndarray``, optional
        The elementwise ``f'`` wherever backprop uses one (hidden layers, and the output of
        a pairing without a fused delta).
    hidden_delta : callable ``(act, z, a, delta, W, b, slip) -> ndarray (m, n_hidden)``, optional
        Replaces ``delta_{l-1} = f'(z_{l-1}) * (delta_l W_l)``.
    regularize_biases : bool
        Add ``lambda/m * b`` to the bias gradients too.
    data_scale : callable ``(m, k, reduction) -> float``, optional
        Factor on the data term of cost and gradient (right: 1/m or 1); the penalty keeps 1/m.
    loss : str, optional
        The cost is computed with this loss instead (cost side only).
    """

    activation: Callable | None = None
    output_delta: Callable | None = None
    derivative: Callable | None = None
    hidden_delta: Callable | None = None
    regularize_biases: bool = False
    data_scale: Callable | None = None
    loss: str | None = None

    def combine(self, other: Slip) -> Slip | None:
        """Both slips at once, or None when they change the same hook."""
        merged = {}
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine and theirs:
                return None
            merged[name] = mine or theirs
        return Slip(**merged)


RIGHT = Slip()


# --- the network's passes, with a Slip's hooks ----------------------------------------------

def _activations(net: Network, slip: Slip) -> list[Activation]:
    return [slip.activation(a) if slip.activation else a for a in net.activations]


def _derivative(act: Activation, z: Array, a: Array, slip: Slip) -> Array:
    return slip.derivative(act, z, a) if slip.derivative else act.derivative(z, a)


def _through(act: Activation, z: Array, a: Array, g: Array, slip: Slip) -> Array:
    """``dJ/dz`` from ``g = dJ/da`` through one layer, with the slip's derivative."""
    if not act.elementwise:
        return act.vjp(z, a, g)
    return g * _derivative(act, z, a, slip)


def _output_delta(net, act, z, a, Y, slip) -> Array:
    if slip.output_delta:
        return slip.output_delta(net, act, z, a, Y)
    if net.pairing.fused:  # a - y (sum(y) a - y for softmax) from the possibly slipped a
        return net.pairing.stable.delta(z, a, Y)
    return _through(act, z, a, net.loss_function.grad(a, Y), slip)


def _data_scale(slip: Slip, m: int, k: int, reduction: str) -> float:
    return slip.data_scale(m, k, reduction) if slip.data_scale else reduction_scale(m, reduction)


def backprop(net: Network, theta: Array, X: Array, Y: Array, slip: Slip = RIGHT) -> Array:
    """The gradient of ``net``'s cost at ``theta`` as computed with ``slip``'s mistakes.

    The network's own passes (:meth:`Network.forward_pass`, :meth:`Network.backward_pass`)
    with the slip's hooks; the output delta is formed from the activations, as users write it.

    Parameters
    ----------
    net : Network
        Architecture, pairing, ``l2`` and reduction (its own ``theta`` is not used).
    theta : ndarray of shape (n_params,), float64, in the library's layout
    X : ndarray of shape (n_samples, sizes[0])
    Y : ndarray of shape (n_samples, sizes[-1])
    slip : Slip
        ``RIGHT`` (no slip) gives the library's correct gradient.

    Returns
    -------
    ndarray of shape (n_params,), in the library's layout.
    """
    layers, acts = net.layer_views(theta), _activations(net, slip)
    zs, outs = net.forward_pass(X, layers, activations=acts)
    m, k = Y.shape
    delta = _output_delta(net, acts[-1], zs[-1], outs[-1], Y, slip) * _data_scale(slip, m, k, net.reduction)
    grad = np.empty_like(theta)
    grads = net.layer_views(grad)
    scale = reduction_scale(m, net.reduction)
    net.backward_pass(layers, grads, zs, outs, delta, scale, activations=acts,
                      through=lambda act, z, a, g: _through(act, z, a, g, slip),
                      hidden_delta=_hidden_delta(slip, layers, acts, zs, outs))
    if slip.regularize_biases:
        for (_, b), (_, gb) in zip(layers, grads):
            gb += net.l2 * scale * b
    return grad


def _hidden_delta(slip: Slip, layers, acts, zs, outs) -> Callable | None:
    """The slip's step from layer ``l``'s delta to layer ``l - 1``'s, for the backward pass."""
    step = slip.hidden_delta
    if not step:
        return None
    return lambda l, delta: step(acts[l - 1], zs[l - 1], outs[l], delta, *layers[l], slip)


def slipped_cost(net: Network, theta: Array, X: Array, Y: Array, slip: Slip = RIGHT) -> float:
    """The cost ``J(theta)`` as computed with ``slip``'s mistakes (loss, scale, activation).

    The data term is the loss of the activations, as users write it, not the network's
    stable form from the pre-activations.
    """
    layers = net.layer_views(theta)
    _, outs = net.forward_pass(X, layers, activations=_activations(net, slip))
    loss = get_loss(slip.loss) if slip.loss else net.loss_function
    m, k = Y.shape
    data = float(np.sum(loss.per_sample(outs[-1], Y))) * _data_scale(slip, m, k, net.reduction)
    return data + net.penalty(layers, reduction_scale(m, net.reduction))


# --- the hooks of the catalogued mistakes -------------------------------------------------

def _a_minus_y(net, act, z, a, Y) -> Array:
    return a - Y


def _borrowed(name: str) -> Callable:
    """A derivative hook that uses ``name``'s derivative (at z) in every layer."""

    borrowed = get_activation(name)

    def derivative(act, z, a):
        return borrowed.derivative(z, borrowed.fn(z))

    return derivative


def _at_activation(act, z, a) -> Array:
    return act.derivative(a, act.fn(a))  # f'(a): the derivative evaluated at the output


def _relu_at_zero(value: float) -> Callable:
    def derivative(act, z, a):
        if act.name != "relu":
            return act.derivative(z, a)
        return np.where(z > 0, 1.0, np.where(z == 0, value, 0.0)).astype(z.dtype)

    return derivative


def _bias_unit_kept(act, z, a, delta, W, b, slip) -> Array:
    # the course's delta2 = (delta3 Theta2) .* g'([1 z2]) has the bias unit as column 1;
    # keeping columns 1..end-1 instead of 2..end shifts every hidden unit's delta by one
    one = np.ones((len(z), 1), z.dtype)
    z_full, a_full = np.hstack([one, z]), np.hstack([act.fn(one), a])
    full = (delta @ np.hstack([b[:, None], W])) * _derivative(act, z_full, a_full, slip)
    return full[:, :-1]


def _softmax_from_inputs(net, act, z, a, Y) -> Array:
    # J[i, j] = s_i (delta_ij - z_j) instead of s_i (delta_ij - s_j), chained with g = dL/da
    g = net.loss_function.grad(a, Y)
    return a * g - z * np.sum(g * a, axis=1, keepdims=True)


def _softmax_diagonal(net, act, z, a, Y) -> Array:
    return net.loss_function.grad(a, Y) * a * (1 - a)  # only the diagonal of the Jacobian


def _sign_flipped_sigmoid(act: Activation) -> Activation:
    if act.name != "sigmoid":
        return act
    # 1/(1+exp(z)) = expit(-z); the user's s(1 - s) derivative is then s(-z)(1 - s(-z))
    return replace(act, fn=lambda z: expit(-z), derivative=lambda z, a: a * (1 - a),
                   takes_out=False)


# --- applicability -------------------------------------------------------------------------

def _derivative_layers(net: Network) -> list[Activation]:
    """The layers whose elementwise f' backprop uses: hidden ones, and a non-fused output."""
    layers = list(net.hidden) + ([] if net.pairing.fused else [net.output])
    return [a for a in layers if a.elementwise]


def _always(net: Network) -> bool:
    return True


def _not_fused(net: Network) -> bool:
    return not net.pairing.fused


def _softmax_output(net: Network) -> bool:
    return net.output.name == "softmax"


def _has_hidden_elementwise(net: Network) -> bool:
    return any(a.elementwise for a in net.hidden)


def _uses_relu(net: Network) -> bool:
    return any(a.name == "relu" for a in _derivative_layers(net))


def _uses_derivative_other_than(name: str) -> Callable[[Network], bool]:
    return lambda net: any(a.name != name for a in _derivative_layers(net))


def _uses_derivative(net: Network) -> bool:
    return bool(_derivative_layers(net))


def _has_sigmoid(net: Network) -> bool:
    return any(a.name == "sigmoid" for a in net.activations)


def _regularized(net: Network) -> bool:
    return net.l2 > 0


def _mean_reduction(net: Network) -> bool:
    return net.reduction == "mean"


def _several_outputs(net: Network) -> bool:
    return net.sizes[-1] > 1


def _other_loss(name: str, *, softmax: bool | None = None) -> Callable[[Network], bool]:
    def applies(net):
        is_softmax = net.output.name == "softmax"
        return net.loss_function.name != name and (softmax is None or softmax == is_softmax)

    return applies


# --- the catalogue ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Mistake:
    """One textbook mistake.

    Attributes
    ----------
    code : str
        Stable identifier, ``"mistake:..."``.
    title : str
        What was done, in a few words.
    explanation : str
        Why it is wrong; may name ``{output}``, ``{loss}``, ``{hidden}``, ``{delta}`` (the
        right output delta) which are filled in from the reference network.
    fix : str
        The one line of math that fixes it (same placeholders).
    slip : Slip
        The hooks that produce the wrong gradient and/or cost.
    applies : callable ``(Network) -> bool``
        Whether the mistake can occur in this network at all.
    sides : tuple of {"gradient", "cost"}
        Where the mistake can be made.
    """

    code: str
    title: str
    explanation: str
    fix: str
    slip: Slip
    applies: Callable[[Network], bool] = _always
    sides: tuple[str, ...] = ("gradient",)

    def wrong_gradient(self, net: Network, theta: Array, X: Array, Y: Array) -> Array:
        """The gradient with this mistake, in the library's layout."""
        return backprop(net, theta, X, Y, self.slip)

    def wrong_cost(self, net: Network, theta: Array, X: Array, Y: Array) -> float:
        """The cost with this mistake."""
        return slipped_cost(net, theta, X, Y, self.slip)

    def describe(self, net: Network) -> tuple[str, str, str]:
        """``(title, explanation, fix)`` with the network's names filled in."""
        context = _context(net)
        return tuple(text.format_map(context) for text in (self.title, self.explanation, self.fix))


def _context(net: Network) -> dict:
    p = net.pairing
    grad = getattr(p.loss, "grad_formula", "") or {
        "cross_entropy": "-y / a", "binary_cross_entropy": "(a - y) / (a (1 - a))",
        "squared_error": "a - y"}[p.loss.name]
    delta = "a - y" if p.fused else (f"s * (g - sum(g * s, 2)) with g = {grad}"
                                     if not p.output.elementwise else f"f'(z) .* ({grad})")
    note = (f" The library refuses this pairing: {p.reason}; {p.suggestion}."
            if p.status == "refused" else "")
    return {"output": p.output.name, "loss": p.loss.name, "delta": delta, "pairing_note": note,
            "hidden": ", ".join(a.name for a in net.hidden) or "none", "k": net.sizes[-1],
            "used": "/".join(dict.fromkeys(a.name for a in _derivative_layers(net))) or "none"}


def _catalogue() -> list[Mistake]:
    return [
        Mistake("mistake:output-delta-a-minus-y",
                "the output delta a - y used with a {output} output and {loss}",
                "a - y is dJ/dz only for softmax + cross_entropy, sigmoid + binary_cross_entropy "
                "and identity + squared_error; for {output} with {loss} the chain rule gives "
                "{delta}.{pairing_note}",
                "delta_out = {delta}", Slip(output_delta=_a_minus_y), _not_fused),
        Mistake("mistake:sigmoid-derivative",
                "sigmoid' used in place of the {used} derivative",
                "backprop multiplies by g'(z) of the layer's own activation; sigmoid(z)(1 - sigmoid(z)) "
                "is right only for sigmoid layers.",
                "delta_h = (delta_next W_next) .* f'(z_h), with f' of the layer's activation "
                "(tanh: 1 - tanh(z)^2, softplus: sigmoid(z), relu: z > 0)",
                Slip(derivative=_borrowed("sigmoid")), _uses_derivative_other_than("sigmoid")),
        Mistake("mistake:tanh-derivative",
                "tanh' used in place of the {used} derivative",
                "1 - tanh(z)^2 is the derivative of tanh only.",
                "delta_h = (delta_next W_next) .* f'(z_h), with f' of the layer's activation",
                Slip(derivative=_borrowed("tanh")), _uses_derivative_other_than("tanh")),
        Mistake("mistake:derivative-at-activation",
                "the derivative evaluated at the activation a instead of at z",
                "f'(a) = f'(f(z)) is not f'(z): sigmoidGradient(a2) applies sigmoid twice; either "
                "call the derivative on z, or use the formula in terms of a (sigmoid: a(1 - a)).",
                "delta_h = (delta_next W_next) .* f'(z_h)   % z_h, not a_h",
                Slip(derivative=_at_activation), _uses_derivative),
        Mistake("mistake:bias-delta-not-removed",
                "the bias unit's delta kept (the wrong column of delta dropped)",
                "(delta3 Theta2) .* g'([1 z2]) has one column per unit of the hidden layer with the "
                "bias unit FIRST; dropping the last column instead of the first shifts every hidden "
                "unit's delta by one place and hands unit 1 the bias unit's.  (Dropping no column "
                "at all makes Theta1_grad (h+1) x (n+1): a shape error, not a wrong number.)",
                "delta2 = delta2(:, 2:end)   % Python: delta2[:, 1:]",
                Slip(hidden_delta=_bias_unit_kept), _has_hidden_elementwise),
        Mistake("mistake:biases-regularized",
                "the biases regularised",
                "the penalty lambda/(2m) sum Theta^2 leaves out the bias column, so its gradient "
                "lambda/m Theta must too.",
                "Theta_grad(:, 2:end) = Delta(:, 2:end) / m + (lambda / m) * Theta(:, 2:end)   "
                "% column 1: Delta / m only",
                Slip(regularize_biases=True), _regularized),
        Mistake("mistake:missing-1/m",
                "the 1/m of the mean missing from the data term",
                "the cost averages over the m samples, so the accumulated Delta must be divided by m.",
                "Theta_grad = Delta / m + (lambda / m) * Theta",
                Slip(data_scale=lambda m, k, reduction: 1.0), _mean_reduction, ("gradient", "cost")),
        Mistake("mistake:mean-over-outputs",
                "the data term also divided by the number of outputs ({k})",
                "the library sums the loss over outputs and averages over samples; dividing by the "
                "number of outputs on one side only (cost or gradient) puts a factor {k} between them.",
                "use the same reduction in cost and gradient: J = 1/m sum_i L(a_i, y_i), grad = delta' a / m",
                Slip(data_scale=lambda m, k, reduction: reduction_scale(m, reduction) / k),
                _several_outputs, ("gradient", "cost")),
        Mistake("mistake:sigmoid-sign-error",
                "sigmoid written 1/(1 + exp(z))",
                "1/(1 + exp(z)) is sigmoid(-z): a decreasing function whose derivative is "
                "-s(1 - s), while the backward pass still multiplies by +s(1 - s); the output "
                "layer's gradient comes out with the wrong sign.",
                "sigmoid(z) = 1 ./ (1 + exp(-z))",
                Slip(activation=_sign_flipped_sigmoid), _has_sigmoid, ("gradient", "cost")),
        Mistake("mistake:softmax-derivative-from-inputs",
                "the softmax Jacobian built from its inputs instead of its outputs",
                "ds_i/dz_j = s_i (delta_ij - s_j) uses the softmax OUTPUTS s twice; "
                "s_i (delta_ij - z_j) mixes in the inputs z.",
                "dz = s .* (g - sum(g .* s, 2))   % the Jacobian diag(s) - s s' applied to g = dJ/ds",
                Slip(output_delta=_softmax_from_inputs), _softmax_output),
        Mistake("mistake:softmax-derivative-diagonal",
                "the softmax derivative taken elementwise, s(1 - s)",
                "softmax is not elementwise: every output depends on every input, so dJ/dz needs "
                "the whole Jacobian diag(s) - s s', not only its diagonal s(1 - s).",
                "dz = s .* (g - sum(g .* s, 2))",
                Slip(output_delta=_softmax_diagonal), _softmax_output),
        Mistake("mistake:relu-prime-0-is-1",
                "relu'(0) taken as 1",
                "at z = 0 relu has no derivative; the library (like PyTorch and scikit-learn) uses 0, "
                "central differences see 1/2.  The units with z exactly 0 differ — usually a zero "
                "input row with zero bias, not a bug in the rest of backprop.",
                "relu'(z) = double(z > 0)   % strictly greater",
                Slip(derivative=_relu_at_zero(1.0)), _uses_relu),
        Mistake("mistake:relu-prime-0-is-half",
                "relu'(0) taken as 1/2",
                "at z = 0 relu has no derivative; the library uses 0 and 1/2 is what central "
                "differences see, so a checker agrees with 1/2 while the reference does not.",
                "relu'(z) = double(z > 0)   % strictly greater",
                Slip(derivative=_relu_at_zero(0.5)), _uses_relu),
        Mistake("mistake:logistic-cost-on-softmax",
                "the logistic (binary) cost computed on softmax outputs",
                "-sum(y log a + (1 - y) log(1 - a)) is the cost of independent sigmoid outputs; on "
                "softmax outputs its gradient is not a - y, so cost and gradient disagree.",
                "J = -sum(sum(Y .* log(a))) / m   % cross-entropy for softmax",
                Slip(loss="binary_cross_entropy"), _other_loss("binary_cross_entropy", softmax=True),
                ("cost",)),
        *[_cost_with_loss(name) for name in LOSSES],
    ]


def _cost_with_loss(name: str) -> Mistake:
    """A cost-side entry: the cost computed with loss ``name`` instead of the intended one."""
    formula = LOSSES[name].formula
    return Mistake(f"mistake:cost-uses-{name.replace('_', '-')}",
                   f"the cost computed with {name} instead of {{loss}}",
                   f"the cost is {formula} while the network (and its gradient) is meant for {{loss}}.",
                   "compute the cost with {loss}, the loss the gradient differentiates",
                   Slip(loss=name),
                   _other_loss(name, softmax=False if name == "binary_cross_entropy" else None),
                   ("cost",))


MISTAKES: dict[str, Mistake] = {m.code: m for m in _catalogue()}


def get_mistake(code: str) -> Mistake:
    """Look up a catalogued mistake by code (``"mistake:"`` prefix optional)."""
    key = code if code.startswith("mistake:") else f"mistake:{code}"
    if key not in MISTAKES:
        raise ConfigError(f"unknown mistake {code!r}{nearest_name(key, MISTAKES)} "
                          f"(known: {', '.join(MISTAKES)}).")
    return MISTAKES[key]
