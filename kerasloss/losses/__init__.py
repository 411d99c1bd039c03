"""Every kerasloss loss class, by family; this module only re-exports them.

One module per family holds the family's pure per-element functions (`*_terms`, returning `Terms`)
above the thin classes that configure them: `cross_entropy`, `focal`, `generalized_cross_entropy`,
`regression`, `margin` (hinges), `divergence` (KL, Poisson), `overlap` (Dice, Tversky),
`metric_learning` (Circle, triplet, contrastive, SupCon), `sequence` (CTC), `quantile` (pinball),
`gaussian` (Gaussian NLL), `ranking` (keras-rs' pairwise losses, ListMLE); `functions` holds the
`keras.losses` functions (`mse`, `huber`, ...). The formulas are in each module's docstring and in
docs/losses.md.
"""

from kerasloss.losses.cross_entropy import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from kerasloss.losses.divergence import KLDivergence, Poisson
from kerasloss.losses.focal import BinaryFocalCrossentropy, CategoricalFocalCrossentropy
from kerasloss.losses.gaussian import GaussianNLL
from kerasloss.losses.generalized_cross_entropy import (
    CategoricalGeneralizedCrossEntropy,
)
from kerasloss.losses.margin import CategoricalHinge, Hinge, SquaredHinge
from kerasloss.losses.metric_learning import (
    Circle,
    ContrastiveLoss,
    SupervisedContrastive,
    TripletSemiHardLoss,
)
from kerasloss.losses.overlap import Dice, Tversky
from kerasloss.losses.quantile import PinballLoss
from kerasloss.losses.ranking import (
    ListMLELoss,
    PairwiseHingeLoss,
    PairwiseLogisticLoss,
    PairwiseMeanSquaredError,
    PairwiseSoftZeroOneLoss,
)
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
from kerasloss.losses import functions
from kerasloss.losses.functions import *  # noqa: F403  (the keras.losses functions: functions.__all__)

__all__ = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CTC",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
    "ContrastiveLoss",
    "CosineSimilarity",
    "Dice",
    "GaussianNLL",
    "Hinge",
    "Huber",
    "KLDivergence",
    "ListMLELoss",
    "LogCosh",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "PairwiseMeanSquaredError",
    "PairwiseSoftZeroOneLoss",
    "PinballLoss",
    "Poisson",
    "RootMeanSquaredError",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "SupervisedContrastive",
    "TripletSemiHardLoss",
    "Tversky",
] + functions.__all__
