"""`ExampleLedger`: which examples make the loss: the hardest examples and likely label errors, from
the training run itself.

Every `every`-th epoch (and at train end unless that epoch was just evaluated) one inference pass
over `data` (Keras' compiled predict function, batch by batch, in `data`'s own order whatever the
training's shuffling) records per example its loss under the compiled loss (unreduced), and for a
classifier its margin, the confidence in its assigned label and whether it is predicted; running
statistics over the evaluated epochs (`_ledger_stats`, O(N) memory) give:

    aum          = mean over epochs of margin = z_y - max_{j != y} z_j        (Pleiss et al., 2020)
    mean_loss    = mean over epochs of the per-example loss
    confidence   = mean over epochs of softmax(z)_y, variability its standard deviation,
    correctness  = the fraction of epochs predicted right              (Swayamdipta et al., 2020)

Mislabeled examples keep a low, usually negative, AUM: `suspects(k)` lists the k lowest; with
k=None an automatic cut (`_ledger_stats.mixture_cut`). The compiled loss may be Keras' own (a name
or object; a cross-entropy gives margins); one without classes is ranked by mean loss, highest first.

Written at each evaluation (chief process only):
    run train               ledger/mean_margin, ledger/negative_margin_fraction (this epoch's
                            margins on `data`; `<output>/` prefix for `output=`)
    the log_dir's own run   the ledger record (`summary_v2.ledger_pb`): the top_k rows with their
                            per-epoch loss and margin (at most 100 evaluated epochs, evenly
                            spaced: a record stays O(top_k) however long the run), and up to
                            5,000 cartography points
    <log_dir>/ledger[.<output>].npz   the whole ledger, read back by `ExampleLedger.load(log_dir)`
                            (and the save before it, `.npz.previous`)

A resumed fit (`keras.callbacks.BackupAndRestore`, `initial_epoch`) continues the statistics of the
evaluations before the epoch it resumes at, from memory or from those two saves (`_resume`); a new
ledger's fit from epoch 0 keeps another fit's ledger file found in log_dir as `.npz.before-<step>`.

Example:
>>> ledger = kerasloss.callbacks.ExampleLedger("runs/a", (x_train, y_train))
>>> model.fit(x_train, y_train, epochs=30, callbacks=[ledger])
>>> ledger.suspects()["id"]          # likely label errors, lowest AUM first
"""

import csv
import os
import warnings

import google_crc32c
import keras
import numpy as np
from tensorboard.compat import tf  # TensorFlow's gfile when installed, else TensorBoard's stub

from kerasloss import _checks
from kerasloss._chief import is_chief
from kerasloss.callbacks import _ledger_files, summaries
from kerasloss.callbacks._base import LoggingCallback
from kerasloss.callbacks._heldout import HeldOut, predict, to_numpy
from kerasloss.callbacks._ledger_record import ledger_record
from kerasloss.callbacks._ledger_stats import (
    SIGNALS,
    RunningStats,
    assigned_labels,
    batch_signals,
    hardest,
    mixture_cut,
    signal_kind,
    table_rows,
)
from kerasloss.callbacks._model_info import (
    check_output,
    classification_settings,
    compile_entry,
    compiled_loss_object,
    select_output,
)
from kerasloss.callbacks._schedule import HeldOutSchedule
from kerasloss_tensorboard.summary_v2 import ledger_pb

_SORTS = {  # sort key -> (field, hardest first when ascending?)
    "aum": ("aum", True),
    "mean_loss": ("mean_loss", False),
    "confidence": ("confidence", True),
    "variability": ("variability", False),
    "correctness": ("correctness", True),
}
_CHUNK_ELEMENTS = 2**20  # output values per compiled signals call (4 MiB of float32)


