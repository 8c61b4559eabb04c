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
from scipy.special import expit, softmax

from gradcheck.check.numerical import relative_error
from gradcheck.errors import ConfigError, nearest_name
from gradcheck.nn.activations import Activation, get_activation
from gradcheck.nn.losses import LOSSES, get_loss, reduction_scale
from gradcheck.nn.network import Network

__all__ = ["Slip", "Mistake", "get_mistake", "backprop", "slipped_cost", "fit_parameters"]

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
    regularize_biases : bool or tuple of int
        Regularise biases too: ``lambda/m * b`` in their gradient and ``lambda/(2m) b^2`` in the
        cost; True for every layer, a tuple for those layers (0-based) only.
    penalty_factor : float, optional
        Factor on the L2 penalty in cost and gradient (right: 1).
    cost_outputs : callable ``(a) -> ndarray``, optional
        What the cost's loss is computed on instead of the output activations (cost side).
    update_lr : float, optional
        The gradient read off an update taken layer by layer from the output down: the delta
        passed to layer ``l - 1`` is formed with ``W_l - update_lr * dJ/dW_l``, already updated.
    data_scale : callable ``(m, k, reduction) -> float``, optional
        Factor on the data term of cost and gradient (right: 1/m or 1); the penalty keeps 1/m.
    loss : str, optional
        The cost is computed with this loss instead (cost side only).
    """

    activation: Callable | None = None
    output_delta: Callable | None = None
    derivative: Callable | None = None
    hidden_delta: Callable | None = None
    regularize_biases: bool | tuple[int, ...] = False
    data_scale: Callable | None = None
    loss: str | None = None
    penalty_factor: float | None = None
    cost_outputs: Callable | None = None
    update_lr: float | None = None

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
    if slip.derivative:
        return slip.derivative(act, z, a)
    assert act.derivative is not None  # the hidden layers the hook serves are elementwise
    return act.derivative(z, a)


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


def backprop(net: Network, theta: Array, X: Array, Y: Array, slip: Slip = RIGHT, *,
             forwards: dict | None = None) -> Array:
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
    forwards : dict, optional
        A memo of forward passes at this ``theta`` and ``X`` (see :func:`_forward`), for a
        caller that runs many slips at one point: most slips change only the backward pass.

    Returns
    -------
    ndarray of shape (n_params,), in the library's layout.
    """
    layers, acts = net.layer_views(theta), _activations(net, slip)
    zs, outs = _forward(net, X, layers, acts, slip, forwards)
    m, k = Y.shape
    delta = _output_delta(net, acts[-1], zs[-1], outs[-1], Y, slip) * _data_scale(slip, m, k, net.reduction)
    grad = np.empty_like(theta)
    grads = net.layer_views(grad)
    scale = reduction_scale(m, net.reduction)
    finish = [lambda l=l: _penalty_slips(net, slip, layers[l], grads[l], l, scale)
              for l in range(len(layers))]
    net.backward_pass(layers, grads, zs, outs, delta, scale, activations=acts,
                      through=lambda act, z, a, g: _through(act, z, a, g, slip),
                      hidden_delta=_hidden_delta(slip, layers, grads, acts, zs, outs, finish))
    for l, done in enumerate(finish):
        if not (slip.update_lr and l > 0):  # an update-order step finished them already
            done()
    return grad


def _forward(net: Network, X: Array, layers, acts, slip: Slip, memo: dict | None):
    """``net.forward_pass`` with the slip's activations; once per activation hook in ``memo``
    (the arrays are made read-only there, so no pass may write into another's)."""
    if memo is None:
        return net.forward_pass(X, layers, activations=acts)
    if slip.activation not in memo:
        zs, outs = net.forward_pass(X, layers, activations=acts)
        for array in zs + outs[1:]:
            array.setflags(write=False)
        memo[slip.activation] = zs, outs
    return memo[slip.activation]


