"""`LoggingCallback`: what the three kerasloss callbacks share.

- the log_dir is checked at construction and again at `on_train_begin` (an error naming it);
- writers come from `summaries.open_log_dir` (one per run, shared), held from `on_train_begin` to
  `on_train_end` and released when the callback is garbage-collected (Keras skips `on_train_end`
  when `fit` raises; every write is already flushed, so nothing is lost in between);
- the custom-scalars layout and the hparams record are written once per log_dir, at the first
  `on_epoch_begin`: Keras runs every callback's `on_train_begin` before any `on_epoch_begin`, so by
  then each callback on the log_dir has registered its metric tags (`hparams_metrics`) with the
  shared `LogDir`, whatever the order of the callbacks list;
- the epoch step: Keras' epoch index (so `initial_epoch` is honoured), shifted forward only when
  that index would go back over steps already written in this log_dir by an earlier `fit`.
"""

import weakref

import keras

from kerasloss.callbacks import dashboards, summaries


class LoggingCallback(keras.callbacks.Callback):
    """Base of the kerasloss callbacks; subclasses write through `self.log`."""

    def __init__(self, log_dir):
        super().__init__()
        summaries.check_writable(log_dir)
        self.log_dir = log_dir
        self.log = None
        self._next_epoch_at_begin = 0
        self._epoch_offset = None
        self._finalizer = None

    def hparams_metrics(self):
        """[(run, tag, display name)]: the tags this callback writes that the HParams table lists."""
        return []

    def _setup(self):
        """Per-fit preparation of a subclass, at `on_train_begin` (errors here stop `fit` early)."""

    def on_train_begin(self, logs=None):
        summaries.check_writable(self.log_dir)
        self.log = summaries.open_log_dir(self.log_dir)
        holder = id(self)
        self.log.acquire(holder)
        if self._finalizer is None or not self._finalizer.alive:
            self._finalizer = weakref.finalize(self, self.log.release, holder)
        self._next_epoch_at_begin = self.log.next_epoch
        self._epoch_offset = None
        self._setup()
        self.log.add_hparams_metrics(self.hparams_metrics())

    def on_epoch_begin(self, epoch, logs=None):
        if self._epoch_offset is None:
            self._epoch_offset = max(0, self._next_epoch_at_begin - epoch)
            dashboards.write_once(self.log, self.model)

    def epoch_step(self, epoch):
        """The TensorBoard step of Keras epoch `epoch` in this fit (see the module docstring)."""
        if self._epoch_offset is None:
            self.on_epoch_begin(epoch)
        return epoch + self._epoch_offset

    def on_train_end(self, logs=None):
        if self._finalizer is not None:
            self._finalizer()
