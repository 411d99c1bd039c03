"""Loss components, entropy and post-hoc metrics from a custom `tf.distribute` training loop.

TensorFlow only: `CustomLoopLogger` is built on `tf.distribute` (sync-on-read metric state,
`strategy.run`) and stays TensorFlow-specific, whatever `KERAS_BACKEND` says. The callbacks
(`kerasloss.callbacks`) are backend-neutral; on JAX, `fit` under `keras.distribution.DataParallel`
is the multi-device route (docs/distributed.md).

Keras 3's `fit` does not run under `MultiWorkerMirroredStrategy` (keras-team/keras#20585), so
multi-worker users train with `strategy.run`. `CustomLoopLogger` gives such a loop what the
callbacks give `fit`: the same runs (`<log_dir>/train`, `/validation`, `/posthoc`) and the same tags
(`loss/total`, `loss/<component>`, `loss/regularization`, `entropy/mean`, `metrics/<name>`).

How the numbers are made (see docs/distributed.md):

- The loss feeds the logger's metrics from its own call, on every replica (no second pass). Their
  state is `sync_on_read` with SUM aggregation, so reading it outside `strategy.run` adds every
  replica of every worker: an epoch value is Σ_replicas Σ_batches n·value / Σ n, the mean Keras'
  `fit` logs.
- Reading is a collective operation under `MultiWorkerMirroredStrategy`: every worker must call
  `write_epoch` / `evaluate_posthoc` at the same points. Only the chief writes, through the
  callbacks' writer module (`kerasloss.callbacks.summaries`: shared writers, flushed on every write,
  the same fault handling); the other workers open no writer and create no file.

Example (inside `strategy.scope()` for the model, optimizer, loss and logger):

    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    logger = CustomLoopLogger(loss, "runs/mw", entropy=True)

    @tf.function
    def train_step(x, y):
        def step(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                value = loss(y, logits)              # scaled per replica, logged on the way
                value += logger.regularization(model.losses, tf.shape(x)[0])
            grads = tape.gradient(value, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        strategy.run(step, args=(x, y))

    for epoch in range(epochs):
        for x, y in distributed_dataset:
            train_step(x, y)
        logger.write_epoch(epoch)                    # on every worker; the chief writes
    logger.close()
"""

import keras
import tensorflow as tf
from keras import ops

from kerasloss import _call_results
from kerasloss._chief import is_chief
from kerasloss._keras_compat import scale_loss_for_distribution
from kerasloss.base import ComponentLoss
from kerasloss.callbacks import summaries
from kerasloss.metrics import LossValue, PredictionEntropy, loss_components

RUNS = (summaries.TRAIN, summaries.VALIDATION)