def _hidden_delta(slip: Slip, layers, grads, acts, zs, outs, finish) -> Callable | None:
    """The slip's step from layer ``l``'s delta to layer ``l - 1``'s, for the backward pass."""
    if not (slip.hidden_delta or slip.update_lr):
        return None

    def step(l: int, delta: Array) -> Array:
        W, b = layers[l]
        if slip.update_lr:  # layer l is updated, with its whole gradient, before delta goes down
            finish[l]()
            W = W - slip.update_lr * grads[l][0]
        if slip.hidden_delta:
            return slip.hidden_delta(acts[l - 1], zs[l - 1], outs[l], delta, W, b, slip)
        return _through(acts[l - 1], zs[l - 1], outs[l], delta @ W, slip)

    return step


def _bias_layers(slip: Slip, n_layers: int) -> tuple[int, ...]:
    if slip.regularize_biases is True:
        return tuple(range(n_layers))
    return slip.regularize_biases or ()


def _penalty_slips(net: Network, slip: Slip, layer, grad, l: int, scale: float) -> None:
    """Layer ``l``'s gradient with the slip's penalty: a factor on it, and biases in it."""
    (W, b), (gW, gb) = layer, grad
    factor = slip.penalty_factor or 1.0
    if factor != 1.0 and net.l2:
        gW += (factor - 1.0) * net.l2 * scale * W
    if l in _bias_layers(slip, net.n_layers):
        gb += factor * net.l2 * scale * b


def slipped_cost(net: Network, theta: Array, X: Array, Y: Array, slip: Slip = RIGHT, *,
                 forwards: dict | None = None) -> float:
    """The cost ``J(theta)`` as computed with ``slip``'s mistakes (loss, scale, activation).

    The data term is the loss of the activations, as users write it, not the network's
    stable form from the pre-activations.  ``forwards`` as for :func:`backprop`.
    """
    layers = net.layer_views(theta)
    _, outs = _forward(net, X, layers, _activations(net, slip), slip, forwards)
    loss = get_loss(slip.loss) if slip.loss else net.loss_function
    a = slip.cost_outputs(outs[-1]) if slip.cost_outputs else outs[-1]
    m, k = Y.shape
    data = float(np.sum(loss.per_sample(a, Y))) * _data_scale(slip, m, k, net.reduction)
    return data + _penalty(net, slip, layers, reduction_scale(m, net.reduction))


def _penalty(net: Network, slip: Slip, layers, scale: float) -> float:
    """The cost's L2 term with the slip's: biases in it, a factor on it."""
    penalty = net.penalty(layers, scale)
    biases = [layers[l][1] for l in _bias_layers(slip, len(layers))]
    if biases and net.l2:
        penalty += 0.5 * net.l2 * scale * sum(float(np.vdot(b, b)) for b in biases)
    return penalty * (slip.penalty_factor or 1.0)


def fit_parameters(mistakes: tuple[Mistake, ...], net: Network, theta: Array, X: Array, Y: Array,
                   target: Array, gradient_of: Callable[[Slip], Array] | None = None,
                   within: float = np.inf) -> tuple[Mistake, ...] | None:
    """``mistakes`` with each free parameter (an update step's learning rate) fitted so that
    their gradient comes closest to ``target`` (library layout).

    None when no value fits, or when the best one leaves a relative error of ``within`` or
    more.  ``gradient_of(slip)`` gives a slip's gradient (default :func:`backprop` at
    ``theta``; a caller that has some already may pass a memo).
    """
    if not any(m.fit for m in mistakes):
        return mistakes
    if gradient_of is None:
        def gradient_of(slip: Slip) -> Array:
            return backprop(net, theta, X, Y, slip)
    fitted = list(mistakes)
    for i, mistake in enumerate(mistakes):
        if mistake.fit is None:
            continue
        others = RIGHT
        for other in mistakes[:i] + mistakes[i + 1:]:
            others = others.combine(other.slip) or others
        found = mistake.fit(mistake, net, others, target, gradient_of, within)
        if found is None:
            return None
        fitted[i] = found
    return tuple(fitted)


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


