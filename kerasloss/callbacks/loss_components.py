"""`LossComponentLogger`: the training loss and its components, per epoch (and every N batches).

Per epoch, at step = epoch, run `train` from the fit logs and run `validation` from the `val_` logs:

    loss/total           = logs["loss"]  (Keras' batch-size-weighted epoch mean, regularization included)
    loss/<component>     = logs["loss/<component>"]  (`kerasloss.metrics.loss_components`)
    loss/regularization  = loss/total − Σ_k w_k · loss/<component>          (additive loss)
                         = loss/total − loss/<loss.name>                    (RMSE: `LossValue` metric)
                         = loss/total − Σ_o λ_o · logs["<o>_loss"]           (multi-output, λ = loss_weights)
      only when the model has regularization losses (absent, not 0, otherwise); it is the epoch
      mean of the regularization term that entered each step's loss, because every term above is
      weighted by batch size exactly as Keras weights `loss`.

Multi-output models prefix each output's tags: `<o>/loss/total` (logs["<o>_loss"]) and
`<o>/loss/<component>`. With an integer `update_freq`, `batch/`-prefixed copies of the train tags
every N optimizer steps, at step = the optimizer's iteration count (it continues across `fit` calls);
their values are Keras' running means since the epoch began. Epoch values are written whatever N is.
"""

import warnings

from kerasloss.callbacks import summaries
from kerasloss.callbacks._base import LoggingCallback
from kerasloss.callbacks._model_info import global_step, has_regularization, log_prefix, output_losses

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
        self._batch_offset = 0
        self._warned_missing = False

    def _setup(self):
        self._outputs = output_losses(self.model)
        self._regularized = has_regularization(self.model)
        first_step = global_step(self.model) + 1
        self._batch_offset = max(0, self.log.next_batch - first_step)

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
        found_all = True
        multi = len(self._outputs) > 1 or self._outputs[0][0] is not None
        for output, loss, loss_weight in self._outputs:
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
            elif getattr(loss, "additive", False) and components and (
                len(components) == len(loss.component_weights)
            ):
                compiled += sum(loss.component_weights[k] * float(v) for k, v in components.items())
            elif value_key in logs:
                compiled += float(logs[value_key])
            else:
                found_all = False
        if self._regularized and found_all:
            values[summaries.loss_tag(summaries.REGULARIZATION)] = float(logs[f"{prefix}loss"]) - compiled
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
    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or not logs:
            return
        step = global_step(self.model)
        if step % self.update_freq:
            return
        values = self._loss_values(logs)
        values.pop(summaries.loss_tag(summaries.REGULARIZATION), None)
        self._check_metrics(values)
        batch_values = {f"{summaries.BATCH_PREFIX}{tag}": value for tag, value in values.items()}
        self.log.write_scalars(summaries.TRAIN, step + self._batch_offset, batch_values)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = self.epoch_step(epoch)
        train = self._loss_values(logs)
        self._check_metrics(train)
        self.log.write_scalars(summaries.TRAIN, step, train)
        self.log.write_scalars(summaries.VALIDATION, step, self._loss_values(logs, "val_"))
