"""TensorBoard callbacks for kerasloss losses (see docs/tensorboard.md for the tag scheme).

- `LossComponentLogger`: loss/total, loss/<component>, loss/regularization per epoch (runs
  train, validation), batch/loss/... every N steps.
- `PredictionEntropyLogger`: entropy/mean, entropy/normalized, entropy/per_example on held-out data.
- `PostHocMetrics`: metrics/<name> of Keras metrics on held-out data, outside the training step.
- `summaries`: the run names, tag names and shared writers they all write through.
"""

from kerasloss.callbacks import summaries
from kerasloss.callbacks.loss_components import LossComponentLogger
from kerasloss.callbacks.posthoc import PostHocMetrics
from kerasloss.callbacks.prediction_entropy import PredictionEntropyLogger

__all__ = ["LossComponentLogger", "PostHocMetrics", "PredictionEntropyLogger", "summaries"]
