"""A convolution and a max-pool layer written with loops, as in the course, with two slips.

* ``conv_backward_naive`` adds each output's ``dout * w`` into the PADDED input's gradient —
  right — and returns it without cutting the padding off again: dx has shape (N, C, H + 2 pad,
  W + 2 pad), not x's.
* ``max_pool_backward_naive`` spreads each window's dout evenly over the window (average
  pooling's backward) instead of sending it to the window's maximum.

The layers are checked at random points and at one with exact ties in a pooling window:
a tie is a kink (the gradient may go to either maximum), reported as a note, not a mistake.
Run ``python examples/layers_conv_pool.py``.
"""
import numpy as np

from gradcheck import check_layer

CONV = {"x": (2, 3, 5, 5), "w": (4, 3, 3, 3), "b": (4,)}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, f, hh, ww = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    ho, wo = 1 + (xp.shape[2] - hh) // stride, 1 + (xp.shape[3] - ww) // stride
    out = np.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    hh, ww = w.shape[2], w.shape[3]
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + hh), slice(j * stride, j * stride + ww)
            dxp[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
            dw += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))
    db = dout.sum(axis=(0, 2, 3))
    return dxp, dw, db  # the slip: dxp[:, :, pad:-pad, pad:-pad] belongs to x


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    ho, wo = 1 + (x.shape[2] - ph) // s, 1 + (x.shape[3] - pw) // s
    out = np.zeros((*x.shape[:2], ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache, average=True):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * s:i * s + ph, j * s:j * s + pw]
            if average:  # the slip: average pooling's backward
                dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j][:, :, None, None] / (ph * pw)
                continue
            flat = window.reshape(*window.shape[:2], -1)
            first = flat == flat.max(axis=2, keepdims=True)
            first &= np.cumsum(first, axis=2) == 1  # the first maximum only, at ties too
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += (first * dout[:, :, i, j][:, :, None]).reshape(
                window.shape)
    return dx


def right_pool_backward(dout, cache):
    return max_pool_backward_naive(dout, cache, average=False)


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    conv = {name: rng.standard_normal(shape) for name, shape in CONV.items()}
    pool = {"x": rng.permutation(2 * 3 * 4 * 4).reshape(2, 3, 4, 4) / 5.0}  # distinct values
    return conv, pool


def tied_pool_input():
    x = make_inputs()[1]["x"].copy()
    x[0, 0, 0, 1] = x[0, 0, 0, 0] = x[0, 0, :2, :2].max()  # two equal maxima in one window
    return {"x": x}


def reports(seed=0):
    conv, pool = make_inputs(seed)
    return [check_layer(conv_forward_naive, conv_backward_naive, conv,
                        params={"conv_param": {"stride": 2, "pad": 1}}, reference="conv2d", seed=seed),
            check_layer(max_pool_forward_naive, max_pool_backward_naive, pool,
                        params={"pool_param": POOL}, reference="max_pool2d", seed=seed)]


def run(seed=0):
    return [d for report in reports(seed) for d in report.diagnoses]


if __name__ == "__main__":
    for name, report in zip(("conv", "max-pool"), reports()):
        print(f"== {name}: {report.summary()}", *map(str, report.diagnoses), "", sep="\n")
    tied = check_layer(max_pool_forward_naive, right_pool_backward, tied_pool_input(),
                       params={"pool_param": POOL})
    print(f"== the right max-pool at a tie: {tied.summary()}", *map(str, tied.notes), sep="\n")
