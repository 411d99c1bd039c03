"""`PredictionEntropyLogger`: how sure the model is, on held-out data and during training.

Every `every_n_epochs` epochs (step = epoch), one inference pass over `data`, run `validation`:

    entropy/mean         = mean_i H(x_i)                  H = `kerasloss.prediction_entropy`, nats
                           (Σ_i w_i H(x_i) / Σ_i w_i when `data` is (x, y, sample_weight))
    entropy/normalized   = entropy/mean / log K           (log 2 for kind="binary")
    entropy/per_example  = histogram of H(x_i) over the first `histogram_size` examples

The pass is Keras' compiled predict function batch by batch (any backend); the entropy of each
batch is computed eagerly from its outputs, so no more than one batch of outputs is held at once.

Run `train` gets `entropy/mean` (or `entropy/normalized` if the metric normalizes) from the
`PredictionEntropy` metric when it is compiled in (`loss_components(loss, entropy=True)`), at no cost:
the loss computes it in its own pass. The metric is looked up among the model's compiled metrics
(of `output` for a multi-output model) once they are built, at the first epoch end.
"""

import warnings

import numpy as np
from keras import ops

from kerasloss import _checks
from kerasloss.callbacks import summaries
from kerasloss.callbacks._base import LoggingCallback
from kerasloss.callbacks._heldout import HeldOut, predict
from kerasloss.callbacks._model_info import (
    check_output,
    compiled_metrics,
    linear_output,
    log_prefix,
    loss_entropy_settings,
    select_output,
)
from kerasloss.entropy import KINDS, entropy_scale, prediction_entropy
from kerasloss.metrics import PredictionEntropy


class HeldOutEntropy:
    """The running sums of one held-out pass of `logger` (a `PredictionEntropyLogger`): Σ w·H,
    Σ w, and the first `histogram_size` per-example entropies."""

    def __init__(self, logger):
        self._logger = logger
        self._total, self._count, self._kept, self._sample, self._classes = 0.0, 0.0, 0, [], None

    def add(self, y_pred, weight):
        """One batch: the model's outputs (a structure for several outputs) and its weights or None."""
        logger = self._logger  # its `_model`: `model` syncs the state on JAX, wrong within Keras' test step
        y_pred = select_output(y_pred, logger._model, logger.output)
        self._classes = np.shape(y_pred)[-1]
        logger._check_probabilities(y_pred)
        h = prediction_entropy(y_pred, logger.from_logits, logger.kind)
        h = np.asarray(ops.convert_to_numpy(h), dtype=np.float64)
        if weight is None:
            weight = np.ones_like(h)
        else:  # (batch,) weights over (batch, ...) entropies, as Keras weights a loss
            weight = np.asarray(weight, dtype=np.float64)
            weight = np.broadcast_to(weight.reshape(weight.shape + (1,) * (h.ndim - weight.ndim)), h.shape)
        self._total += float((weight * h).sum())
        self._count += float(weight.sum())
        h = h.reshape(-1)
        if self._kept < logger.histogram_size:
            self._sample.append(h[: logger.histogram_size - self._kept])
            self._kept += len(self._sample[-1])

    def result(self):
        """(mean entropy, normalized mean, the sample of per-example entropies)."""
        mean = self._total / self._count if self._count else float("nan")
        sample = np.concatenate(self._sample) if self._sample else np.zeros((0,))
        return mean, mean / entropy_scale(self._logger.kind, int(self._classes or 2)), sample


