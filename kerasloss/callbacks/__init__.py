"""TensorBoard callbacks for kerasloss losses (see docs/tensorboard.md for the tag scheme), on
every Keras backend.

- `LossComponentLogger`: loss/total, loss/<component>, loss/regularization, diagnostics/<name> per
  epoch (runs train, validation), batch/loss/... every N steps.
- `PredictionEntropyLogger`: entropy/mean, entropy/normalized, entropy/per_example on held-out data.
- `PostHocMetrics`: metrics/<name> of Keras metrics on held-out data, outside the training step.
- `LossMonitor`: the three above in one callback, sharing one held-out prediction pass.
- `ExampleLedger`: per-example AUM, dataset cartography and loss over the epochs: the hardest
  examples and likely label errors (ledger/mean_margin, ledger/negative_margin_fraction).
- `summaries`: the run names, tag names and shared writers they all write through.
"""

from kerasloss.callbacks import summaries
from kerasloss.callbacks.ledger import ExampleLedger
from kerasloss.callbacks.loss_components import LossComponentLogger
from kerasloss.callbacks.monitor import LossMonitor
from kerasloss.callbacks.posthoc import PostHocMetrics
from kerasloss.callbacks.prediction_entropy import PredictionEntropyLogger

__all__ = ["ExampleLedger", "LossComponentLogger", "LossMonitor", "PostHocMetrics", "PredictionEntropyLogger", "summaries"]
