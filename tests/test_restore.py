"""Keras' restore paths on models compiled with kerasloss losses and `loss_components`.

`save_weights`/`load_weights`, `ModelCheckpoint` (`.keras` and `.weights.h5`), `BackupAndRestore`
(per epoch and every N batches) and `load_model` followed by more `fit`, on single-output,
multi-output and composite losses, with component, entropy and diagnostic metrics. Each restore
must give back exactly the saved weights (and optimizer state: a resumed run ends where an
uninterrupted one does).
"""

import os

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.metrics import loss_components

N, FEATURES, CLASSES = 96, 6, 4


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    labels = rng.integers(0, CLASSES, size=(N,)).astype("int32")
    target = rng.normal(size=(N, 1)).astype("float32")
    return x, labels, target


def _single(kind):
    """(model, fit targets) compiled with a kerasloss loss and all its metrics."""
    keras.utils.set_random_seed(7)
    inputs = keras.Input((FEATURES,))
    if kind == "composite":
        outputs = keras.layers.Dense(1)(inputs)
        loss = kerasloss.MeanSquaredError() + 0.1 * kerasloss.MeanAbsoluteError()
        metrics = loss_components(loss)
    else:
        outputs = keras.layers.Dense(CLASSES)(inputs)
        loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
        metrics = loss_components(loss, entropy=True)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), loss=loss, metrics=metrics)
    x, labels, target = _data()
    return model, (x, target if kind == "composite" else labels)


def _multi_output():
    keras.utils.set_random_seed(7)
    inputs = keras.Input((FEATURES,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = {
        "label": keras.layers.Dense(CLASSES, name="label")(hidden),
        "rating": keras.layers.Dense(1, name="rating")(hidden),
    }
    model = keras.Model(inputs, outputs)
    ce = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    mse = kerasloss.MeanSquaredError()
    model.compile(
        keras.optimizers.SGD(0.05, momentum=0.9),
        loss={"label": ce, "rating": mse},
        metrics={"label": loss_components(ce, entropy=True), "rating": loss_components(mse)},
    )
    x, labels, target = _data()
    return model, (x, {"label": labels, "rating": target})


BUILDERS = {
    "sparse_ce": lambda: _single("sparse_ce"),
    "composite": lambda: _single("composite"),
    "multi_output": _multi_output,
}


def _fit(model, data, **kwargs):
    x, y = data
    return model.fit(x, y, batch_size=32, shuffle=False, verbose=0, **kwargs)


def _assert_same_weights(a, b):
    for left, right in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(left, right)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_save_weights_and_load_weights_restore_every_weight_exactly(tmp_path, kind):
    model, data = BUILDERS[kind]()
    _fit(model, data, epochs=1)
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    other, _ = BUILDERS[kind]()
    _fit(other, data, epochs=1)  # builds optimizer and metric state to be overwritten
    other.load_weights(path)
    _assert_same_weights(model, other)
    for left, right in zip(model.optimizer.variables, other.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(left), np.asarray(right))
    for left, right in zip(model.metrics_variables, other.metrics_variables):
        np.testing.assert_array_equal(np.asarray(left), np.asarray(right))


@pytest.mark.parametrize(
    "kind, suffix",
    [(kind, ".keras") for kind in sorted(BUILDERS)] + [("multi_output", ".weights.h5")],
)
def test_model_checkpoint_files_restore_the_checkpointed_model(tmp_path, kind, suffix):
    model, data = BUILDERS[kind]()
    path = str(tmp_path / f"ckpt{suffix}")
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_weights_only=suffix != ".keras")
    _fit(model, data, epochs=2, callbacks=[checkpoint])
    if suffix == ".keras":
        restored = keras.models.load_model(path)
    else:
        restored, _ = BUILDERS[kind]()
        restored.load_weights(path)
    _assert_same_weights(model, restored)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_load_model_then_fit_keeps_logging_every_component(tmp_path, kind):
    model, data = BUILDERS[kind]()
    _fit(model, data, epochs=1)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    _assert_same_weights(model, restored)
    before = _fit(model, data, epochs=1).history
    after = _fit(restored, data, epochs=1).history
    assert sorted(after) == sorted(before)
    for key, values in before.items():
        np.testing.assert_allclose(after[key], values, rtol=1e-5, err_msg=key)


class _Interrupt(keras.callbacks.Callback):
    """Raises at the end of `epoch`, as a preempted machine would stop."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


class _StateAtTrainBegin(keras.callbacks.Callback):
    """Keeps the weights and optimizer step right after the callbacks before it restored them."""

    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()
        self.iterations = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))


@pytest.mark.parametrize("save_freq", ["epoch", 3])
@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_backup_and_restore_restores_the_interrupted_state(tmp_path, kind, save_freq):
    """3 batches an epoch: with save_freq 3 or "epoch" the last backup is the state at the end of
    epoch 1, where the run is interrupted."""
    model, data = BUILDERS[kind]()
    backup = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(model, data, epochs=4, callbacks=[
            keras.callbacks.BackupAndRestore(backup, save_freq=save_freq), _Interrupt(1)])
    resumed, _ = BUILDERS[kind]()
    state = _StateAtTrainBegin()
    history = _fit(resumed, data, epochs=4, callbacks=[
        keras.callbacks.BackupAndRestore(backup, save_freq=save_freq), state])
    for restored, saved in zip(state.weights, model.get_weights()):
        np.testing.assert_array_equal(restored, saved)
    assert state.iterations == 6
    # Keras resumes after the last completed epoch ("epoch"), or reruns the epoch a batch-level
    # backup was taken in (save_freq=N), from the backed-up weights
    assert history.epoch == ([2, 3] if save_freq == "epoch" else [1, 2, 3])
    assert not os.path.exists(backup)  # removed by Keras at the end of a completed fit


@pytest.mark.parametrize("kind", ["multi_output", "sparse_ce"])
def test_backup_and_restore_per_epoch_ends_where_an_uninterrupted_run_ends(tmp_path, kind):
    reference, data = BUILDERS[kind]()
    expected = _fit(reference, data, epochs=4).history
    model, _ = BUILDERS[kind]()
    backup = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(model, data, epochs=4,
             callbacks=[keras.callbacks.BackupAndRestore(backup), _Interrupt(1)])
    resumed, _ = BUILDERS[kind]()
    history = _fit(resumed, data, epochs=4, callbacks=[keras.callbacks.BackupAndRestore(backup)])
    _assert_same_weights(reference, resumed)
    for key, values in history.history.items():
        np.testing.assert_allclose(values, expected[key][2:], rtol=1e-5, err_msg=key)
