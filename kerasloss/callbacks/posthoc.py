"""`PostHocMetrics`: judge the model on held-out data, outside the training step.

At the end of every `every_n_epochs`-th epoch and always at train end (unless that epoch was just
evaluated), one inference pass over `(x, y[, sample_weight])` (Keras' compiled predict function,
batch by batch, on any backend; inside `LossMonitor` on `fit`'s own validation_data, Keras'
evaluation instead, see `LossMonitor`) updates the given Keras metrics (reset first; `sample_weight`
goes to their `update_state`); run `posthoc` gets `metrics/<metric.name>` at step = epoch (a vector
result, e.g. `F1Score` without `average`, gives `metrics/<name>/<i>` per entry). `.results` holds
the last values. Nothing is added to the training step: the metrics are not compiled into the
model. At train begin one batch is evaluated once to check the labels, resolve metric names as
`compile(metrics=[...])` does (`"accuracy"` is binary, sparse or categorical accuracy by the shapes
of y and the outputs) and learn the result sizes (the HParams record lists every `metrics/` tag).

With `from_logits=True` the outputs are turned into probabilities first:

    y_prob = softmax(y_pred) over the last axis   (kind="categorical")
    y_prob = sigmoid(y_pred)                       (kind="binary")

Without it, outputs outside [0, 1] given to a metric that thresholds probabilities (accuracy of
binary outputs, precision, recall, AUC, F-scores, confusion counts) give one warning.

A classifier (the judged output has a classification loss) also gets its calibration from the same pass,
unasked: `metrics/ece`, a reliability record and a confidence histogram (`_calibration`; not when
a metric of `metrics` is named "ece").
"""

import functools
import warnings

import keras
import numpy as np

from kerasloss import _checks
from kerasloss.callbacks import summaries
from kerasloss.callbacks._base import LoggingCallback
from kerasloss.callbacks._calibration import HeldOutCalibration
from kerasloss.callbacks._heldout import HeldOut, predict
from kerasloss.callbacks._model_info import check_output, compile_metric, select_output
from kerasloss.callbacks._schedule import HeldOutSchedule
from kerasloss.entropy import KINDS
from kerasloss_tensorboard.metadata import CALIBRATION_METRIC

_ACCURACY_NAMES = ("accuracy", "acc")
# metrics of the class ranking only: a softmax (increasing in every logit) changes none of them
_RANKING_METRICS = (
    keras.metrics.CategoricalAccuracy,
    keras.metrics.SparseCategoricalAccuracy,
    keras.metrics.TopKCategoricalAccuracy,
    keras.metrics.SparseTopKCategoricalAccuracy,
)
_PROBABILITY_METRICS = (
    keras.metrics.BinaryAccuracy,
    keras.metrics.Precision,
    keras.metrics.Recall,
    keras.metrics.AUC,
    keras.metrics.FBetaScore,
    keras.metrics.TruePositives,
    keras.metrics.TrueNegatives,
    keras.metrics.FalsePositives,
    keras.metrics.FalseNegatives,
    keras.metrics.PrecisionAtRecall,
    keras.metrics.RecallAtPrecision,
    keras.metrics.SensitivityAtSpecificity,
    keras.metrics.SpecificityAtSensitivity,
)


