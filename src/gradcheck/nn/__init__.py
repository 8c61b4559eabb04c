"""The network: activations and losses (each function beside its derivative), the multilayer
perceptron with one forward and one backward pass, its parameter blocks, the training kernel
and model files.

Depends only on :mod:`gradcheck.errors` and :mod:`gradcheck._files`.
"""
from gradcheck.nn.activations import ACTIVATIONS, Activation, get_activation
from gradcheck.nn.blocks import Block, make_blocks
from gradcheck.nn.losses import LOSSES, Loss, get_loss, pair
from gradcheck.nn.network import Network, Objective

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "Block", "make_blocks", "LOSSES", "Loss",
           "get_loss", "pair", "Network", "Objective"]
