"""`PostHocMetrics`: judge the model on held-out data, outside the training step.

At the end of every `every_n_epochs`-th epoch and always at train end (unless that epoch was just
evaluated), one inference pass over `(x, y[, sample_weight])` updates the given Keras metrics
(reset first; `sample_weight` goes to their `update_state`); run `posthoc` gets
`metrics/<metric.name>` at step = epoch (a vector result, e.g. `F1Score` without `average`, gives
`metrics/<name>/<i>` per entry). `.results` holds the last values. Nothing is added to the training
step: the metrics are not compiled into the model. At train begin one batch is evaluated once to
check the labels and learn the result sizes (the HParams record lists every `metrics/` tag).
"""

import keras
import numpy as np
import tensorflow as tf

from kerasloss import _checks
from kerasloss.callbacks import summaries
from kerasloss.callbacks._base import LoggingCallback
from kerasloss.callbacks._heldout import as_dataset, inference, split


class PostHocMetrics(LoggingCallback):
    """Evaluates Keras metrics on held-out data at chosen epoch ends and at train end.

    Args:
        log_dir: the TensorBoard log directory (run `posthoc`).
        data: `(x, y)` or `(x, y, sample_weight)` NumPy data, or a batched `tf.data.Dataset` of
            `(x, y[, sample_weight])`; the weights go to every metric's `update_state`.
        metrics: Keras metrics (instances or names, e.g. `keras.metrics.F1Score(average="macro")`),
            with distinct names.
        every_n_epochs: also evaluate at the end of every n-th epoch (0: only at train end).
        batch_size: batch size for NumPy `data`.

    Attributes:
        results: {metric name: float (or list of floats for vector metrics)} from the last evaluation.
    """

    def __init__(self, log_dir, data, metrics, every_n_epochs=1, *, batch_size=256):
        super().__init__(log_dir)
        self.metrics = _metric_list(metrics)
        self.every_n_epochs = _checks.check_int_at_least("every_n_epochs", every_n_epochs, 0)
        self._data = as_dataset(data, batch_size)
        self.results = {}
        self._update = self._update_model = None
        self._sizes = None
        self._last_epoch = None
        self._evaluated_epoch = None

    def _setup(self):
        if self._update is None or self._update_model is not self.model:
            # kept across fits: a new tf.function would be traced again at every fit
            self._update, self._update_model = self._update_pass(), self.model
            self._sizes = self._result_sizes()
        self._last_epoch = self._evaluated_epoch = None

    def hparams_metrics(self):
        tags = []
        for metric in self.metrics:
            tag, size = summaries.metric_tag(metric.name), self._sizes[metric.name]
            if size is None:
                tags.append((tag, metric.name))
            else:
                tags += [(f"{tag}/{i}", f"{metric.name}[{i}]") for i in range(size)]
        return [(summaries.POSTHOC, tag, f"held-out {name}") for tag, name in tags]

    def _result_sizes(self):
        """{metric name: None (scalar) or vector length}, from one batch (also checks the labels
        before the first training step); the metrics are reset afterwards."""
        seen = False
        for batch in self._data.take(1):
            self._update(*self._batch(batch))
            seen = True
        sizes = {}
        for metric in self.metrics:
            size = int(np.size(keras.ops.convert_to_numpy(metric.result()))) if seen else 1
            sizes[metric.name] = None if size == 1 else size
            metric.reset_state()
        return sizes

    @staticmethod
    def _batch(batch):
        x, y, weight = split(batch)
        if y is None:
            raise ValueError("PostHocMetrics needs labels: data must be (x, y) or yield (x, y)")
        return x, y, weight

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
            self._update(*self._batch(batch))
        self.results = {metric.name: summaries.metric_result(metric) for metric in self.metrics}
        return self.results

    def _log(self, epoch):
        values = summaries.metric_scalars(self.evaluate())
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


def _metric_list(metrics):
    """`metrics` (a metric, a name, or a sequence of those) as a list of Keras metric instances."""
    if isinstance(metrics, (keras.metrics.Metric, str)):
        metrics = [metrics]
    if isinstance(metrics, dict) or not isinstance(metrics, (list, tuple)):
        raise TypeError(f"metrics must be a Keras metric or a list of them, got {metrics!r}")
    if not metrics:
        raise ValueError(f"metrics must name at least one Keras metric, got {metrics!r}")
    out = []
    for metric in metrics:
        if isinstance(metric, str):
            try:
                metric = keras.metrics.get(metric)
            except ValueError:
                raise ValueError(f"metrics must name Keras metrics, got the unknown name {metric!r}") from None
        if not isinstance(metric, keras.metrics.Metric):
            raise TypeError(f"metrics must be keras.metrics.Metric instances, got {metric!r}")
        out.append(metric)
    names = [metric.name for metric in out]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"metrics must have distinct names (their results and tags are keyed by name), got "
            f"{duplicates} more than once; pass name=... to tell them apart"
        )
    return out