class PostHocMetrics(LoggingCallback):
    """Evaluates Keras metrics on held-out data at chosen epoch ends and at train end.

    Args:
        log_dir: the TensorBoard log directory (run `posthoc`).
        data: `(x, y)` or `(x, y, sample_weight)` arrays, or a batched `tf.data.Dataset`,
            `keras.utils.PyDataset` or DataLoader of those (see `_heldout`); the weights go to every
            metric's `update_state`.
        metrics: Keras metrics (instances or names as `compile(metrics=[...])` takes them, e.g.
            `"accuracy"`, `keras.metrics.F1Score(average="macro")`), with distinct names.
        every_n_epochs: also evaluate at the end of every n-th epoch (0: only at train end).
        from_logits: whether the model outputs logits (turned into probabilities, see `kind`).
        kind: "categorical" (softmax over the last axis) or "binary" (sigmoid), for `from_logits`.
        output: for a multi-output model, the name of the output the metrics judge (its labels and
            predictions: an entry of dict data, a position in list data); required there.
        batch_size: batch size for array `data`.
        steps: batches per evaluation (needed for a repeated dataset or an unsized iterable).
        calibration: log a classifier's calibration (metrics/ece, reliability record, confidence
            histogram) from the same pass; False: do not.

    Attributes:
        metrics: the metric instances (names resolved at the first evaluation).
        results: {metric name: float (or list of floats for vector metrics)} from the last evaluation.
        calibration: the classifier's `_calibration.HeldOutCalibration` during `fit`, else None.
    """

    def __init__(self, log_dir, data, metrics, every_n_epochs=1, *, from_logits=False, kind="categorical",
                 output=None, batch_size=256, steps=None, calibration=True):
        super().__init__(log_dir)
        if output is not None and not isinstance(output, str):
            raise TypeError(f"output must be the name of one of the model's outputs or None, got {output!r}")
        self.output = output
        self.metrics = _metric_list(metrics)
        self.every_n_epochs = _checks.check_int_at_least("every_n_epochs", every_n_epochs, 0)
        if not isinstance(from_logits, bool):
            raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
        self.from_logits = from_logits
        self.kind = _checks.check_choice("kind", kind, KINDS)
        self._data = HeldOut(data, batch_size, steps)
        self.results = {}
        self._sizes = None
        self._warned_range = False
        self._schedule = HeldOutSchedule()
        if not isinstance(calibration, bool):
            raise TypeError(f"calibration must be True or False, got {calibration!r}")
        self._calibrate = calibration
        self.calibration = None

    def _setup(self):
        check_output(self.model, self.output)
        if self._calibrate and CALIBRATION_METRIC not in self._names():
            self.calibration = HeldOutCalibration.of(self.model, self.from_logits, self.output)
        if self._sizes is None:
            self._sizes = self._result_sizes()
        self._schedule.reset()

    def hparams_metrics(self):
        tags = []
        for name in self._names():
            tag, size = summaries.metric_tag(name), self._sizes[name]
            if size is None:
                tags.append((tag, name))
            else:
                tags += [(f"{tag}/{i}", f"{name}[{i}]") for i in range(size)]
        if self.calibration is not None:
            tags.append((summaries.metric_tag(CALIBRATION_METRIC), CALIBRATION_METRIC))
        return [(summaries.POSTHOC, tag, f"held-out {name}") for tag, name in tags]

    def _names(self):
        return [metric if isinstance(metric, str) else metric.name for metric in self.metrics]

    def _result_sizes(self):
        """{metric name: None (scalar) or vector length}, from one batch (also checks the labels
        and resolves metric names before the first training step); the metrics are reset after."""
        batch = self._data.first()
        if batch is None:
            raise ValueError("PostHocMetrics needs held-out data: data holds no batch")
        x, y, weight = batch
        self.update_metrics(y, predict(self.model, x), weight)
        sizes = {}
        for metric in self.metrics:
            size = int(np.size(keras.ops.convert_to_numpy(metric.result())))
            sizes[metric.name] = None if size == 1 else size
            metric.reset_state()
        return sizes

    def reset_metrics(self):
        """Start an evaluation: reset every metric."""
        for metric in self.metrics:
            if not isinstance(metric, str):
                metric.reset_state()
        if self.calibration is not None:
            self.calibration.reset()

    def update_metrics(self, y, outputs, sample_weight):
        """Update every metric with one batch: labels `y` and the model's `outputs` on it."""
        if y is None:
            raise ValueError("PostHocMetrics needs labels: data must be (x, y) or yield (x, y)")
        model = self._model  # not `self.model`: on JAX it syncs the model's state, wrong within Keras' test step
        y = select_output(y, model, self.output)
        y_pred = self._probabilities(select_output(outputs, model, self.output))
        self.metrics = [compile_metric(m, y, y_pred) if isinstance(m, str) else m for m in self.metrics]
        self._check_range(y_pred)
        for metric in self.metrics:
            metric.update_state(y, y_pred, sample_weight=sample_weight)
        if self.calibration is not None:
            self.calibration.update(y, select_output(outputs, model, self.output), sample_weight)

    def _probabilities(self, y_pred):
        if not self.from_logits:
            return y_pred
        if self.kind == "binary":
            return keras.ops.convert_to_numpy(keras.ops.sigmoid(y_pred))
        if np.shape(y_pred)[-1] == 1:
            raise ValueError(
                "kind='categorical' takes a softmax over the last axis, which has size 1 here (always 1.0); "
                "pass kind='binary' for a sigmoid output"
            )
        if all(isinstance(m, _RANKING_METRICS) for m in self.metrics):
            return y_pred  # the softmax, a pass over every output, would change no result
        return keras.ops.convert_to_numpy(keras.ops.softmax(y_pred, axis=-1))

    def _check_range(self, y_pred):
        if self.from_logits or self._warned_range:
            return
        thresholded = [m.name for m in self.metrics if isinstance(m, _PROBABILITY_METRICS)]
        if not thresholded:  # nothing to warn about: no copy of the outputs to the host
            return
        values = np.asarray(y_pred)
        if values.size and (values.min() < 0.0 or values.max() > 1.0):
            self._warned_range = True
            warnings.warn(
                f"PostHocMetrics: the model's outputs leave [0, 1] (min {values.min():.3g}, max "
                f"{values.max():.3g}) but {thresholded} expect probabilities; if the model outputs "
                f"logits, pass from_logits=True (and kind='binary' for sigmoid outputs)",
                UserWarning,
                stacklevel=2,
            )

    def evaluate(self):
        """Run every metric over `data`; returns and stores `{name: value}` in `.results`.

        Works before `fit` too (a baseline), once the callback has a model (`set_model(model)`).
        """
        if self.model is None:
            raise ValueError(
                "PostHocMetrics.evaluate() needs a model: pass the callback to model.fit(callbacks=[...]) "
                "or call set_model(model) first"
            )
        check_output(self.model, self.output)
        self.reset_metrics()
        for x, y, weight in self._data:
            self.update_metrics(y, predict(self.model, x), weight)
        return self.collect_results()

    def collect_results(self):
        """End an evaluation: store and return `{name: value}` in `.results`."""
        self.results = {metric.name: summaries.metric_result(metric) for metric in self.metrics}
        if self.calibration is not None:
            self.results[CALIBRATION_METRIC] = summaries.metric_result(self.calibration.metric)
        return self.results

    def write_results(self, epoch):
        """Write `.results` to run `posthoc` at Keras epoch `epoch`'s step."""
        self.log.write_scalars(summaries.POSTHOC, self.epoch_step(epoch), summaries.metric_scalars(self.results))
        if self.calibration is not None:
            self.calibration.write(self.log, self.epoch_step(epoch))
        self._schedule.evaluated(epoch)

    def _log(self, epoch):
        self.evaluate()
        self.write_results(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self._schedule.epoch_ended(epoch, self.every_n_epochs):
            self._log(epoch)

    def on_train_end(self, logs=None):
        self._schedule.finish(self._log, functools.partial(super().on_train_end, logs))


def _metric_list(metrics):
    """`metrics` (a metric, a name, or a sequence of those) as a list of metric instances and names
    (names are resolved against the model's outputs at the first evaluation, as compile does)."""
    if isinstance(metrics, (keras.metrics.Metric, str)):
        metrics = [metrics]
    if isinstance(metrics, dict) or not isinstance(metrics, (list, tuple)):
        raise TypeError(f"metrics must be a Keras metric or a list of them, got {metrics!r}")
    if not metrics:
        raise ValueError(f"metrics must name at least one Keras metric, got {metrics!r}")
    for metric in metrics:
        if isinstance(metric, str):
            if metric.lower() in _ACCURACY_NAMES:
                continue
            try:
                keras.metrics.get(metric)
            except ValueError:
                raise ValueError(f"metrics must name Keras metrics, got the unknown name {metric!r}") from None
        elif not isinstance(metric, keras.metrics.Metric):
            raise TypeError(f"metrics must be keras.metrics.Metric instances, got {metric!r}")
    names = [metric if isinstance(metric, str) else metric.name for metric in metrics]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"metrics must have distinct names (their results and tags are keyed by name), got "
            f"{duplicates} more than once; pass name=... to tell them apart"
        )
    return list(metrics)
