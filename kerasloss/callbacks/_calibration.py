"""Calibration of a classifier on held-out data, logged by `PostHocMetrics` (and so `LossMonitor`)
without being asked, from the same prediction pass as the post-hoc metrics.

Each evaluated epoch, run `posthoc` (tags from `kerasloss_tensorboard.metadata`):

    metrics/ece               ECE of `kerasloss.metrics.CalibrationError` (15 uniform bins)
    calibration/reliability   per bin: lower and upper edge, count, mean confidence, accuracy,
                              and the confidence a smoothed loss's target asks for:
                              1 − ε + ε/K (categorical, K classes), 1 − ε/2 (binary)
    calibration/confidence    the histogram of the confidences over the same bins

An output is a classifier's when its loss is a classification loss
(`_model_info.classifier_settings`); the outputs are read as its loss reads them (logits or
probabilities).
"""

import numpy as np

from kerasloss.calibration import CalibrationError
from kerasloss.callbacks._model_info import classifier_settings
from kerasloss_tensorboard import metadata, summary_v2


class HeldOutCalibration:
    """The calibration metric of one classifier and the records written from it.

    Args:
        from_logits, kind: how the loss reads the outputs (`classifier_settings`).
        label_smoothing: the loss's ε (0: no target mark).
    """

    def __init__(self, from_logits, kind, label_smoothing=0.0):
        self.metric = CalibrationError(kind=kind, from_logits=from_logits, name=metadata.CALIBRATION_METRIC)
        self.label_smoothing = label_smoothing
        self._classes = None

    @classmethod
    def of(cls, model, from_logits=False, output=None):
        """The calibration of `model`'s output `output` (None: its only output), read as logits
        when its loss or `from_logits` says so; None when that output is not a classifier's."""
        settings = classifier_settings(model, output)
        if settings is None:
            return None
        loss_logits, kind, label_smoothing = settings
        return cls(loss_logits or from_logits, kind, label_smoothing)

    def reset(self):
        self.metric.reset_state()

    def update(self, y, outputs, sample_weight):
        """Add one batch: labels `y`, the model's raw `outputs`, weights or None."""
        self._classes = int(np.shape(outputs)[-1])
        self.metric.update_state(y, outputs, sample_weight=sample_weight)

    def target(self):
        """The confidence a label-smoothed target asks for, or None without smoothing."""
        if not self.label_smoothing:
            return None
        if self.metric.kind == "binary":
            return 1.0 - self.label_smoothing / 2.0
        return 1.0 - self.label_smoothing + self.label_smoothing / max(self._classes or 2, 2)

    def write(self, log, step):
        """Write the reliability record and the confidence histogram at `step` into run posthoc."""
        record = self.metric.reliability()
        blobs = [summary_v2.reliability_pb(record, self.target()).SerializeToString(),
                 summary_v2.confidence_histogram_pb(record).SerializeToString()]
        log.write_raw(metadata.POSTHOC, step, blobs)
