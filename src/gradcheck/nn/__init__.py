"""The network: activations, losses, the multilayer perceptron, its parameter blocks, training kernel and files."""
