"""gradcheck: a NumPy MLP whose backprop is right, and a gradient checker that names the mistake."""
from .activations import ACTIVATIONS, Activation, get_activation
from .errors import ExitStatus, GradcheckError
from .losses import LOSSES, Loss, get_loss, pair
from .network import Network

__version__ = "0.1.0"

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "LOSSES", "Loss", "get_loss", "pair",
           "Network", "ExitStatus", "GradcheckError", "__version__"]
