"""`LossComponentLogger`: the training loss and its components, per epoch (and every N batches).

Per epoch, at step = epoch, run `train` from the fit logs and run `validation` from the `val_` logs:

    loss/total           = logs["loss"]  (Keras' batch-size-weighted epoch mean, regularization included)
    loss/<component>     = logs["loss/<component>"]  (`kerasloss.metrics.loss_components`)
    diagnostics/<name>   = logs["diagnostics/<name>"]  (`loss_components(loss, diagnostics=True)`)
    loss/regularization  = loss/total − Σ_k w_k · loss/<component>          (additive loss)
                         = loss/total − loss/<loss.name>                    (RMSE: `LossValue` metric)
                         = loss/total − Σ_o λ_o · logs["<o>_loss"]           (multi-output, λ = loss_weights)
      (Σ over a single output's terms times its loss weight λ) only when the model has
      regularization losses (absent, not 0, otherwise); it is the epoch mean of the regularization
      term that entered each step's loss, because every term above is weighted by batch size as
      Keras weights `loss` (except a multi-output model's `<o>_loss` on TensorFlow, which Keras
      averages over batches unweighted: `_keras_compat.output_losses_weighted_by_batch_size`; with
      a partial last batch the difference is then not only regularization). Regularizers are seen
      on the model (weight and activity regularizers; `add_loss` terms in `model.losses`, which
      exist once the model has run), or, where a backend keeps no `model.losses` (JAX's stateless
      steps), from the numbers: from the first epoch whose difference exceeds 1e-5 · |loss/total|
      (float32 rounding: ~1e-7), where the terms are weighted as `loss` is.

Multi-output models prefix each output's tags: `<o>/loss/total` (logs["<o>_loss"]; where only one
output has a loss Keras logs none, and it is that output's λ-free terms as above),
`<o>/loss/<component>`, `<o>/diagnostics/<name>`. With an integer `update_freq`, `batch/`-prefixed
copies of the train loss tags whenever the optimizer's iteration count crosses a multiple of N (with
`steps_per_execution=k`, Keras reports every k steps: a point at each report that passed a multiple),
at step = the iteration count (it continues across `fit` calls); their values are Keras' running
means since the epoch began. Epoch values are written whatever N is.
"""

import warnings

from kerasloss._keras_compat import output_losses_weighted_by_batch_size
from kerasloss.callbacks import summaries
from kerasloss.callbacks._base import LoggingCallback
from kerasloss.callbacks._model_info import (
    global_step,
    has_regularization,
    log_prefix,
    output_losses,
)

_ROUNDING = 1e-5  # relative; float32 rounding of loss/total minus the compiled terms is ~1e-7

_HOW_TO = (
    "compile the model with the component metrics, e.g. "
    "loss = kerasloss.SparseCategoricalCrossentropy(...); "
    "model.compile(optimizer, loss=loss, metrics=kerasloss.metrics.loss_components(loss))"
)


