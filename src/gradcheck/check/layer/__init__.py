"""Checking one layer's backward: :func:`~gradcheck.check.layer.check.check_layer` differences
every input of a forward/backward pair or a ``torch.autograd.Function``
(:mod:`~gradcheck.check.layer.calls`), names the mistakes only a layer makes
(:mod:`~gradcheck.check.layer.detectors`: shape, order, dout, mutation) and, given a reference
layer (:mod:`gradcheck.nn.layers`), which catalogued layer mistake its gradients match
(:mod:`~gradcheck.check.layer.mistakes`, :mod:`~gradcheck.check.layer.reference`).
"""
