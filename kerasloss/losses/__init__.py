"""Every kerasloss loss class, by family; this module only re-exports them.

One module per family holds the family's pure per-element functions (`*_terms`, returning `Terms`)
above the thin classes that configure them: `cross_entropy`, `focal`, `generalized_cross_entropy`,
`regression`, `margin` (hinges), `divergence` (KL, Poisson), `overlap` (Dice, Tversky),
`metric_learning` (Circle), `sequence` (CTC). The formulas are in each module's docstring and in
docs/losses.md.
"""

from kerasloss.losses.cross_entropy import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from kerasloss.losses.divergence import KLDivergence, Poisson
from kerasloss.losses.focal import BinaryFocalCrossentropy, CategoricalFocalCrossentropy
from kerasloss.losses.generalized_cross_entropy import (
    CategoricalGeneralizedCrossEntropy,
)
from kerasloss.losses.margin import CategoricalHinge, Hinge, SquaredHinge
from kerasloss.losses.metric_learning import Circle
from kerasloss.losses.overlap import Dice, Tversky
from kerasloss.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
)
from kerasloss.losses.sequence import CTC

__all__ = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CTC",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
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
]
