"""kerasloss: Keras 3 losses that report their components, and TensorBoard callbacks that show them."""

__version__ = "0.1.0"

from kerasloss.base import ComponentLoss
from kerasloss.composite import CompositeLoss
from kerasloss.entropy import prediction_entropy
from kerasloss import metrics
from kerasloss.losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
)

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "ComponentLoss",
    "CompositeLoss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "RootMeanSquaredError",
    "SparseCategoricalCrossentropy",
    "prediction_entropy",
]
