"""`LossMonitor`: the whole kerasloss dashboard from one line in `callbacks=[...]`.

It bundles the three callbacks behind one `log_dir` and one held-out data argument:

    LossComponentLogger      loss/total, loss/<component>, loss/regularization (train, validation)
    PredictionEntropyLogger  entropy/mean, entropy/normalized, entropy/per_example on the held-out
                             data (when the model is a classifier), entropy/mean of the training
                             steps (from the compiled `PredictionEntropy`, when there is one)
    PostHocMetrics           metrics/<name> of `metrics` on the held-out data

and writes exactly what they write (same runs, tags and steps). Entropy, post-hoc metrics and
calibration come from ONE prediction pass over the held-out data, at the end of every
`every_n_epochs`-th epoch and at train end (unless that epoch was just evaluated): each batch is
predicted once and feeds all three. When the held-out data is `fit`'s validation_data (the same
arrays, or the same dataset, PyDataset or DataLoader) and Keras evaluates it that epoch, that pass
is Keras' own evaluation (`_validation_pass`): the callback predicts nothing itself, and Keras' logs
are unchanged. Otherwise (other data, an epoch `validation_freq` skips, `validation_steps`,
`steps_per_execution` > 1, distributed evaluation) it predicts the data itself at epoch end.

`from_logits` (and the entropy's kind) are read from the compiled classification loss unless
given (`_model_info.classification_settings`: a kerasloss loss's `entropy_settings`, or Keras' own
cross-entropies, by object, name or bare function as `compile` resolves them, "crossentropy"/"ce"
by the output's width): a model compiled with
`kerasloss.SparseCategoricalCrossentropy(from_logits=True)`, or Keras' own, gets softmax entropies
and metrics on softmax probabilities. A model whose loss is no classification loss (a regression
loss) gets no entropy tags.

Example:
>>> loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
>>> model.compile("adam", loss=loss, metrics=kerasloss.metrics.loss_components(loss, entropy=True))
>>> model.fit(x, y, validation_data=(x_val, y_val), epochs=10,
...           callbacks=[kerasloss.callbacks.LossMonitor("runs/a", (x_val, y_val), ["accuracy"])])
"""

import keras

from kerasloss import _checks
from kerasloss.callbacks import summaries
from kerasloss.callbacks._heldout import HeldOut, predict
from kerasloss.callbacks._model_info import loss_entropy_settings
from kerasloss.callbacks._schedule import HeldOutSchedule, is_due
from kerasloss.callbacks._validation_pass import KerasValidationPass
from kerasloss.callbacks.loss_components import LossComponentLogger
from kerasloss.callbacks.posthoc import PostHocMetrics
from kerasloss.callbacks.prediction_entropy import HeldOutEntropy, PredictionEntropyLogger
from kerasloss.entropy import KINDS


