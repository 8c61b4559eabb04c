"""The training kernel: a Network's cost and gradient for batches of one size, in place.

:meth:`Network.loss_and_grad` allocates every pre-activation, activation, delta and the
gradient afresh on each call, which is right for checking and costs little on one call.
A training epoch makes hundreds of calls on same-sized batches, and there the
allocations, temporaries and library dispatch cost as much as the matrix products.
:class:`BatchKernel` computes the same quantity with buffers allocated once per batch
size, passed to the network's own passes (:meth:`Network.forward_pass`,
:meth:`Network.backward_pass`): ``np.matmul(..., out=...)``
into preallocated arrays and straight into the views of one flat gradient, activations
through their ``out=`` forms (:meth:`~gradcheck.nn.activations.Activation.forward_into`), and
for softmax + cross-entropy the fused cost from the row maxima and sums of exponentials
(scipy's ``logsumexp`` spends 140 us dispatching per 128 x 10 call).  Results equal ``loss_and_grad``'s up to
the rounding of the cost (a test holds
them together for every activation and pairing).
"""
from __future__ import annotations

import numpy as np

from gradcheck.nn.losses import output_delta, reduction_scale
from gradcheck.nn.network import Network

__all__ = ["BatchKernel"]

Array = np.ndarray


class BatchKernel:
    """Cost and gradient of ``net`` on batches of exactly ``batch_size`` rows.

    Parameters
    ----------
    net : Network
        Evaluated at its current ``net.theta`` on every call (the layer views are shared).
    batch_size : int

    Notes
    -----
    The gradient returned by :meth:`loss_and_grad` is the kernel's own buffer: it is
    overwritten by the next call, so use it (an optimizer step) or copy it first.
    """

    def __init__(self, net: Network, batch_size: int):
        self.net, self.batch_size = net, int(batch_size)
        dtype, m = net.dtype, self.batch_size
        widths = net.sizes[1:]
        self._layers = [(np.empty((m, n), dtype), np.empty((m, n), dtype)) for n in widths]
        self._g = [np.empty((m, n), dtype) for n in widths]  # dJ/da, then dJ/dz, per layer
        self.grad = np.empty(net.n_params, dtype)
        self._grads = net.layer_views(self.grad)
        self._scale = reduction_scale(m, net.reduction)
        p = net.pairing
        self._fused_softmax = (p.status == "fused" and p.output.name == "softmax")

    def loss_and_grad(self, X: Array, Y: Array) -> tuple[float, Array]:
        """``(J, grad)`` for ``X`` of shape ``(batch_size, sizes[0])`` and targets ``Y`` of
        shape ``(batch_size, sizes[-1])``, both already in the network's dtype."""
        net = self.net
        zs, acts = net.forward_pass(X, buffers=self._layers)
        if self._fused_softmax:
            J = self._softmax_cross_entropy(Y)
        else:
            J, delta = output_delta(net.pairing, zs[-1], acts[-1], Y, net.reduction)
            np.copyto(self._g[-1], delta)  # already times the reduction's 1/m
        J += net.penalty(net.layers, self._scale)
        net.backward_pass(net.layers, self._grads, zs, acts, self._g[-1], self._scale,
                          buffers=self._g)
        return J, self.grad

    def _softmax_cross_entropy(self, Y: Array) -> float:
        """The fused cost and ``delta = (sum(y) s - y) * scale`` of softmax + cross-entropy.

        Per row: ``sum(y) log sum exp(z) - y . z`` with ``log sum exp(z) = m + log sum
        exp(z - m)``, ``m`` the row max (exp overflows above ~88 in float32), the same
        stable form as ``losses._softmax_ce_value`` without a second pass over ``exp``.
        The forward pass already wrote ``s = softmax(z)``; only the row sums of the
        exponentials are recomputed, for the log.
        """
        (z, s), delta = self._layers[-1], self._g[-1]
        row_max = z.max(axis=1, keepdims=True)
        np.subtract(z, row_max, out=delta)
        np.exp(delta, out=delta)
        total = delta.sum(axis=1, keepdims=True)
        y_sum = Y.sum(axis=1, keepdims=True)
        log_sum_exp = np.log(total) + row_max
        J = float(np.vdot(y_sum, log_sum_exp) - np.vdot(Y, z)) * self._scale
        np.multiply(s, y_sum, out=delta)
        delta -= Y
        delta *= delta.dtype.type(self._scale)
        return J
