"""Hints derived from the evidence: which layer a block belongs to, what its disagreement
implies about where the error enters backprop, and what to add for a more precise answer.

Backprop computes the last layer's gradient from the output delta and every earlier layer's
from the delta passed back through the layers after it.  So *which* blocks disagree says
where the error enters: all of them — the output delta or the cost; the first layer while the
last agrees — the step back into it (its activation derivative, the product with the next
layer's weights); the last alone while the earlier ones agree — how that layer's own gradient
is formed (not the delta, which the earlier layers share); weights but not their biases — the
product with the layer's input; biases but not their weights — the sum over samples.
"""
from __future__ import annotations

import re

from gradcheck.check.doctor.diagnosis import GIVE_BLOCKS, GIVE_REFERENCE
from gradcheck.nn.blocks import Block

__all__ = ["layer_of", "layers", "entry_hint", "what_to_add", "reference_sizes"]

_DIGITS = re.compile(r"(\d+)\D*$")


def layer_of(blocks: list[Block]) -> dict[str, int]:
    """Each block's layer, 1-based: from the digits in its name when every block has some
    (``W1``, ``Theta2``; a 0-based list index ``coefs_[0]`` counts from 0), else weights in order
    with each vector after them belonging to the matrix before it."""
    found = {b.name: m for b in blocks if (m := _DIGITS.search(b.name)) is not None}
    if blocks and len(found) == len(blocks):
        numbers = {name: int(m.group(1)) for name, m in found.items()}
        base = 1 - min(numbers.values())
        return {name: v + base for name, v in numbers.items()}
    out, matrices, vectors = {}, 0, 0
    for b in blocks:
        if len(b.shape) == 2:
            matrices += 1
            out[b.name] = matrices
        else:
            vectors += 1
            out[b.name] = max(matrices, vectors)
    return out


def layers(blocks: list[Block], names) -> list[int]:
    table = layer_of(blocks)
    return sorted({table[name] for name in names if name in table})


def _kinds(blocks: list[Block], names) -> set[str]:
    return {"bias" if len(b.shape) == 1 else "weights" for b in blocks if b.name in names}


def entry_hint(blocks: list[Block], wrong: set[str], right: set[str]) -> tuple[str, str]:
    """Where the error enters backprop, from which blocks disagree and which agree:
    ``(what the evidence shows, what to look at)``."""
    wrong_layers, right_layers = layers(blocks, wrong), layers(blocks, right)
    last = max(layer_of(blocks).values(), default=1)
    if not right_layers or not wrong_layers:
        return ("every layer differs, so the error is where they all start",
                "look at the output delta (the derivative of the cost you evaluate: a - y only for "
                "softmax + cross-entropy, sigmoid + logistic cost, identity + squared error) and at "
                "the cost itself (softmax applied twice, another loss than the one differentiated)")
    same_layer = set(wrong_layers) & set(right_layers)
    if same_layer:
        layer = min(same_layer)
        if _kinds(blocks, wrong & _of_layer(blocks, layer)) == {"weights"}:
            return (f"layer {layer}'s bias gradient agrees, so its delta is right",
                    f"look at layer {layer}'s weight gradient: that delta times the layer's input "
                    f"(the previous activations, with or without the bias column), in theta's layout")
        return (f"layer {layer}'s weight gradient agrees, so its delta is right",
                f"look at layer {layer}'s bias gradient: the sum of that delta over the samples "
                f"(over the right axis), with the same 1/m")
    if max(wrong_layers) < last and last in right_layers:
        j = max(wrong_layers)
        return ("the last layer agrees, so the output delta is right",
                f"look at the step back into layer {j}: the derivative of its activation (at z, of "
                f"the activation it really uses) and the product with layer {j + 1}'s weights "
                f"(without their bias column)")
    j = min(wrong_layers)
    return (f"layer {j} differs while layer{'s' if len(right_layers) > 1 else ''} "
            f"{', '.join(map(str, right_layers))}, computed from the same output delta, agree",
            f"look at how layer {j}'s own gradient is formed (the activations it multiplies, its "
            f"1/m, an update step taken before it), not at the delta")


def _of_layer(blocks: list[Block], layer: int) -> set[str]:
    return {name for name, v in layer_of(blocks).items() if v == layer}


def reference_sizes(blocks: list[Block], n_features: int | None, n_outputs: int | None) -> str:
    """``"sizes=4,5,3"`` from the blocks (weights and biases, or Theta matrices with a bias
    column) and the data, or a placeholder."""
    biases = [b.size for b in blocks if len(b.shape) == 1 and b.name != "theta"]
    matrices = [b.shape for b in blocks if len(b.shape) == 2]
    if n_features and biases and len(biases) == len(matrices):
        return "sizes=" + ",".join(map(str, [n_features, *biases]))
    if n_features and matrices and all(min(s) > 0 for s in matrices):
        widths = [n_features]
        for rows, cols in matrices:
            widths.append(rows if cols == widths[-1] + 1 else cols if rows == widths[-1] + 1 else 0)
        if all(widths):
            return "sizes=" + ",".join(map(str, widths))
    return f"sizes={n_features or 'IN'},HIDDEN,{n_outputs or 'OUT'}"


def what_to_add(blocks: list[Block], suggestion: str | None, n_features: int | None,
                n_outputs: int | None) -> str:
    """What to give the doctor for a precise answer, and why."""
    sizes = reference_sizes(blocks, n_features, n_outputs)
    reference = (f"{GIVE_REFERENCE} (\"{sizes} hidden=... output=... loss=... l2=...\"): it compares "
                 f"your gradient with that network and with each catalogued textbook mistake (a "
                 f"missing derivative, softmax applied twice, a - y with the wrong loss), which a "
                 f"black-box comparison cannot tell apart")
    if len(blocks) > 1 or blocks[0].name != "theta":
        return f"to name the mistake, {reference}."
    layout = (f"{GIVE_BLOCKS} {suggestion}" if suggestion else
              f"{GIVE_BLOCKS} NAME=ROWSxCOLS,... (or define your Theta1/W1 ... arrays, or a shapes "
              f"list, at module level)")
    return (f"to see which layer differs, {layout}: the doctor then checks each block apart; "
            f"to name the mistake, {reference}.")