class LossMonitor(keras.callbacks.Callback):
    """Loss components, prediction entropy and held-out metrics in one TensorBoard log_dir.

    `batch_size`, `steps`, `histogram_size`: as in `PredictionEntropyLogger`.

    Args:
        log_dir: the TensorBoard log directory (runs `train`, `validation`, `posthoc`).
        validation_data: held-out data for the entropy and the metrics: x, (x, y) or
            (x, y, sample_weight) arrays, or a batched `tf.data.Dataset`, `keras.utils.PyDataset`
            or DataLoader of those (as `PostHocMetrics` takes them). None: loss components (and the
            training entropy) only.
        metrics: Keras metrics (instances or names as `compile(metrics=[...])` takes them) to
            evaluate on `validation_data`, which must then hold labels. None: no post-hoc metrics.
        from_logits: whether the model outputs logits; None reads it from the compiled
            classification loss (a model without one gets no entropy, and metrics see the raw
            outputs).
        update_freq: "epoch", or an int N to also write `batch/loss/...` every N training steps.
        every_n_epochs: the held-out pass runs at the end of every n-th epoch (and at train end);
            from Keras' evaluation of that epoch when validation_data is `fit`'s.
        kind: "categorical" or "binary" (sigmoid outputs); None reads it from the loss, else
            "categorical".
        output: for a multi-output model, the output whose entropy is logged and whose labels and
            predictions the post-hoc metrics judge (as in `PredictionEntropyLogger`, `PostHocMetrics`).

    Attributes:
        components, entropy, posthoc: the bundled callbacks (posthoc is None without `metrics`).
    """

    def __init__(self, log_dir, validation_data=None, metrics=None, from_logits=None, update_freq="epoch",
                 every_n_epochs=1, *, kind=None, output=None, batch_size=256, steps=None, histogram_size=4096):
        super().__init__()
        if from_logits is not None and not isinstance(from_logits, bool):
            raise TypeError(f"from_logits must be True, False or None (read from the loss), got {from_logits!r}")
        self._from_logits = from_logits
        self._kind = None if kind is None else _checks.check_choice("kind", kind, KINDS)
        self.every_n_epochs = _checks.check_int_at_least("every_n_epochs", every_n_epochs, 1)
        self._data = None
        if validation_data is not None:
            self._data = HeldOut(validation_data, batch_size, steps, name="validation_data")
        if metrics is not None:
            _check_labels(self._data, metrics)
        self.components = LossComponentLogger(log_dir, update_freq)
        self.entropy = PredictionEntropyLogger(
            log_dir, None, kind=self._kind, every_n_epochs=self.every_n_epochs, output=output,
            histogram_size=histogram_size,
        )
        self.posthoc = None
        if metrics is not None:
            self.posthoc = PostHocMetrics(log_dir, validation_data, metrics, every_n_epochs=self.every_n_epochs,
                                          output=output, batch_size=batch_size, steps=steps)
        self._held_out_entropy = False
        self._schedule = HeldOutSchedule()
        self._keras_pass = KerasValidationPass(self._update)
        self._entropy_totals = None
        self._epoch = self._shared_epoch = None

    @property
    def parts(self):
        """The bundled callbacks, in the order their hooks run."""
        return [part for part in (self.components, self.entropy, self.posthoc) if part is not None]

    def set_model(self, model):
        super().set_model(model)
        for part in self.parts:
            part.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for part in self.parts:
            part.set_params(params)

    def _settings(self):
        """(from_logits, kind, logs entropy?) for this model: the arguments, else the loss's."""
        settings = loss_entropy_settings(self.model, self.entropy.output)
        from_logits = self._from_logits
        if from_logits is None:
            from_logits = bool(settings[0]) if settings else False
        kind = self._kind or (settings[1] if settings else "categorical")
        return from_logits, kind, settings is not None or self._from_logits is not None

    def on_train_begin(self, logs=None):
        from_logits, kind, classifier = self._settings()
        self.entropy.from_logits, self.entropy.kind = from_logits, kind
        self._held_out_entropy = self._data is not None and classifier
        if self.posthoc is not None:
            self.posthoc.from_logits, self.posthoc.kind = from_logits, kind
        self._schedule.reset()
        self._keras_pass.close()
        self._epoch = self._shared_epoch = None
        for part in self.parts:
            part.on_train_begin(logs)
        if self._held_out_entropy:  # the bundled logger has no data of its own to announce
            tag = summaries.entropy_tag("mean", self.entropy.output)
            self.entropy.log.add_hparams_metrics([(summaries.VALIDATION, tag, "held-out entropy")])

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        for part in self.parts:
            part.on_epoch_begin(epoch, logs)

    def on_test_begin(self, logs=None):
        if self._epoch is not None and self._logs_held_out() and self._due(self._epoch):
            if self._keras_pass.begin(self.model, self._data):
                self._start_pass()

    def on_test_batch_begin(self, batch, logs=None):
        self._keras_pass.arm()

    def on_test_end(self, logs=None):
        if self._keras_pass.end():
            self._shared_epoch = self._epoch

    def _due(self, epoch):
        """Whether `epoch`'s held-out pass will run: an n-th epoch, or the last one `fit` asked for
        (its pass runs at train end; not with an EMA optimizer, whose train end swaps the weights)."""
        last = epoch + 1 == self.params.get("epochs") and not getattr(self.model.optimizer, "use_ema", False)
        return is_due(epoch, self.every_n_epochs) or last

    def on_train_batch_end(self, batch, logs=None):
        self.components.on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.components.on_epoch_end(epoch, logs)
        step = self.entropy.epoch_step(epoch)
        self.entropy.log_training_entropy(step, logs or {})
        if self._schedule.epoch_ended(epoch, self.every_n_epochs):
            self._held_out(epoch)

    def on_train_end(self, logs=None):
        def finish():
            self._keras_pass.close()
            self._epoch = None
            for part in self.parts:
                part.on_train_end(logs)

        self._schedule.finish(self._held_out, finish)

    def _logs_held_out(self):
        return self._data is not None and (self._held_out_entropy or self.posthoc is not None)

    def _start_pass(self):
        if self.posthoc is not None:
            self.posthoc.reset_metrics()
        self._entropy_totals = HeldOutEntropy(self.entropy) if self._held_out_entropy else None

    def _update(self, y, outputs, sample_weight):
        """One held-out batch, from Keras' evaluation or the callback's own pass."""
        if self.posthoc is not None:
            self.posthoc.update_metrics(y, outputs, sample_weight)
        if self._entropy_totals is not None:
            self._entropy_totals.add(outputs, sample_weight)

    def _held_out(self, epoch):
        """Write the entropy and the metrics of `epoch`: from Keras' evaluation when it fed every
        batch of the held-out data that epoch, else from one prediction pass over it."""
        if not self._logs_held_out():
            return
        if self._shared_epoch != epoch:
            self._start_pass()
            for x, y, weight in self._data:
                self._update(y, predict(self.model, x), weight)
        self._shared_epoch = None
        if self._entropy_totals is not None:
            self.entropy.log_held_out(self.entropy.epoch_step(epoch), *self._entropy_totals.result())
        if self.posthoc is not None:
            self.posthoc.collect_results()
            self.posthoc.write_results(epoch)
        self._schedule.evaluated(epoch)


def _check_labels(data, metrics):
    """Refuse `metrics` without held-out labels (when the data shows them: arrays, first batch)."""
    if data is None:
        raise ValueError(
            f"metrics need held-out data with labels: pass validation_data=(x_val, y_val) "
            f"with metrics={metrics!r}, got validation_data=None"
        )
    first = data.first()
    if first is not None and first[1] is None:
        raise ValueError(
            f"validation_data must hold labels, (x, y) or (x, y, sample_weight), for metrics={metrics!r}; "
            f"got inputs only"
        )