def _derivative_omitted(act, z, a, delta, W, b, slip) -> Array:
    return delta @ W  # delta_h = delta_next W_next, the f'(z_h) factor left out


def _tanh_negated(act, z, a) -> Array:
    if act.name != "tanh":
        return act.derivative(z, a)
    return a * a - 1.0  # h^2 - 1, the derivative with its sign flipped


def _loss_gradient_only(net, act, z, a, Y) -> Array:
    return net.loss_function.grad(a, Y)  # dL/da, not chained through the output's f'


def _softmax_rows(a: Array) -> Array:
    return softmax(a, axis=1)


# the 1-D fit of an update step's learning rate: secant steps on the least-squares residual,
# exact after the first for one hidden layer (the gradient is affine in the rate there)
FIT_STEPS = 6


def _fit_update_order(mistake, net: Network, others: Slip, target: Array, gradient_of, within: float):
    """``mistake`` with the learning rate whose update-order gradient is nearest ``target``."""
    def at(lr: float) -> Array:
        return gradient_of(replace(others, update_lr=lr) if lr else others)

    lr_a, g_a, lr_b, g_b = 0.0, at(0.0), 1.0, at(1.0)
    steps = 1 if net.n_layers <= 2 else FIT_STEPS
    for step in range(steps):
        slope = (g_b - g_a) / (lr_b - lr_a)
        norm = float(slope @ slope)
        if not np.isfinite(norm) or norm == 0.0:
            return None
        lr = lr_a + float((target - g_a) @ slope) / norm
        if not np.isfinite(lr) or abs(lr - lr_b) <= 1e-12 * abs(lr) or step == steps - 1:
            break
        lr_a, g_a, lr_b, g_b = lr_b, g_b, lr, at(lr)
    if not (np.isfinite(lr) and lr > 0):  # a learning rate, or no update step at all
        return None
    if not relative_error(target, g_a + (lr - lr_a) * slope) < within:  # the secant's prediction
        return None
    return replace(mistake, slip=replace(mistake.slip, update_lr=lr), params=(("lr", lr),))


def _one_bias_each(net: Network) -> list[tuple[dict, Slip]]:
    return [({"layer": l + 1}, Slip(regularize_biases=(l,))) for l in range(net.n_layers)]


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


def _hidden_not_identity(net: Network) -> bool:
    return any(a.elementwise and a.name != "identity" for a in net.hidden)


def _tanh_derivative_used(net: Network) -> bool:
    return any(a.name == "tanh" for a in _derivative_layers(net))


def _output_derivative_missable(net: Network) -> bool:
    # with squared error dL/da is a - y itself: mistake:output-delta-a-minus-y names that
    p = net.pairing
    return not p.fused and p.output.name != "identity" and p.loss.name != "squared_error"


def _squared_error(net: Network) -> bool:
    return net.loss_function.name == "squared_error"


def _squared_error_over_outputs(net: Network) -> bool:
    # one output: the same as the dropped 1/2; two: 2/k = 1, nothing to see
    return _squared_error(net) and net.sizes[-1] > 2


def _several_layers_regularized(net: Network) -> bool:
    return net.l2 > 0 and net.n_layers > 1