class PredictionEntropyLogger(LoggingCallback):
    """Writes the entropy of the model's predictions to TensorBoard.

    Args:
        log_dir: the TensorBoard log directory.
        data: held-out inputs x, (x,), (x, y) or (x, y, sample_weight) arrays, or a batched
            `tf.data.Dataset`, `keras.utils.PyDataset` or DataLoader of those (see `_heldout`; labels
            are not used; sample weights weight `entropy/mean`). None: only run `train`'s entropy.
        from_logits: whether the model outputs logits (else probabilities).
        kind: "categorical" (softmax over the last axis) or "binary" (sigmoid outputs); None: the
            compiled loss's (binary for `BinaryCrossentropy` and `BinaryFocalCrossentropy`), else
            "categorical". A one-unit output with "categorical" is refused (its entropy is always 0).
        every_n_epochs: evaluate at the end of every n-th epoch.
        output: for a multi-output model, the name of the output to use (tags get `<output>/`).
        batch_size: batch size for array `data`.
        histogram_size: at most this many per-example entropies go into the histogram.
        steps: batches per evaluation (needed for a repeated dataset or an unsized iterable).
    """

    def __init__(self, log_dir, data, from_logits=False, kind=None, every_n_epochs=1, *,
                 output=None, batch_size=256, histogram_size=4096, steps=None):
        super().__init__(log_dir)
        self._kind_given = None if kind is None else _checks.check_choice("kind", kind, KINDS)
        self.kind = self._kind_given
        self.from_logits = _checks.check_bool("from_logits", from_logits)
        self.every_n_epochs = _checks.check_int_at_least("every_n_epochs", every_n_epochs, 1)
        if output is not None and not isinstance(output, str):
            raise TypeError(f"output must be the name of one of the model's outputs or None, got {output!r}")
        self.output = output
        self.histogram_size = _checks.check_int_at_least("histogram_size", histogram_size, 1)
        self._data = None if data is None else HeldOut(data, batch_size, steps)
        self._train_metric = None
        self._logit_outputs = False

    def hparams_metrics(self):
        if self._data is None:
            return []
        return [(summaries.VALIDATION, summaries.entropy_tag("mean", self.output), "held-out entropy")]

    def _setup(self):
        check_output(self.model, self.output)
        settings = loss_entropy_settings(self.model, self.output)
        self.kind = self._kind_given or (settings[1] if settings else "categorical")
        self._train_metric = None
        # a linear last layer gives logits: entropy read from them as probabilities is no entropy
        self._logit_outputs = linear_output(self.model, self.output)

    def _find_metric(self, logs):
        """(logs key, normalize, from_logits) of the compiled `PredictionEntropy` of this output, or None."""
        prefix = log_prefix(self.output)
        for key, metric in compiled_metrics(self.model):
            if isinstance(metric, PredictionEntropy) and key == f"{prefix}{metric.name}" and key in logs:
                return key, metric.normalize, metric.from_logits
        return None

    def held_out_entropy(self):
        """(mean entropy, normalized mean, bounded sample of per-example entropies) on `data`, from
        one prediction pass. The mean is weighted by `sample_weight` when `data` has one; the sample
        is not. (`LossMonitor` feeds a `HeldOutEntropy` from its own pass or Keras'.)
        """
        totals = HeldOutEntropy(self)
        for x, _, weight in self._data:
            totals.add(predict(self.model, x), weight)
        return totals.result()

    def _check_probabilities(self, y_pred):
        """Outputs outside [0, 1] with from_logits=False are logits (whatever the last layer): warn
        once and log no held-out entropy from them."""
        if self.from_logits or self._logit_outputs:
            return
        low, high = (float(ops.convert_to_numpy(f(y_pred))) for f in (ops.min, ops.max))
        if low < 0.0 or high > 1.0:
            self._logit_outputs = True
            warnings.warn(
                f"PredictionEntropyLogger: the model's outputs leave [0, 1] (min {low:.3g}, max {high:.3g}) "
                f"but from_logits=False reads them as probabilities; no entropy is logged from them. "
                f"Pass from_logits=True (or LossMonitor(from_logits=True)) if the model outputs logits",
                UserWarning,
                stacklevel=2,
            )

    def on_epoch_end(self, epoch, logs=None):
        step = self.epoch_step(epoch)
        self.log_training_entropy(step, logs or {})
        if self._data is not None and (epoch + 1) % self.every_n_epochs == 0:
            self.log_held_out(step, *self.held_out_entropy())

    def log_training_entropy(self, step, logs):
        """Write run `train`'s entropy from the compiled `PredictionEntropy`'s value in `logs`."""
        if self._train_metric is None:
            self._train_metric = self._find_metric(logs)
        if self._train_metric is not None and self._train_metric[0] in logs:
            key, normalized, from_logits = self._train_metric
            if self._logit_outputs and not from_logits:
                return
            tag = summaries.entropy_tag("normalized" if normalized else "mean", self.output)
            self.log.write_scalars(summaries.TRAIN, step, {tag: logs[key]})

    def log_held_out(self, step, mean, normalized, sample):
        """Write run `validation`'s entropy/mean, entropy/normalized and entropy/per_example
        (nothing when the outputs are logits read as probabilities: `from_logits=False` on a
        linear last layer)."""
        if self._logit_outputs and not self.from_logits:
            return
        self.log.write_scalars(
            summaries.VALIDATION,
            step,
            {
                summaries.entropy_tag("mean", self.output): mean,
                summaries.entropy_tag("normalized", self.output): normalized,
            },
        )
        self.log.write_histogram(
            summaries.VALIDATION, summaries.entropy_tag("per_example", self.output), sample, step
        )
