"""`PredictionEntropyLogger`: how sure the model is, on held-out data and during training.

Every `every_n_epochs` epochs (step = epoch), one inference pass over `data`, run `validation`:

    entropy/mean         = mean_i H(x_i)                  H = `kerasloss.prediction_entropy`, nats
                           (Σ_i w_i H(x_i) / Σ_i w_i when `data` is (x, y, sample_weight))
    entropy/normalized   = entropy/mean / log K           (log 2 for kind="binary")
    entropy/per_example  = histogram of H(x_i) over the first `histogram_size` examples

Run `train` gets `entropy/mean` (or `entropy/normalized` if the metric normalizes) from the
`PredictionEntropy` metric when it is compiled in (`loss_components(loss, entropy=True)`), at no cost:
the loss computes it in its own pass.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from kerasloss import _checks
from kerasloss.callbacks import summaries
from kerasloss.callbacks._base import LoggingCallback
from kerasloss.callbacks._heldout import as_dataset, inference, split
from kerasloss.callbacks._model_info import log_prefix, output_losses
from kerasloss.entropy import KINDS, entropy_scale, prediction_entropy
from kerasloss.metrics import PredictionEntropy


class PredictionEntropyLogger(LoggingCallback):
    """Writes the entropy of the model's predictions to TensorBoard.

    Args:
        log_dir: the TensorBoard log directory.
        data: held-out inputs x, (x, y) or (x, y, sample_weight), or a batched `tf.data.Dataset` of
            those (labels are not used; sample weights weight `entropy/mean`).
        from_logits: whether the model outputs logits (else probabilities).
        kind: "categorical" (softmax over the last axis) or "binary" (sigmoid outputs).
        every_n_epochs: evaluate at the end of every n-th epoch.
        output: for a multi-output model, the name of the output to use (tags get `<output>/`).
        batch_size: batch size for NumPy `data`.
        histogram_size: at most this many per-example entropies go into the histogram.
    """

    def __init__(self, log_dir, data, from_logits=False, kind="categorical", every_n_epochs=1, *,
                 output=None, batch_size=256, histogram_size=4096):
        super().__init__(log_dir)
        self.kind = _checks.check_choice("kind", kind, KINDS)
        self.from_logits = bool(from_logits)
        self.every_n_epochs = _checks.check_int_at_least("every_n_epochs", every_n_epochs, 1)
        if output is not None and not isinstance(output, str):
            raise TypeError(f"output must be the name of one of the model's outputs or None, got {output!r}")
        self.output = output
        self.histogram_size = _checks.check_int_at_least("histogram_size", histogram_size, 1)
        self._data = as_dataset(data, batch_size)
        self._predict = self._predict_model = None

    def hparams_metrics(self):
        return [(summaries.VALIDATION, summaries.entropy_tag("mean", self.output), "held-out entropy")]

    def _setup(self):
        names = list(getattr(self.model, "output_names", None) or [])
        if self.output is None and len(names) > 1:
            raise ValueError(
                f"output must name one of the model's outputs {names} for a multi-output model, got None"
            )
        if self.output is not None and self.output not in names:
            raise ValueError(f"output must be one of {names}, got {self.output!r}")
        if self._predict is None or self._predict_model is not self.model:
            # kept across fits: a new tf.function would be traced again at every fit
            self._predict, self._predict_model = self._entropy_pass(), self.model
        self._train_metric = self._find_metric()

    def _find_metric(self):
        """(logs key, normalize) of the compiled `PredictionEntropy`, or None."""
        for output, loss, _ in output_losses(self.model):
            if self.output is not None and output != self.output:
                continue
            for metric in getattr(loss, "attached_metrics", ()):
                if isinstance(metric, PredictionEntropy):
                    return f"{log_prefix(output)}{metric.name}", metric.normalize
        return None

    def _select(self, y_pred):
        if isinstance(y_pred, dict):
            return y_pred[self.output]
        if isinstance(y_pred, (list, tuple)):
            return y_pred[list(self.model.output_names).index(self.output)]
        return y_pred

    def _entropy_pass(self):
        """A `tf.function`: x -> (per-example entropy, number of classes), one inference pass."""
        predict = inference(self.model)

        def entropy(x):
            y_pred = self._select(predict(x))
            return prediction_entropy(y_pred, self.from_logits, self.kind), ops.shape(y_pred)[-1]

        return tf.function(entropy, reduce_retracing=True)

    def held_out_entropy(self):
        """(mean entropy, normalized mean, bounded sample of per-example entropies) on `data`.

        The mean is weighted by `sample_weight` when `data` has one; the sample is not.
        """
        total, count, kept, sample, classes = 0.0, 0.0, 0, [], None
        for batch in self._data:
            x, _, weight = split(batch)
            h, classes = self._predict(x)
            h = np.asarray(ops.convert_to_numpy(h), dtype=np.float64)
            if weight is None:
                weight = np.ones_like(h)
            else:  # (batch,) weights over (batch, ...) entropies, as Keras weights a loss
                weight = np.asarray(ops.convert_to_numpy(weight), dtype=np.float64)
                weight = np.broadcast_to(weight.reshape(weight.shape + (1,) * (h.ndim - weight.ndim)), h.shape)
            total += float((weight * h).sum())
            count += float(weight.sum())
            h = h.reshape(-1)
            if kept < self.histogram_size:
                sample.append(h[: self.histogram_size - kept])
                kept += len(sample[-1])
        mean = total / count if count else float("nan")
        sample = np.concatenate(sample) if sample else np.zeros((0,))
        return mean, mean / entropy_scale(self.kind, int(classes or 2)), sample

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = self.epoch_step(epoch)
        if self._train_metric is not None and self._train_metric[0] in logs:
            key, normalized = self._train_metric
            tag = summaries.entropy_tag("normalized" if normalized else "mean", self.output)
            self.log.write_scalars(summaries.TRAIN, step, {tag: logs[key]})
        if (epoch + 1) % self.every_n_epochs:
            return
        mean, normalized, sample = self.held_out_entropy()
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
