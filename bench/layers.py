"""Checking layers (issue 13): the conv2d timing targets, and the planted-mistake tallies.

``python bench/layers.py [--repeats 5]`` prints

* conv2d with x (4, 3, 8, 8), w (6, 3, 3, 3), b (6,), stride 1, pad 1: the full check of every
  input (936 coordinates, 1,872 forward calls) and the quick directional check (k = 3), as
  best-of-``repeats`` wall time (targets: under 2 s and under 0.2 s on 2 cores);
* every reference layer checked with its own backward (findings must be 0), also at kinks
  (ReLU and leaky ReLU at 0, a max-pool tie, an SVM margin of exactly 0);
* every catalogued layer mistake planted into its layer's backward: named with its code by
  ``reference=``, and failed (with a finding) without it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_of, cores, load_average

from gradcheck import check_layer
from gradcheck.check.layer.mistakes import LAYER_MISTAKES
from gradcheck.nn.layers import LAYERS

PLANT_PARAMS = {"conv2d": {"stride": 2, "pad": 1}, "linear_softmax": {"reg": 0.3},
                "linear_svm": {"reg": 0.3}, "dropout": {"p": 0.8}}


def conv_case(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((4, 3, 8, 8)), "w": rng.standard_normal((6, 3, 3, 3)),
            "b": rng.standard_normal(6)}


def time_conv(repeats: int) -> None:
    conv, inputs = LAYERS["conv2d"], conv_case()
    params = {"stride": 1, "pad": 1}
    full, report = best_of(lambda: check_layer(conv.forward, conv.backward, inputs, params=params), repeats)
    quick, fast = best_of(lambda: check_layer(conv.forward, conv.backward, inputs, params=params, quick=True),
                          repeats)
    print(f"conv2d x (4, 3, 8, 8), w (6, 3, 3, 3), stride 1, pad 1: {report.gradient.numerical.size} "
          f"coordinates")
    print(f"  full check   {full:.3f} s  (target < 2 s)    passed={report.passed}  "
          f"relative error {report.relative_error:.1e}")
    print(f"  quick check  {quick:.4f} s (target < 0.2 s)  passed={fast.passed}  "
          f"{fast.quick.n_evaluations} forward calls")


def _kink_cases():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    x[0, :3] = 0.0
    pool = rng.permutation(32).reshape(1, 2, 4, 4) / 3.0
    pool[0, 0, 0, 1] = pool[0, 0, 0, 0] = pool[0, 0, :2, :2].max()
    svm = {"x": np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.2]]), "y": np.array([0, 2])}
    return [("relu", {"x": x}), ("leaky_relu", {"x": x}), ("max_pool2d", {"x": pool}), ("svm_loss", svm)]


def right_layers() -> None:
    findings, notes, total = 0, {}, 0
    cases = [(name, layer.example(np.random.default_rng(1))) for name, layer in LAYERS.items()]
    for name, inputs in cases + _kink_cases():
        layer = LAYERS[name]
        report = check_layer(layer.forward, layer.backward, inputs, params=dict(layer.params),
                             constants=layer.constants, reference=name)
        findings += len(report.diagnoses)
        for d in report.notes:
            notes[d.code] = notes.get(d.code, 0) + 1
        total += 1
    print(f"right layers: {total} checks ({len(LAYERS)} layers + 4 at kinks), {findings} findings; "
          f"notes: {', '.join(f'{n} {code}' for code, n in notes.items())}")


def _planted(layer, mistake):
    def backward(dout, cache):
        grads = dict(zip(layer.differentiable, layer.backward(dout, cache)))
        grads.update(mistake.backward(dout, cache))
        return tuple(grads[k] for k in layer.differentiable)
    return backward


def planted_mistakes() -> None:
    named, failed, start = [], [], time.perf_counter()
    for code, mistake in LAYER_MISTAKES.items():
        layer = LAYERS[mistake.layer]
        inputs = layer.example(np.random.default_rng(1))
        if code == "mistake:affine-dx-not-transposed":
            g = np.random.default_rng(2)
            inputs.update(w=g.standard_normal((6, 6)), b=g.standard_normal(6))
        params = {**layer.params, **PLANT_PARAMS.get(mistake.layer, {})}
        report = check_layer(layer.forward, _planted(layer, mistake), inputs, params=params,
                             reference=mistake.layer)
        named += [code] if code in [d.code for d in report.reference] else []
        blind = check_layer(layer.forward, _planted(layer, mistake), inputs, params=params,
                            constants=layer.constants)
        failed += [code] if not blind.passed and blind.findings else []
    missed = sorted(set(LAYER_MISTAKES) - set(named))
    print(f"planted mistakes: {len(named)}/{len(LAYER_MISTAKES)} named by their code, "
          f"{len(failed)}/{len(LAYER_MISTAKES)} failed without a reference "
          f"({time.perf_counter() - start:.1f} s){'; missed: ' + ', '.join(missed) if missed else ''}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{cores()} cores, load average {load_average()}")
    time_conv(args.repeats)
    right_layers()
    planted_mistakes()


if __name__ == "__main__":
    main()
