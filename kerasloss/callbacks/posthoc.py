"""`PostHocMetrics`: judge the model on held-out data, outside the training step.

At the end of every `every_n_epochs`-th epoch and always at train end (unless that epoch was just
evaluated), one inference pass over `(x, y)` updates the given Keras metrics (reset first); run
`posthoc` gets `metrics/<metric.name>` at step = epoch (a vector result, e.g. `F1Score` without
`average`, gives `metrics/<name>/<i>` per entry). `.results` holds the last values. Nothing is added
to the training step: the metrics are not compiled into the model.
"""

import keras
import numpy as np
import tensorflow as tf

from kerasloss.callbacks import summaries
from kerasloss.callbacks._base import LoggingCallback
from kerasloss.callbacks._heldout import as_dataset, inference, split


class PostHocMetrics(LoggingCallback):
    """Evaluates Keras metrics on held-out data at chosen epoch ends and at train end.

    Args:
        log_dir: the TensorBoard log directory (run `posthoc`).
        data: `(x, y)` (or `(x, y, sample_weight)`) NumPy data, or a batched `tf.data.Dataset` of
            `(x, y[, sample_weight])`.
        metrics: Keras metrics (instances or names, e.g. `keras.metrics.F1Score(average="macro")`).
        every_n_epochs: also evaluate at the end of every n-th epoch (0: only at train end).
        batch_size: batch size for NumPy `data`.

    Attributes:
        results: {metric name: float (or list of floats for vector metrics)} from the last evaluation.
    """

    def __init__(self, log_dir, data, metrics, every_n_epochs=1, *, batch_size=256):
        super().__init__(log_dir)
        if isinstance(metrics, (keras.metrics.Metric, str)):
            metrics = [metrics]
        if not metrics:
            raise ValueError(f"metrics must name at least one Keras metric, got {metrics!r}")
        self.metrics = [keras.metrics.get(m) if isinstance(m, str) else m for m in metrics]
        for metric in self.metrics:
            if not isinstance(metric, keras.metrics.Metric):
                raise TypeError(f"metrics must be keras.metrics.Metric instances, got {metric!r}")
        if isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, int) or every_n_epochs < 0:
            raise ValueError(f"every_n_epochs must be a non-negative int, got {every_n_epochs!r}")
        self.every_n_epochs = every_n_epochs
        self._data = as_dataset(data, batch_size)
        self.results = {}
        self._update = self._update_model = None
        self._last_epoch = None
        self._evaluated_epoch = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._update is None or self._update_model is not self.model:
            # kept across fits: a new tf.function would be traced again at every fit
            self._update, self._update_model = self._update_pass(), self.model
        self._last_epoch = self._evaluated_epoch = None

    def _update_pass(self):
        predict = inference(self.model)

        def update(x, y, sample_weight):
            y_pred = predict(x)
            for metric in self.metrics:
                metric.update_state(y, y_pred, sample_weight=sample_weight)

        return tf.function(update, reduce_retracing=True)

    def evaluate(self):
        """Run every metric over `data`; returns and stores `{name: value}` in `.results`."""
        for metric in self.metrics:
            metric.reset_state()
        for batch in self._data:
            x, y = split(batch)
            if y is None:
                raise ValueError("PostHocMetrics needs labels: data must be (x, y) or yield (x, y)")
            weight = batch[2] if isinstance(batch, tuple) and len(batch) > 2 else None
            self._update(x, y, weight)
        results = {}
        for metric in self.metrics:
            value = np.asarray(keras.ops.convert_to_numpy(metric.result()), dtype=np.float64)
            results[metric.name] = float(value) if value.size == 1 else value.reshape(-1).tolist()
        self.results = results
        return results

    def _log(self, epoch):
        results = self.evaluate()
        values = {}
        for name, value in results.items():
            if isinstance(value, list):
                values.update({f"{summaries.metric_tag(name)}/{i}": v for i, v in enumerate(value)})
            else:
                values[summaries.metric_tag(name)] = value
        self.log.write_scalars(summaries.POSTHOC, self.epoch_step(epoch), values)
        self._evaluated_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            self._log(epoch)

    def on_train_end(self, logs=None):
        try:
            if self._last_epoch is not None and self._evaluated_epoch != self._last_epoch:
                self._log(self._last_epoch)
        finally:
            super().on_train_end(logs)