class LossComponentLogger(LoggingCallback):
    """Writes `loss/total`, `loss/<component>` and `loss/regularization` to TensorBoard.

    Args:
        log_dir: the TensorBoard log directory (runs `train` and `validation` are written in it).
        update_freq: "epoch", or an int N to also write `batch/loss/...` every N training steps.
    """

    def __init__(self, log_dir, update_freq="epoch"):
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(f"update_freq must be 'epoch' or a positive int, got {update_freq!r}")
        super().__init__(log_dir)
        self.update_freq = update_freq
        self._warned_missing = False
        self._regularized = False
        self._epoch_start = self._last_reported = 0

    def _setup(self):
        self._outputs = output_losses(self.model)
        self._regularized = has_regularization(self.model)

    def hparams_metrics(self):
        tag = summaries.loss_tag(summaries.TOTAL)
        return [(run, tag, f"{run} loss") for run in (summaries.TRAIN, summaries.VALIDATION)]

    # -- from logs to tags ---------------------------------------------------------------------
    def _loss_values(self, logs, prefix=""):
        """{tag: value} of the loss tags found in `logs` (keys prefixed `prefix`, e.g. "val_")."""
        if f"{prefix}loss" not in logs:
            return {}
        values = {summaries.loss_tag(summaries.TOTAL): logs[f"{prefix}loss"]}
        compiled = 0.0
        lossed = [entry for entry in self._outputs if entry[1] is not None]
        found_all = bool(lossed)
        multi = len(lossed) > 1  # Keras logs `<o>_loss` only when more than one output has a loss
        for output, loss, loss_weight in lossed:
            key = f"{prefix}{log_prefix(output)}loss"
            components = {}
            for name in getattr(loss, "component_weights", {}):
                if f"{key}/{name}" in logs:
                    components[name] = logs[f"{key}/{name}"]
            for name, value in components.items():
                values[summaries.loss_tag(name, output)] = value
            value_key = f"{key}/{getattr(loss, 'name', '')}"
            if value_key in logs and value_key.split("/")[-1] not in components:
                values[summaries.loss_tag(loss.name, output)] = logs[value_key]
            if multi:
                if key in logs:
                    values[summaries.loss_tag(summaries.TOTAL, output)] = logs[key]
                    compiled += loss_weight * float(logs[key])
                else:
                    found_all = False
                continue
            if getattr(loss, "additive", False) and components and len(components) == len(loss.component_weights):
                term = sum(loss.component_weights[k] * float(v) for k, v in components.items())
            elif value_key in logs:
                term = float(logs[value_key])
            else:
                found_all = False
                continue
            compiled += loss_weight * term
            if output is not None:  # the only loss of a multi-output model: Keras logs no `<o>_loss`
                values[summaries.loss_tag(summaries.TOTAL, output)] = term
        if found_all:
            total = float(logs[f"{prefix}loss"])
            regularization = total - compiled
            weighted_as_loss = not multi or output_losses_weighted_by_batch_size()
            if weighted_as_loss and not prefix and abs(regularization) > _ROUNDING * abs(total):
                self._regularized = True
            if self._regularized:
                values[summaries.loss_tag(summaries.REGULARIZATION)] = regularization
        return values

    @staticmethod
    def _diagnostics(logs, prefix, outputs):
        """{tag: value} of `[<o>_]diagnostics/<name>` metrics in `logs` (keys prefixed `prefix`)."""
        values = {}
        for output in outputs:
            start = f"{prefix}{log_prefix(output)}{summaries.DIAGNOSTICS_PREFIX}"
            for key, value in logs.items():
                if key.startswith(start):
                    name = key[len(start):]
                    values[summaries.diagnostic_tag(name, output)] = value
        return values

    def _check_metrics(self, values):
        if self._warned_missing:
            return
        names = {tag.rsplit("/", 1)[-1] for tag in values} - {summaries.TOTAL, summaries.REGULARIZATION}
        if not names:
            self._warned_missing = True
            warnings.warn(
                f"LossComponentLogger found no loss component metrics in the fit logs; only "
                f"loss/total is logged. To log the components, {_HOW_TO}",
                UserWarning,
                stacklevel=3,
            )

    # -- hooks ---------------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._epoch_start = self._last_reported = global_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        # Keras passes the index of the last batch of the execution (steps_per_execution): the
        # iteration count is known without reading the optimizer (a state sync on JAX)
        if self.update_freq == "epoch" or not logs:
            return
        step, previous = self._epoch_start + batch + 1, self._last_reported
        self._last_reported = step
        if step // self.update_freq == previous // self.update_freq:
            return
        values = self._loss_values(logs)
        values.pop(summaries.loss_tag(summaries.REGULARIZATION), None)
        self._check_metrics(values)
        batch_values = {f"{summaries.BATCH_PREFIX}{tag}": value for tag, value in values.items()}
        self.log.write_scalars(summaries.TRAIN, self.batch_step(step), batch_values)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = self.epoch_step(epoch)
        self._regularized = self._regularized or has_regularization(self.model)
        outputs = [output for output, _, _ in self._outputs]
        if len(outputs) > 1:
            outputs = [None] + outputs
        train = self._loss_values(logs)
        self._check_metrics(train)
        train.update(self._diagnostics(logs, "", outputs))
        validation = self._loss_values(logs, "val_")
        if validation:
            validation.update(self._diagnostics(logs, "val_", outputs))
        self.log.write_scalars(summaries.TRAIN, step, train)
        self.log.write_scalars(summaries.VALIDATION, step, validation)