class ExampleLedger(LoggingCallback):
    """Per-example training dynamics: AUM, dataset cartography, per-example loss.

    Args:
        log_dir: the TensorBoard log directory.
        data: `(x, y)` arrays, or a batched `tf.data.Dataset`, `keras.utils.PyDataset` or DataLoader
            of `(x, y)` in a fixed order (see `_heldout`): the training data or a fixed sample of it.
            Sample weights, if `data` has them, are not used: every value is per example, unweighted.
            Array labels are copied at train begin: the ledger follows them as they were then.
        ids: one id per example (ints or strings); None: the position in `data`.
        every: evaluate at the end of every `every`-th epoch (and at train end).
        batch_size: batch size for array `data` (None: 256).
        output: for a multi-output model, the name of the output (and its loss) to follow.
        top_k: how many of the hardest examples keep per-epoch values and go to TensorBoard.
    """

    def __init__(self, log_dir, data, ids=None, every=1, batch_size=None, output=None, top_k=100):
        super().__init__(log_dir)
        self.every = _checks.check_int_at_least("every", every, 1)
        self.top_k = _checks.check_int_at_least("top_k", top_k, 1)
        if output is not None and not isinstance(output, str):
            raise TypeError(f"output must be the name of one of the model's outputs or None, got {output!r}")
        self.output = output
        self._data = HeldOut(data, 256 if batch_size is None else batch_size)
        self._given_ids = _checks.check_ids(ids)
        self.ids = None
        self.stats = None
        self._signals = self._kind = self._classes = None
        self._schedule = HeldOutSchedule()

    # -- setup ---------------------------------------------------------------------------------
    def _setup(self):
        """Resolve the output and its loss, read the labels once, check ids and the first batch."""
        self._schedule.reset()
        check_output(self.model, self.output)
        compiled = compile_entry(self.model, self.output)
        if compiled is None:
            raise ValueError("ExampleLedger follows the compiled loss: compile the model with one (loss=...)")
        first = self._data.first()
        if first is None:
            raise ValueError("data holds no example: ExampleLedger needs (x, y) to follow")
        x, y, _ = first
        if y is None:
            raise ValueError(
                "data must hold labels, (x, y): ExampleLedger follows each example's loss, got inputs only"
            )
        y_pred = self._select(predict(self.model, x))
        loss = compiled_loss_object(compiled, self._select(y), y_pred)
        settings = classification_settings(loss)
        self._kind = signal_kind(settings, np.shape(y_pred))
        self._classes = np.shape(y_pred)[-1]
        self._signals = batch_signals(loss, self._kind, bool(settings and settings[0]))
        try:
            self._signals(self._select(y), self._batch_labels(y), y_pred)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"data's labels cannot be taken by the compiled loss {loss.name!r}: {err}"
            ) from None
        given = self._data.array_labels()
        # array data's labels, a copy: each chunk of a pass takes its slice, with nothing to check
        self._array_y = None if given is None else np.array(self._select(given))
        labels = self._all_labels()
        count = len(labels) if labels is not None else self._count()
        self.ids = self._ids(count)
        if self.stats is None or self.stats.size != count:
            self.stats = RunningStats(count, labels, self.top_k)
        self._label_fingerprints = {}  # chunk start -> (shape, dtype, CRC-32C) of its checked labels

    def _select(self, value):
        return select_output(value, self.model, self.output)

    def _batch_labels(self, y):
        """The assigned label of each example of one batch of labels `y` (zeros without classes)."""
        y = np.asarray(self._select(y))
        if self._kind is None:
            return np.zeros(len(y), np.int64)
        return assigned_labels(y, self._kind, self._classes)

    def _all_labels(self):
        """The assigned labels of every example (one pass reading `data`, no prediction)."""
        if self._kind is None:
            return None
        if self._array_y is not None:
            return assigned_labels(self._array_y, self._kind, self._classes)
        return np.concatenate([self._batch_labels(y) for _, y, _ in self._data])

    def _count(self):
        if self._array_y is not None:
            return len(self._array_y)
        return sum(len(keras.tree.flatten(self._select(y))[0]) for _, y, _ in self._data)

    def _ids(self, count):
        if self._given_ids is None:
            return np.arange(count)
        if len(self._given_ids) != count:
            raise ValueError(
                f"ids must hold one id per example of data ({count}), got {len(self._given_ids)} ids"
            )
        return self._given_ids

    # -- evaluation ----------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        if self._schedule.epoch_ended(epoch, self.every):
            self.record(epoch)

    def on_train_end(self, logs=None):
        try:
            pending = self._schedule.pending_at_train_end()
            if pending is not None:
                self.record(pending)
        finally:
            super().on_train_end(logs)

    def _pass(self):
        """(S, N) float32 signals of one inference pass over `data`, in its order (row s: `SIGNALS[s]`).

        Batches are predicted one by one; their labels and outputs are gathered into chunks of about
        `_CHUNK_ELEMENTS` output values, and each chunk is checked and its signals computed in one
        compiled call, so that the per-call costs (a small model's predict step is as short as a
        dispatch) are paid per chunk, not per batch. Array data's labels are not gathered: a chunk
        takes its slice of the copy made at train begin.
        """
        parts, pending, pending_size, start = [], [], 0, 0
        for x, y, _ in self._data:
            y_pred = to_numpy(self._select(predict(self.model, x)))
            pending.append((None if self._array_y is not None else np.asarray(self._select(y)), y_pred))
            pending_size += y_pred.size
            if pending_size >= _CHUNK_ELEMENTS:
                parts.append(self._chunk_signals(pending, start))
                start += parts[-1].shape[1]
                pending, pending_size = [], 0
        if pending:
            parts.append(self._chunk_signals(pending, start))
            start += parts[-1].shape[1]
        if start != self.stats.size:
            raise ValueError(
                f"data must hold the same examples at every pass: {self.stats.size} before, now {start}"
            )
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def _chunk_signals(self, batches, start):
        """The (S, B) signals of the examples from position `start` on, from their (labels, outputs)
        batches, once their labels are checked against the first pass's (array data: the labels'
        slice of the copy, unchecked; its outputs alone are gathered)."""
        outputs = [batch[1] for batch in batches]
        y_pred = outputs[0] if len(outputs) == 1 else np.concatenate(outputs)
        if self._array_y is None:
            y = batches[0][0] if len(batches) == 1 else np.concatenate([batch[0] for batch in batches])
            labels = self._chunk_labels(y, start)
        else:
            y = self._array_y[start:start + len(y_pred)]
            labels = self.stats.labels[start:start + len(y)] if self.stats.classifier else self._batch_labels(y)
        return self._signals(y, labels, y_pred)

    def _chunk_labels(self, y, start):
        """The assigned labels of one chunk's labels `y` (examples from `start` on), which must be
        the first pass's. A chunk whose raw labels hash (CRC-32C, google-crc32c: 0.8 µs where zlib's
        CRC-32 took 4.3 µs on N = 1,257 labels) as they did at the pass that last checked them takes
        the known labels as they are: no label decoding and no comparison (about 45 µs of the 0.3 ms
        a pass spent on bookkeeping at N = 1,257)."""
        known = self.stats.labels
        if known is None:  # no classes: nothing to follow by label
            return self._batch_labels(y)
        numeric = y.dtype.kind in "biuf"
        fingerprint = (y.shape, y.dtype.str, google_crc32c.value(np.ascontiguousarray(y))) if numeric else None
        labels = known[start:start + len(y)]
        if numeric and self._label_fingerprints.get(start) == fingerprint:
            return labels
        if not np.array_equal(self._batch_labels(y), labels):
            raise ValueError(
                "data must yield its examples in a fixed order (the ledger follows each one across "
                "epochs), but its labels changed between passes; do not shuffle the ledger's data"
            )
        self._label_fingerprints[start] = fingerprint
        return labels

    def record(self, epoch):
        """Run the ledger's pass now, as at the end of Keras epoch `epoch`, and write it out."""
        signals = self._pass()
        step = self.epoch_step(epoch)
        self.stats.update(step, signals)
        if self.stats.classifier:
            margin = signals[SIGNALS.index("margin")]
            self.log.write_scalars(summaries.TRAIN, step, {
                summaries.ledger_tag("mean_margin", self.output): float(np.mean(margin)),
                summaries.ledger_tag("negative_margin_fraction", self.output): float(np.mean(margin < 0)),
            })
        record = ledger_record(self.stats, self.ids, self.output)
        self.log.write_raw(summaries.ROOT, step, [ledger_pb(record, self.output).SerializeToString()])
        self._schedule.evaluated(epoch)
        if is_chief():
            self._save()

    # -- reading -------------------------------------------------------------------------------
    def table(self, sort="aum", k=None):
        """The rows (id, label, predicted, aum, mean_loss, confidence, variability, correctness),
        hardest first by `sort` ("aum" lowest first; "mean_loss" highest; "confidence" lowest;
        "variability" highest; "correctness" lowest; "id": data order), the first k (None: all).

        Without classes, label and predicted are -1 and the class columns NaN; sort="aum" then
        ranks by mean_loss.
        """
        if sort != "id" and sort not in _SORTS:
            raise ValueError(f"sort must be one of {('id',) + tuple(_SORTS)}, got {sort!r}")
        k = _checks.check_int_or_none("k", k)
        stats = self._stats()
        fields = stats.fields()
        if sort == "id":
            order = np.arange(stats.size)[:k]
        else:
            field, ascending = _SORTS[sort]
            if not stats.classifier and field in ("aum", "confidence", "correctness"):
                field, ascending = "mean_loss", False
            score = fields[field] if ascending else -fields[field]
            order = hardest(score, stats.size if k is None else k)
        return table_rows(self.ids, fields, order)

    def suspects(self, k=None):
        """Likely label errors, lowest AUM first: the k lowest, or with k=None those below the
        automatic cut (`_ledger_stats.mixture_cut`). Rows as `table`."""
        stats = self._stats()
        if not stats.classifier:
            raise ValueError(
                "suspects need margins, i.e. a classification loss; rank by loss with table(sort='mean_loss')"
            )
        if k is None:
            order = hardest(stats.aum(), int(mixture_cut(stats.aum()).sum()))
        else:
            order = hardest(stats.aum(), _checks.check_int_at_least("k", k, 0))
        return table_rows(self.ids, stats.fields(), order)

    def to_csv(self, path, sort="aum"):
        """Write `table(sort)` as CSV (a header row, then one row per example)."""
        rows = self.table(sort)
        with tf.io.gfile.GFile(os.fspath(path), "w") as f:
            writer = csv.writer(f)
            writer.writerow(rows.dtype.names)
            for row in rows.tolist():
                writer.writerow(row)

    def _stats(self):
        if self.stats is None or not self.stats.epochs:
            raise ValueError(
                "the ledger is empty: pass it to model.fit(callbacks=[...]) or read one with "
                "ExampleLedger.load(log_dir)"
            )
        return self.stats

    # -- saving and resuming ---------------------------------------------------------------------
    def _state_of_examples(self):
        """What a save holds beside the statistics: the ids, labels and top_k it follows."""
        labels = self.stats.labels if self.stats.classifier else np.zeros((0,), np.int64)
        return {"ids": np.asarray(self.ids), "labels": labels, "top_k": self.top_k}

    def _state(self):
        return {**self._state_of_examples(), **self.stats.state()}

    def _save(self):
        """Write the whole ledger to `<log_dir>/ledger[.<output>].npz`, atomically (`_ledger_files`)."""
        _ledger_files.save(self.log_dir, self.output, self._state())

    def on_epoch_begin(self, epoch, logs=None):
        first = self._offsets is None
        super().on_epoch_begin(epoch, logs)
        if first and epoch > 0:  # a resumed fit (BackupAndRestore, initial_epoch)
            self._resume(self.epoch_step(epoch))
        elif first and not self.stats.epochs and is_chief():  # a new ledger's first fit from epoch 0
            # another fit's ledger in this log_dir (its steps end before this fit's first) is kept
            _ledger_files.set_aside(self.log_dir, self.output, f"before-{self.epoch_step(epoch)}")

    def _resume(self, step):
        """Continue from the evaluations before `step` (the resumed epoch's): those in memory, else
        the newest save on disk that holds none at `step` or later and follows the same examples
        (`_ledger_files`). When none does (backups further apart than the ledger's evaluations, or
        another data set's ledger), the statistics start over with a warning, and the last save is
        kept as `<name>.before-<step>`: nothing is counted twice, and nothing written is lost."""
        if self.stats.epochs and self.stats.epochs[-1] < step:
            return
        saves = _ledger_files.saved(self.log_dir, self.output)
        ours = self._state_of_examples()
        for state in saves:
            same = all(np.array_equal(state[key], ours[key]) for key in ("ids", "labels", "top_k"))
            if same and np.shape(state.get("sums"))[1:] == (self.stats.size,) and np.all(state["epochs"] < step):
                self.stats = RunningStats.from_state(self.stats.labels, self.top_k, state)
                return
        if self.stats.epochs or saves:
            warnings.warn(
                f"ExampleLedger: the fit resumes at step {step}, but no ledger saved in {self.log_dir!r} "
                f"ends before it for these examples; its statistics start over at step {step} (a last "
                f"save is kept as {_ledger_files.file_name(self.output)}.before-{step})",
                stacklevel=2,
            )
            if is_chief():
                _ledger_files.set_aside(self.log_dir, self.output, f"before-{step}")
            self.stats = RunningStats(self.stats.size, self.stats.labels, self.top_k)

    @classmethod
    def load(cls, log_dir, output=None):
        """The ledger a fit wrote into `log_dir` (for `output`), with `table`, `suspects`, `to_csv`."""
        saves = _ledger_files.saved(log_dir, output)
        if not saves:
            raise ValueError(
                f"log_dir {log_dir!r} holds no ledger ({_ledger_files.file_name(output)}); pass the log_dir "
                f"an ExampleLedger wrote (and its output=)"
            )
        state = saves[0]
        ledger = cls.__new__(cls)
        keras.callbacks.Callback.__init__(ledger)
        ledger.log_dir, ledger.output, ledger.top_k = log_dir, output, int(state.pop("top_k"))
        ledger.ids = state.pop("ids")
        labels = state.pop("labels")
        ledger.stats = RunningStats.from_state(labels if labels.size else None, ledger.top_k, state)
        return ledger
