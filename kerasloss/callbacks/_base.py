"""`LoggingCallback`: what the three kerasloss callbacks share.

- the log_dir is checked at construction and again at `on_train_begin` (an error naming it);
- writers come from `summaries.open_log_dir` (one per run, shared), held from `on_train_begin` to
  `on_train_end` and released when the callback is garbage-collected (Keras skips `on_train_end`
  when `fit` raises; every write is already flushed, so nothing is lost in between);
- the custom-scalars layout and the hparams record are written once per log_dir, at the first
  `on_epoch_begin`: Keras runs every callback's `on_train_begin` before any `on_epoch_begin`, so by
  then each callback on the log_dir has registered its metric tags (`hparams_metrics`) with the
  shared `LogDir`, whatever the order of the callbacks list;
- the steps, fixed at the first `on_epoch_begin` of each fit (after every `on_train_begin`, so after
  `keras.callbacks.BackupAndRestore` restored the model and its optimizer):
  * a fit that starts at epoch 0 into a log_dir without epoch values of kerasloss: step = epoch,
    batch step = optimizer iteration;
  * a fit that starts at epoch 0 into a log_dir holding kerasloss epoch values (a second `fit`, or
    a new model in a new process): both steps continue after the last ones written, so two fits
    one after another keep distinct, continuous steps;
  * either way the fit's two offsets are kept in `<log_dir>/kerasloss_steps.json`;
  * a fit that `BackupAndRestore` resumes at epoch e continues the steps of the last fit begun at
    epoch 0 there: step = epoch + its epoch offset, batch step = iteration + its batch offset (0
    when none is kept), so a second training's resume leaves the first training's steps alone;
  * a fit given `initial_epoch=e > 0`: step = epoch, batch step = optimizer iteration, as Keras'
    `TensorBoard` callback counts them;
  * in the last two cases values kerasloss wrote earlier at the fit's steps or later (epoch and
    batch steps from the fit's first ones on) are removed from the event files first
    (`LogDir.supersede`): a process killed after its last backup logged them, and the resumed fit
    logs those steps again, so each step ends up holding exactly one value (not two for
    TensorBoard to choose from).
  Only kerasloss' own event files count (never Keras' `TensorBoard` files in the same log_dir).
  A log_dir deleted since this process last wrote it starts afresh (`LogDir.start_over_if_removed`):
  steps from 0, and its own record written again.
"""

import weakref

import keras

from kerasloss.callbacks import dashboards, summaries
from kerasloss.callbacks._model_info import global_step, restored_epoch, warn_logits_as_probabilities


class LoggingCallback(keras.callbacks.Callback):
    """Base of the kerasloss callbacks; subclasses write through `self.log`."""

    def __init__(self, log_dir):
        super().__init__()
        summaries.check_writable(log_dir)
        self.log_dir = log_dir
        self.log = None
        self._on_disk_at_begin = (0, 0)
        self._offsets = None
        self._finalizer = None

    def hparams_metrics(self):
        """[(run, tag, display name)]: the tags this callback writes that the HParams table lists."""
        return []

    def _setup(self):
        """Per-fit preparation of a subclass, at `on_train_begin` (errors here stop `fit` early)."""

    def on_train_begin(self, logs=None):
        summaries.check_writable(self.log_dir)
        self.log = summaries.open_log_dir(self.log_dir)
        self.log.start_over_if_removed()
        holder = id(self)
        self.log.acquire(holder)
        if self._finalizer is None or not self._finalizer.alive:
            self._finalizer = weakref.finalize(self, self.log.release, holder)
        self._on_disk_at_begin = (self.log.next_epoch, self.log.next_batch)
        self._offsets = None
        self._setup()
        warn_logits_as_probabilities(self.model)
        self.log.add_hparams_metrics(self.hparams_metrics())

    def on_epoch_begin(self, epoch, logs=None):
        if self._offsets is None:
            self._offsets = self._step_offsets(epoch)
            dashboards.write_once(self.log, self.model)

    def _step_offsets(self, first_epoch):
        """(epoch offset, batch offset) of this fit (see the module docstring)."""
        next_epoch, next_batch = self._on_disk_at_begin
        iteration = global_step(self.model)
        restored = restored_epoch(self.model) is not None
        if restored or first_epoch > 0:  # BackupAndRestore resumed a fit: its offsets; initial_epoch: step = epoch
            offsets = self.log.fit_offsets() if restored else (0, 0)
            self.log.supersede(first_epoch + offsets[0], iteration + offsets[1])
            return offsets
        if next_epoch > 0:
            offsets = (next_epoch, max(0, next_batch - (iteration + 1)))
        else:
            self.log.supersede(0, iteration)
            offsets = (0, 0)
        self.log.note_fit_offsets(offsets)
        return offsets

    def epoch_step(self, epoch):
        """The TensorBoard step of Keras epoch `epoch` in this fit (see the module docstring)."""
        if self._offsets is None:
            self.on_epoch_begin(epoch)
        return epoch + self._offsets[0]

    def batch_step(self, iteration):
        """The TensorBoard step of optimizer iteration `iteration` in this fit."""
        return iteration + self._offsets[1]

    def on_train_end(self, logs=None):
        if self._finalizer is not None:
            self._finalizer()
