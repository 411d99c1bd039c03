"""The held-out outputs of Keras' own evaluation of `fit`'s validation_data, for a callback whose
held-out data is that very data (`LossMonitor`): it then predicts nothing itself.

Keras evaluates validation_data at the end of each epoch `validation_freq` names and gives
callbacks the mean logs only. While it evaluates, and only when it reads exactly the callback's
data (`HeldOut.kept_by`: the same array objects, the same dataset, PyDataset or DataLoader, the
whole of it), the model's test function is replaced by one that also hands over each batch:

    on_test_begin         (Keras has built its test function) ours takes its place; ours is built
                          once per fit by Keras' `make_test_function(force=True)` around a test
                          step of its own (so `jax.jit` traces it afresh: a jit of the bound
                          `test_step` would reuse the trace of Keras' function)
    each test batch       while ours runs, the model's `compute_metrics` also returns the batch's
                          y, y_pred (the model's outputs) and sample_weight under private keys (read
                          when TensorFlow or JAX trace the step, called at every step on PyTorch);
                          ours pops them before Keras sees the logs, so no val_ log, History,
                          CSVLogger or TensorBoard ever holds them, and feeds
                          `on_batch(y, y_pred, sample_weight)` re-batched, for arrays, into the
                          held-out data's `batch_size` rows: the batches of its own pass (the eager
                          updates cost 3-4x on batches twice as long, and each call has its
                          overhead; the last, shorter batch is fed at on_test_end)
    on_test_end           Keras' function back; the pass counts when every batch was fed and, for
                          arrays, every example

Not shared (the callback then predicts its data itself, as without Keras' pass): other data,
`validation_steps` other than the callback's `steps`, `steps_per_execution` > 1 (Keras returns the
last step's logs only), distributed evaluation, a test step that does not call `compute_metrics`.
A `fit` that raises during an evaluation leaves ours in place: its next call, not preceded by
`arm()` (`on_test_batch_begin` of this fit's evaluation), puts Keras' function back and runs it.
"""

import contextlib

import keras
import numpy as np

from kerasloss.callbacks._model_info import validation_data_of

_Y, _Y_PRED, _SAMPLE_WEIGHT = "_kerasloss_y", "_kerasloss_y_pred", "_kerasloss_sample_weight"


class KerasValidationPass:
    """Feeds `on_batch(y, y_pred, sample_weight)` from the batches of Keras' evaluation of `fit`'s
    validation_data (see the module docstring). `y_pred` is what `_heldout.predict` gives (TensorFlow
    tensors on TensorFlow, NumPy elsewhere); y and sample_weight are NumPy, None where the held-out
    data has none."""

    def __init__(self, on_batch):
        self._on_batch = on_batch
        self._model = self._ours = self._keras = None
        self._keep = None  # (keep y, keep sample_weight) while a pass runs
        self._size = (None, None)  # (examples, batches) of the held-out data, each None when unknown
        self._rows = None  # rows per `on_batch` call (None: Keras' batches as they are)
        self._pending, self._pending_rows = [], 0  # Keras' rows not yet fed
        self._armed = self._missed = False
        self._examples = self._batches = 0

    def begin(self, model, data):
        """At `on_test_begin`: take Keras' test function's place when Keras' evaluation reads
        exactly `data` (a `HeldOut`); True when it does."""
        keep = _kept(model, data)
        if keep is None:
            return False
        if self._model is not model:
            self._model, self._ours = model, _test_function_with_outputs(model)
        self._keras, self._keep, self._size = model.test_function, keep, data.size()
        self._rows = data.batch_size
        self._pending, self._pending_rows = [], 0
        self._armed = self._missed = False
        self._examples = self._batches = 0
        model.test_function = self._test_function
        return True

    def arm(self):
        """At `on_test_batch_begin`: the next call of the test function is this evaluation's."""
        self._armed = self._keep is not None

    def end(self):
        """At `on_test_end`: Keras' test function back. True when the pass fed every batch of the
        held-out data (`HeldOut.size`: its examples or batches, where known)."""
        if self._keep is None:
            return False
        if self._model.test_function == self._test_function:
            self._model.test_function = self._keras
        self._keras, self._keep, self._armed = None, None, False
        examples, batches = self._size
        complete = (
            not self._missed
            and self._batches > 0
            and examples in (None, self._examples)
            and batches in (None, self._batches)
        )
        if complete and self._pending:
            self._on_batch(*_joined(self._pending))
        self._pending, self._pending_rows = [], 0
        return complete

    def close(self):
        """At train end (and at train begin, after a fit that raised): Keras' test function back,
        ours forgotten."""
        self.end()
        self._model = self._ours = None

    def _test_function(self, *args):
        if not self._armed:  # not this fit's evaluation: the fit raised during one
            keras_function = self._keras
            self.end()
            return keras_function(*args)
        self._armed = False
        result = _call_with_outputs(self._model, self._ours, args)
        logs = result[0] if isinstance(result, tuple) else result  # JAX returns (logs, state)
        y, y_pred, weight = (logs.pop(key, None) for key in (_Y, _Y_PRED, _SAMPLE_WEIGHT))
        if y_pred is None:
            self._missed = True
            return result
        keep_y, keep_weight = self._keep
        if keras.backend.backend() != "tensorflow":
            y_pred = keras.tree.map_structure(keras.ops.convert_to_numpy, y_pred)
        rows = int(keras.tree.flatten(y_pred)[0].shape[0])
        self._batches += 1
        self._examples += rows
        self._feed((_numpy(y) if keep_y else None, y_pred, _numpy(weight) if keep_weight else None), rows)
        return result

    def _feed(self, batch, rows):
        """`on_batch` on every full `self._rows` rows of Keras' batches so far (a shorter rest waits)."""
        if self._rows is None:
            self._on_batch(*batch)
            return
        self._pending.append(batch)
        self._pending_rows += rows
        if self._pending_rows < self._rows:
            return
        joined = _joined(self._pending)
        full = self._pending_rows - self._pending_rows % self._rows
        for start in range(0, full, self._rows):
            self._on_batch(*(_rows(part, start, start + self._rows) for part in joined))
        self._pending = [tuple(_rows(part, full, None) for part in joined)] if full < self._pending_rows else []
        self._pending_rows -= full


