"""kerasloss: Keras 3 losses that report their components, and TensorBoard callbacks that show them."""

__version__ = "0.3.0"

from kerasloss import metrics
from kerasloss.base import ComponentLoss, CompositeLoss
from kerasloss.entropy import prediction_entropy
from kerasloss.losses import *  # noqa: F403  (every loss class: kerasloss.losses.__all__)
from kerasloss.losses import __all__ as _LOSSES
from kerasloss.wrapping import WrappedLoss, get, wrap

__all__ = sorted([
    *_LOSSES, "ComponentLoss", "CompositeLoss", "WrappedLoss", "get", "metrics", "prediction_entropy", "wrap",
])