class CustomLoopLogger:
    """Logs a kerasloss loss's components (and entropy) from a `strategy.run` training loop.

    Construct it inside `strategy.scope()` (or pass `strategy`), after the loss. Each call of the
    loss inside `strategy.run` then accumulates, per replica, the loss total, every component and
    (with `entropy=True`) the prediction entropy, from the loss's own pass. `write_epoch` reduces
    them over all replicas and workers, writes them from the chief only, and resets them.

    Args:
        loss: the kerasloss loss the loop calls (one logger per loss object: the loss feeds it).
        log_dir: the directory holding the runs, as for the callbacks.
        run: "train" (default) or "validation": the run the epoch values go to.
        entropy: also log `entropy/mean` (classification losses).
        normalize_entropy: log that entropy divided by log K (or log 2), as `entropy/normalized`.
        strategy: the strategy; default: the one in scope now.

    Tags (the callbacks' scheme): `loss/total`, `loss/<component>` for each component of the loss,
    `loss/regularization` when `regularization` was used, `entropy/mean`; `metrics/<name>` in run
    `posthoc` from `evaluate_posthoc`. Step = the epoch given to `write_epoch`.
    """

    def __init__(self, loss, log_dir, run="train", entropy=False, normalize_entropy=False,
                 strategy=None):
        if not isinstance(loss, ComponentLoss):
            raise TypeError(
                f"loss must be a kerasloss loss (e.g. kerasloss.SparseCategoricalCrossentropy), "
                f"got {type(loss).__name__}"
            )
        if run not in RUNS:
            raise ValueError(f"run must be one of {RUNS}, got {run!r}")
        if log_dir is None or str(log_dir) == "":
            raise ValueError(f"log_dir must name a directory, got {log_dir!r}")
        self.loss, self.log_dir, self.run = loss, str(log_dir), run
        self.strategy = strategy or tf.distribute.get_strategy()
        self.chief = is_chief(self.strategy)
        with self.strategy.scope():
            self._total = LossValue(loss, name=summaries.loss_tag(summaries.TOTAL))
            self._metrics = loss_components(loss, entropy=entropy,
                                            normalize_entropy=normalize_entropy)
            self._regularization = keras.metrics.Mean(name=summaries.loss_tag(summaries.REGULARIZATION))
        _call_results.subscribe(loss, self._record)
        if self.chief:
            summaries.check_writable(self.log_dir)
        self._used_regularization = False
        self._posthoc = {}

    # -- inside strategy.run ---------------------------------------------------------------------

    def _record(self, result, y_pred):
        """Accumulate one call of the loss (its own values: no second pass)."""
        for metric in [self._total, *self._metrics]:
            metric.record(result, y_pred)

    def regularization(self, losses, batch_size):
        """Σ `losses` scaled for this replica (add it to the loss), logged as `loss/regularization`.

        Call it in the replica function, once per step, with the replica's batch size; Keras' `fit`
        scales regularization the same way, so the logged `loss/total` includes it.
        """
        self._used_regularization = True
        losses = list(losses)
        if not losses:
            return ops.cast(0.0, "float32")
        value = ops.sum(ops.stack([ops.cast(l, "float32") for l in losses]))
        batch = ops.cast(batch_size, "float32")
        self._regularization.update_state(value, sample_weight=batch)
        # the same examples already count in the total's weight, from the loss's own call
        self._total.accumulate(value * batch, 0.0)
        return scale_loss_for_distribution(value)

    # -- outside strategy.run, on every worker ---------------------------------------------------

    def results(self):
        """Tag -> float epoch value so far, reduced over every replica and worker (collective)."""
        values = {self._total.name: self._total.result()}
        for metric in self._metrics:
            if isinstance(metric, PredictionEntropy):
                tag = summaries.entropy_tag("normalized" if metric.normalize else "mean")
            else:
                tag = metric.name
            values[tag] = metric.result()
        if self._used_regularization:
            values[self._regularization.name] = self._regularization.result()
        return {tag: float(value) for tag, value in values.items()}

    def write_epoch(self, epoch):
        """Write this epoch's values at step `epoch` (chief only), reset them, and return them.

        Call it on every worker at the same point: the cross-worker reduction is collective.
        """
        values = self.results()
        self._write(self.run, values, int(epoch))
        for metric in [self._total, self._regularization, *self._metrics]:
            metric.reset_state()
        return values

    def evaluate_posthoc(self, model, data, metrics, epoch):
        """Evaluate Keras `metrics` of `model` on held-out `data`, written as `metrics/<name>`.

        `data` is a `tf.data.Dataset` of `(x, y)` global batches; it is distributed over the
        replicas (and sharded over workers), and the metrics' states are summed across them.
        Call it on every worker. Nothing here runs inside a training step. Returns name -> value.
        """
        names = [metric.name for metric in metrics]
        key = tuple(names)
        if key not in self._posthoc:
            with self.strategy.scope():
                clones = [type(m).from_config(m.get_config()) for m in metrics]

            @tf.function
            def update(x, y):
                def replica_fn(x, y):
                    y_pred = model(x, training=False)
                    for metric in clones:
                        metric.update_state(y, y_pred)

                self.strategy.run(replica_fn, args=(x, y))

            self._posthoc[key] = (clones, update)
        clones, update = self._posthoc[key]
        for metric in clones:
            metric.reset_state()
        for x, y in self.strategy.experimental_distribute_dataset(data):
            update(x, y)
        results = {name: summaries.metric_result(m) for name, m in zip(names, clones)}
        self._write(summaries.POSTHOC, summaries.metric_scalars(results), epoch)
        return results

    def _write(self, run, values, step):
        if self.chief:
            summaries.write_scalars(self.log_dir, run, int(step), values)

    def close(self):
        """Close this log_dir's writers (every value is on disk after each write anyway)."""
        if self.chief:
            summaries.close(self.log_dir)


__all__ = ["CustomLoopLogger", "is_chief"]