def _kept(model, data):
    """`HeldOut.kept_by` of the evaluation starting, or None when it is not to be shared."""
    if getattr(model, "steps_per_execution", 1) != 1 or getattr(model, "test_function", None) is None:
        return None
    if keras.distribution.distribution() is not None:
        return None
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is not None and strategy.num_replicas_in_sync != 1:
        return None
    found = validation_data_of(model)
    return None if found is None else data.kept_by(*found)


def _test_function_with_outputs(model):
    """A test function of Keras' making (its compilation, jit_compile, PyTorch's no_grad) around a
    step function of its own; Keras' test function is left in place."""
    keras_function, test_step = model.test_function, model.test_step

    def test_step_with_outputs(*args):
        return test_step(*args)

    try:
        with _set_on(model, "test_step", test_step_with_outputs):
            model.make_test_function(force=True)
        return model.test_function
    finally:
        model.test_function = keras_function


def _call_with_outputs(model, test_function, args):
    """`test_function(*args)` with the model's `compute_metrics` also returning y, y_pred and
    sample_weight."""
    compute_metrics = model.compute_metrics

    def compute_metrics_with_outputs(x, y, y_pred, sample_weight=None):
        logs = dict(compute_metrics(x, y, y_pred, sample_weight))
        logs[_Y_PRED] = y_pred
        for key, value in ((_Y, y), (_SAMPLE_WEIGHT, sample_weight)):
            if value is not None:
                logs[key] = value
        return logs

    with _set_on(model, "compute_metrics", compute_metrics_with_outputs):
        return test_function(*args)


@contextlib.contextmanager
def _set_on(model, name, value):
    """`model.<name> = value` within the block; an attribute the instance had of its own is put back."""
    own, previous = name in vars(model), getattr(model, name)
    setattr(model, name, value)
    try:
        yield
    finally:
        if own:
            setattr(model, name, previous)
        else:
            delattr(model, name)


def _rows(value, start, stop):
    """Rows start:stop of every array of `value` (None stays None)."""
    return None if value is None else keras.tree.map_structure(lambda array: array[start:stop], value)


def _joined(batches):
    """One batch of the rows of `batches` (tuples of structures or None), in order."""
    if len(batches) == 1:
        return batches[0]

    def concatenate(*arrays):
        return np.concatenate(arrays) if isinstance(arrays[0], np.ndarray) else keras.ops.concatenate(arrays)

    return tuple(
        None if parts[0] is None else keras.tree.map_structure(concatenate, *parts) for parts in zip(*batches)
    )


def _numpy(value):
    return None if value is None else keras.tree.map_structure(keras.ops.convert_to_numpy, value)
