"""Batch normalisation's backward pass through its computational graph, with one path lost.

The staged backward pass (the course's "computational graph" way) walks back through
``xhat = xmu * ivar``, ``ivar = 1 / sqrt(var + eps)``, ``var = mean(xmu^2)``, ``xmu = x - mu``
and ``mu = mean(x)``.  Every node that feeds two others collects two gradients; here the
gradient that flows from ``var`` back into ``xmu`` is added, but the one from ``xmu`` back
into ``mu`` is forgotten — as if the batch mean were a constant.  dgamma and dbeta are right.

:func:`gradcheck.check_layer` says the error is confined to dx, and ``reference="batchnorm"``
names the mistake: the term of dx through the mean is missing.
Run ``python examples/layers_batchnorm.py``.
"""
import numpy as np

from gradcheck import check_layer

N, D = 6, 4


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    mu = x.mean(axis=0)
    xmu = x - mu
    var = (xmu ** 2).mean(axis=0)
    ivar = 1.0 / np.sqrt(var + eps)
    xhat = xmu * ivar
    out = gamma * xhat + beta
    return out, (xhat, xmu, ivar, gamma)


def batchnorm_backward(dout, cache):
    xhat, xmu, ivar, gamma = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu = dxhat * ivar
    dvar = divar * -0.5 * ivar ** 3
    dxmu += 2 * xmu * dvar / n  # the path through the variance
    dx = dxmu  # the slip: the path through the mean, dx -= dxmu.mean(axis=0), is missing
    return dx, dgamma, dbeta


def right_backward(dout, cache):
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    return dx - dx.mean(axis=0), dgamma, dbeta  # the mean's path added back


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return {"x": 3 * rng.standard_normal((N, D)) + 1, "gamma": rng.standard_normal(D),
            "beta": rng.standard_normal(D)}


def check(seed=0, backward=batchnorm_backward):
    return check_layer(batchnorm_forward, backward, make_inputs(seed), params={"bn_param": {"eps": 1e-5}},
                       reference="batchnorm", seed=seed)


def run(seed=0):
    return check(seed).diagnoses


if __name__ == "__main__":
    report = check()
    print(report.summary(), *map(str, report.diagnoses), sep="\n")