def _has_hidden(net: Network) -> bool:
    return net.n_layers > 1


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
    family : callable ``(Network) -> list of (dict, Slip)``, optional
        A mistake made in one place of several (one layer's bias): the variants to try, each
        with its placeholders (``{layer}``) and its Slip; :meth:`variants` makes them entries.
    fit : callable, optional
        ``fit(mistake, net, others, target, gradient_of, within) -> Mistake | None``: the entry
        with its free parameter (an update step's learning rate) fitted to the gradient
        ``target``, with the other mistakes' Slip ``others`` in place (:func:`fit_parameters`).
    params : tuple of (str, value)
        The placeholders a variant or a fit filled in (``layer``, ``lr``).
    """

    code: str
    title: str
    explanation: str
    fix: str
    slip: Slip
    applies: Callable[[Network], bool] = _always
    sides: tuple[str, ...] = ("gradient",)
    family: Callable[[Network], list[tuple[dict, Slip]]] | None = None
    fit: Callable | None = None
    params: tuple[tuple[str, object], ...] = ()

    def variants(self, net: Network) -> list[Mistake]:
        """The entries to compare in ``net``: this one, or one per place of its family."""
        if self.family is None:
            return [self]
        return [replace(self, slip=slip, params=tuple(params.items()))
                for params, slip in self.family(net)]

    def wrong_gradient(self, net: Network, theta: Array, X: Array, Y: Array) -> Array:
        """The gradient with this mistake, in the library's layout."""
        return backprop(net, theta, X, Y, self.slip)

    def wrong_cost(self, net: Network, theta: Array, X: Array, Y: Array) -> float:
        """The cost with this mistake."""
        return slipped_cost(net, theta, X, Y, self.slip)

    def describe(self, net: Network) -> tuple[str, str, str]:
        """``(title, explanation, fix)`` with the network's names filled in."""
        context = {**_context(net), "layer": 1, "lr": 1.0, **dict(self.params)}
        title, explanation, fix = (text.format_map(context) for text in (self.title, self.explanation, self.fix))
        return title, explanation, fix


def _context(net: Network) -> dict:
    p = net.pairing
    grad = p.loss.grad_formula  # the loss registry's dL/da, e.g. -y / a
    delta = "a - y" if p.fused else (f"s * (g - sum(g * s, 2)) with g = {grad}"
                                     if not p.output.elementwise else f"f'(z) .* ({grad})")
    note = (f" The library refuses this pairing: {p.reason}; {p.suggestion}."
            if p.status == "refused" else "")
    if p.loss.name == "squared_error" and p.output.elementwise and p.output.name != "identity":
        note += (f" For squared_error a - y is dJ/da itself: what is missing is the {p.output.name} "
                 "output's derivative f'(z).")
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
        *_reduction_and_penalty_entries(),
        Mistake("mistake:hidden-derivative-missing",
                "the hidden layer's derivative left out of its delta ({hidden})",
                "backprop passes the delta down through W and then through the layer's activation: "
                "delta_h = (delta_next W_next) .* f'(z_h); without f'(z_h) the hidden layers' "
                "gradients are those of a network whose hidden units are linear.",
                "delta_h = (delta_next W_next) .* f'(z_h)   % {hidden}: f' of the layer's activation",
                Slip(hidden_delta=_derivative_omitted), _hidden_not_identity),
        Mistake("mistake:tanh-derivative-negated",
                "tanh' written h^2 - 1 instead of 1 - h^2",
                "the derivative of tanh is 1 - tanh(z)^2 = 1 - h^2, positive everywhere; h^2 - 1 "
                "flips the sign of every delta that passes through the tanh layer, so the layers "
                "below it get the negative of their gradient.",
                "delta_h = (delta_next W_next) .* (1 - h .^ 2)   % h = tanh(z_h)",
                Slip(derivative=_tanh_negated), _tanh_derivative_used),
        Mistake("mistake:output-derivative-missing",
                "the {output} output's derivative left out of the output delta",
                "the output delta is dJ/dz = f'(z) .* dL/da; with {output} and {loss} only dL/da "
                "was used, so every gradient misses the factor f'(z) of the output layer.",
                "delta_out = {delta}",
                Slip(output_delta=_loss_gradient_only), _output_derivative_missable),
        Mistake("mistake:softmax-twice-in-cost",
                "softmax applied again to the probabilities in the cost",
                "the network already outputs softmax probabilities a; a cost that calls softmax "
                "(or a loss helper that expects scores) on a computes -sum y log softmax(a), the "
                "cost of another function, while the gradient a - y is the right one's.",
                "J = -sum(sum(Y .* log(a))) / m   % a: the probabilities, not softmax(a)",
                Slip(cost_outputs=_softmax_rows), _softmax_output, ("cost",)),
        Mistake("mistake:update-order",
                "the gradient read off an update step that updates a layer before backpropagating "
                "through it (learning rate {lr:.3g})",
                "(theta_old - theta_new) / lr is the gradient only when every layer's gradient is "
                "computed before any layer is updated; here the delta passed to the layer below "
                "was formed with the already updated W_next - lr * dJ/dW_next, so the layers below "
                "the output differ by a term proportional to the learning rate.",
                "compute every dJ/dW_l (delta_h from the old W_next) first, then update all layers",
                Slip(update_lr=1.0), _has_hidden, fit=_fit_update_order),
        *[_cost_with_loss(name) for name in LOSSES],
    ]


def _reduction_and_penalty_entries() -> list[Mistake]:
    """Factors of the data term and of the penalty, and biases in the penalty."""
    def scaled(factor: float, per_output: bool = False) -> Callable:
        return lambda m, k, reduction: factor * reduction_scale(m, reduction) / (k if per_output else 1)

    both = ("gradient", "cost")
    return [
        Mistake("mistake:squared-error-half-dropped",
                "the 1/2 of the squared error dropped on one side",
                "the cost 1/2 sum (a - y)^2 has the gradient (a - y) .* f'(z); a cost sum (a - y)^2 "
                "without the 1/2, or an output delta 2 (a - y) .* f'(z), puts a factor 2 between "
                "cost and gradient.",
                "J = 1/2 sum (a - y)^2 / m and delta_out = (a - y) .* f'(z), or drop the 1/2 from "
                "both and keep the 2",
                Slip(data_scale=scaled(2.0)), _squared_error, both),
        Mistake("mistake:mean-over-outputs-without-half",
                "the squared error averaged over the {k} outputs, without the 1/2",
                "mean((a - y)^2) over every entry is 2/{k} times the library's 1/2 sum over "
                "outputs, averaged over samples; on one side only it puts that factor between cost "
                "and gradient.",
                "J = 1/2 sum_i sum_k (a_ik - y_ik)^2 / m, grad = delta' a / m   % the same on both sides",
                Slip(data_scale=scaled(2.0, per_output=True)), _squared_error_over_outputs, both),
        Mistake("mistake:penalty-without-half",
                "the L2 penalty without its 1/2",
                "the penalty lambda/(2m) sum W^2 has the gradient lambda/m W; lambda/m sum W^2 "
                "(or the gradient 2 lambda/m W) doubles it on one side.",
                "J += lambda / (2 m) * sum(W .^ 2)   and   W_grad += lambda / m * W",
                Slip(penalty_factor=2.0), _regularized, both),
        Mistake("mistake:biases-regularized-in-cost",
                "the biases regularised in the cost's penalty",
                "the penalty lambda/(2m) sum Theta^2 must leave out the bias column (b), as the "
                "gradient lambda/m Theta does; summing every entry of Theta puts the biases in the "
                "cost only.",
                "J += lambda / (2 m) * sum(sum(Theta(:, 2:end) .^ 2))   % weights only",
                Slip(regularize_biases=True), _regularized, ("cost",)),
        Mistake("mistake:bias-of-one-layer-regularized",
                "the biases of layer {layer} regularised",
                "lambda/m * b was added to the bias gradient of layer {layer} only; the penalty "
                "lambda/(2m) sum W^2 leaves every bias out, so no bias gradient has a penalty term.",
                "b{layer}_grad = sum(delta{layer}, 1) / m   % no lambda term for biases",
                Slip(regularize_biases=(0,)), _several_layers_regularized, family=_one_bias_each),
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
