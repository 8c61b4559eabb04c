"""gradcheck: a NumPy MLP whose backprop is right, and a gradient checker that names the mistake.

The layout is the architecture, and dependencies point one way::

    cli  ->  train, check, data  ->  nn  ->  errors, _files

- :mod:`gradcheck.nn`: activations, losses, the network, its blocks, kernel and model files;
- :mod:`gradcheck.check`: the gradient check, the fast evaluators, the doctor, reference mode;
- :mod:`gradcheck.train`: optimizers, the training loop, checkpoints, evaluation;
- :mod:`gradcheck.data`: datasets and file readers;
- :mod:`gradcheck.cli`: one module per command.

The names below are the public API; their module paths are stable.
"""
from gradcheck.check import (
    Diagnosis,
    GradientReport,
    LayerReport,
    QuickReport,
    check_arrays,
    check_gradient,
    check_jacobian,
    check_layer,
    check_network,
    diagnose,
    match_reference,
    numerical_gradient,
    quick_check,
)
from gradcheck.data import Dataset, load_dataset
from gradcheck.errors import (
    ConfigError,
    DataError,
    ExitStatus,
    GradcheckError,
    ModelFileError,
    NumericalError,
    UserCodeError,
)
from gradcheck.nn import ACTIVATIONS, LOSSES, Activation, Loss, Network, get_activation, get_loss, pair
from gradcheck.train import SGD, Adam, History, Momentum, Nesterov, Optimizer, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    # the network
    "Network", "ACTIVATIONS", "Activation", "get_activation", "LOSSES", "Loss", "get_loss", "pair",
    # checking and diagnosis
    "check_gradient", "check_network", "check_arrays", "check_jacobian", "check_layer", "quick_check",
    "diagnose", "match_reference", "numerical_gradient", "GradientReport", "QuickReport", "LayerReport",
    "Diagnosis",
    # data and training
    "load_dataset", "Dataset", "fit", "evaluate", "History",
    "Optimizer", "SGD", "Momentum", "Nesterov", "Adam",
    # errors
    "GradcheckError", "ConfigError", "DataError", "ModelFileError", "NumericalError", "UserCodeError",
    "ExitStatus",
    "__version__",
]
