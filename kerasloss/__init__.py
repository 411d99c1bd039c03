"""kerasloss: Keras 3 losses that report their components, and TensorBoard callbacks that show them."""

__version__ = "0.2.0"

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
from kerasloss.divergence_losses import KLDivergence, Poisson
from kerasloss.focal_losses import BinaryFocalCrossentropy, CategoricalFocalCrossentropy
from kerasloss.metric_learning_losses import Circle
from kerasloss.overlap_losses import Dice, Tversky
from kerasloss.robust_losses import CategoricalGeneralizedCrossEntropy
from kerasloss.sequence_losses import CTC
from kerasloss.margin_losses import CategoricalHinge, Hinge, SquaredHinge
from kerasloss.wrapping import WrappedLoss, get, wrap
from kerasloss.regression_losses import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
)

__all__ = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CTC",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
    "ComponentLoss",
    "CompositeLoss",
    "CosineSimilarity",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "RootMeanSquaredError",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "Tversky",
    "WrappedLoss",
    "get",
    "prediction_entropy",
    "wrap",
]
