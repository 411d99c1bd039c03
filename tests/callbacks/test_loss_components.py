"""LossComponentLogger: runs, tags, steps and values read back with TensorBoard's reader."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from tests.helpers import tensorboard_reader as tb
from kerasloss.callbacks import LossComponentLogger
from kerasloss.metrics import loss_components

X = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
Y = np.random.default_rng(1).integers(0, 3, size=48)


def _model(loss, regularizer=None, metrics=True):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, kernel_regularizer=regularizer)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss) if metrics else None)
    return model


def _values(series):
    return [value for _, value in series]


def _steps(series):
    return [step for step, _ in series]


def test_epoch_tags_equal_fit_history_train_and_validation(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    model = _model(loss)
    history = model.fit(X, Y, epochs=2, batch_size=16, verbose=0, validation_data=(X, Y),
                        callbacks=[LossComponentLogger(tmp_path)]).history
    logged = tb.all_scalars(tmp_path)
    for run, prefix in (("train", ""), ("validation", "val_")):
        tags = logged[run]
        assert set(tags) == {"loss/total", "loss/cross_entropy", "loss/uniform_cross_entropy"}
        np.testing.assert_allclose(_values(tags["loss/total"]), history[f"{prefix}loss"], rtol=1e-6)
        for name in ("cross_entropy", "uniform_cross_entropy"):
            np.testing.assert_allclose(_values(tags[f"loss/{name}"]), history[f"{prefix}loss/{name}"], rtol=1e-6)
        assert _steps(tags["loss/total"]) == [0, 1]
        # no regularization: total = Σ w·component
        total = 0.8 * np.array(_values(tags["loss/cross_entropy"])) + 0.2 * np.array(
            _values(tags["loss/uniform_cross_entropy"]))
        np.testing.assert_allclose(total, _values(tags["loss/total"]), rtol=1e-5)


def test_regularization_closes_the_sum(tmp_path):
    loss = kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    model = _model(loss, regularizer=keras.regularizers.L2(0.05))
    model.fit(X, keras.utils.to_categorical(Y, 3), epochs=2, batch_size=16, verbose=0,
              callbacks=[LossComponentLogger(tmp_path)])
    tags = tb.scalars(tmp_path, "train")
    reg = np.array(_values(tags["loss/regularization"]))
    assert np.all(reg > 0)
    total = 0.9 * np.array(_values(tags["loss/cross_entropy"])) + 0.1 * np.array(
        _values(tags["loss/uniform_cross_entropy"])) + reg
    np.testing.assert_allclose(total, _values(tags["loss/total"]), rtol=1e-6)


def test_regularization_of_rmse_uses_the_loss_own_mean(tmp_path):
    loss = kerasloss.RootMeanSquaredError()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(0.1))])
    model.compile("sgd", loss=loss, metrics=loss_components(loss))
    history = model.fit(X, X[:, :1], epochs=2, batch_size=16, verbose=0,
                        callbacks=[LossComponentLogger(tmp_path)]).history
    tags = tb.scalars(tmp_path, "train")
    assert {"loss/squared_error", "loss/root_mean_squared_error", "loss/regularization"} <= set(tags)
    np.testing.assert_allclose(
        np.array(_values(tags["loss/root_mean_squared_error"])) + _values(tags["loss/regularization"]),
        history["loss"], rtol=1e-6)
    # the epoch mean of batch roots is not the root of the epoch mean squared error
    assert not np.allclose(np.sqrt(_values(tags["loss/squared_error"])), _values(tags["loss/root_mean_squared_error"]))


@pytest.mark.parametrize("loss_weights", [0.5, [0.5]], ids=["number", "list-of-one"])
@pytest.mark.parametrize("regularizer", [None, keras.regularizers.L2(0.05)], ids=["plain", "l2"])
def test_a_single_outputs_loss_weight_weighs_its_components_not_the_regularization(tmp_path, loss_weights,
                                                                                     regularizer):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, kernel_regularizer=regularizer)])
    model.compile("sgd", loss=loss, loss_weights=loss_weights, metrics=loss_components(loss))
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    tags = tb.scalars(tmp_path, "train")
    terms = 0.5 * (0.9 * np.array(_values(tags["loss/cross_entropy"]))
                   + 0.1 * np.array(_values(tags["loss/uniform_cross_entropy"])))
    if regularizer is None:
        assert "loss/regularization" not in tags
        np.testing.assert_allclose(terms, _values(tags["loss/total"]), rtol=1e-6)
    else:
        reg = np.array(_values(tags["loss/regularization"]))
        assert np.all(reg > 0)
        np.testing.assert_allclose(terms + reg, _values(tags["loss/total"]), rtol=1e-6)


@pytest.mark.parametrize("as_dict", [True, False], ids=["dict-of-one", "list-of-one"])
def test_a_single_output_compiled_by_name_logs_its_components_unprefixed_as_keras_does(tmp_path, as_dict):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="out", kernel_regularizer="l2")(inputs))
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    model.compile("sgd", loss={"out": loss} if as_dict else [loss], loss_weights={"out": 0.5} if as_dict else [0.5],
                  metrics={"out": loss_components(loss)} if as_dict else [loss_components(loss)])
    history = model.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[LossComponentLogger(tmp_path)]).history
    tags = tb.scalars(tmp_path, "train")
    assert set(tags) == {"loss/total", "loss/cross_entropy", "loss/uniform_cross_entropy", "loss/regularization"}
    np.testing.assert_allclose(_values(tags["loss/cross_entropy"]), history["loss/cross_entropy"], rtol=1e-6)
    reg = np.array(_values(tags["loss/regularization"]))
    assert np.all(reg > 0)
    terms = 0.5 * (0.8 * np.array(_values(tags["loss/cross_entropy"]))
                   + 0.2 * np.array(_values(tags["loss/uniform_cross_entropy"])))
    np.testing.assert_allclose(terms + reg, history["loss"], rtol=1e-6)


def test_a_loss_shared_by_every_output_is_logged_per_output(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, {name: keras.layers.Dense(3, name=name)(inputs) for name in ("a", "b")})
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model.compile("sgd", loss=loss, loss_weights=0.5)
    history = model.fit(X, {"a": Y, "b": Y}, epochs=1, batch_size=16, verbose=0,
                        callbacks=[LossComponentLogger(tmp_path)]).history
    tags = tb.scalars(tmp_path, "train")
    for name in ("a", "b"):
        np.testing.assert_allclose(_values(tags[f"{name}/loss/total"]), history[f"{name}_loss"], rtol=1e-6)
    np.testing.assert_allclose(0.5 * (_values(tags["a/loss/total"])[0] + _values(tags["b/loss/total"])[0]),
                               history["loss"][0], rtol=1e-5)
    assert "loss/regularization" not in tags


def test_a_multi_output_model_with_a_partial_last_batch_shows_no_regularization_it_has_not(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, {name: keras.layers.Dense(3, name=name)(inputs) for name in ("a", "b")})
    model.compile("sgd", loss={name: kerasloss.SparseCategoricalCrossentropy(from_logits=True) for name in "ab"})
    model.fit(X, {"a": Y, "b": Y}, epochs=2, batch_size=32, verbose=0,  # 48 examples: 32, then 16
              callbacks=[LossComponentLogger(tmp_path)])
    assert "loss/regularization" not in tb.scalars(tmp_path, "train")


def test_a_multi_output_model_with_one_lossed_output_logs_that_outputs_total_and_closes_the_sum(tmp_path):
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, name="emb", kernel_regularizer="l2")(inputs)
    model = keras.Model(inputs, {"cls": keras.layers.Dense(3, name="cls")(hidden), "emb": hidden})
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    model.compile("sgd", loss={"cls": loss, "emb": None}, loss_weights={"cls": 0.5, "emb": 1.0},
                  metrics={"cls": loss_components(loss)})
    history = model.fit(X, {"cls": Y, "emb": np.zeros((48, 8))}, epochs=2, batch_size=16, verbose=0,
                        callbacks=[LossComponentLogger(tmp_path)]).history
    assert "cls_loss" not in history  # Keras logs no per-output loss for a single lossed output
    tags = tb.scalars(tmp_path, "train")
    cls_total = 0.8 * np.array(_values(tags["cls/loss/cross_entropy"])) + 0.2 * np.array(
        _values(tags["cls/loss/uniform_cross_entropy"]))
    np.testing.assert_allclose(_values(tags["cls/loss/total"]), cls_total, rtol=1e-6)
    reg = np.array(_values(tags["loss/regularization"]))
    assert np.all(reg > 0)
    np.testing.assert_allclose(0.5 * cls_total + reg, history["loss"], rtol=1e-6)


def test_regularization_absent_not_zero_without_regularizers(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    _model(loss).fit(X, Y, epochs=1, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    assert "loss/regularization" not in tb.scalars(tmp_path, "train")


def test_every_epoch_logged_and_batch_steps_from_the_optimizer(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = _model(loss)
    # 3 steps per epoch, N = 2: epoch ends (steps 3, 9) are not multiples of N, still logged
    model.fit(X, Y, epochs=3, batch_size=16, verbose=0, callbacks=[LossComponentLogger(tmp_path, update_freq=2)])
    tags = tb.scalars(tmp_path, "train")
    assert _steps(tags["loss/total"]) == [0, 1, 2]
    assert _steps(tags["batch/loss/total"]) == [2, 4, 6, 8]
    assert set(tags) >= {"batch/loss/cross_entropy", "batch/loss/total"}
    # a new callback instance and a new fit continue the global batch index
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0, callbacks=[LossComponentLogger(tmp_path, update_freq=2)])
    tags = tb.scalars(tmp_path, "train")
    assert _steps(tags["batch/loss/total"]) == [2, 4, 6, 8, 10, 12]


def test_repeated_fit_and_initial_epoch_keep_distinct_continuous_steps(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = _model(loss)
    first = model.fit(X, Y, epochs=2, verbose=0, callbacks=[LossComponentLogger(tmp_path)]).history
    second = model.fit(X, Y, epochs=2, verbose=0, callbacks=[LossComponentLogger(tmp_path)]).history
    third = model.fit(X, Y, initial_epoch=4, epochs=5, verbose=0, callbacks=[LossComponentLogger(tmp_path)]).history
    series = tb.scalars(tmp_path, "train")["loss/total"]
    assert _steps(series) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(_values(series), first["loss"] + second["loss"] + third["loss"], rtol=1e-6)


def test_initial_epoch_is_the_step(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    _model(loss).fit(X, Y, initial_epoch=3, epochs=5, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    assert _steps(tb.scalars(tmp_path, "train")["loss/total"]) == [3, 4]


def test_without_validation_data_the_validation_run_is_absent(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    _model(loss).fit(X, Y, epochs=1, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    assert "validation" not in tb.runs(tmp_path)


def test_model_without_component_metrics_is_told_how_to_add_them(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.warns(UserWarning, match="loss_components"):
        _model(loss, metrics=False).fit(X, Y, epochs=2, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    assert set(tb.scalars(tmp_path, "train")) == {"loss/total"}


def test_dataset_with_steps_per_epoch(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    data = tf.data.Dataset.from_tensor_slices((X, Y)).batch(8).repeat()
    history = _model(loss).fit(data, steps_per_epoch=2, epochs=2, verbose=0,
                               callbacks=[LossComponentLogger(tmp_path, update_freq=1)]).history
    tags = tb.scalars(tmp_path, "train")
    np.testing.assert_allclose(_values(tags["loss/cross_entropy"]), history["loss/cross_entropy"], rtol=1e-6)
    assert _steps(tags["batch/loss/total"]) == [1, 2, 3, 4]


def test_multi_output_components_are_prefixed_by_output(tmp_path):
    inputs = keras.Input((4,))
    outputs = {
        "cls": keras.layers.Dense(3, name="cls", kernel_regularizer="l2")(inputs),
        "reg": keras.layers.Dense(1, name="reg")(inputs),
    }
    model = keras.Model(inputs, outputs)
    ce = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    mse = kerasloss.MeanSquaredError()
    model.compile("sgd", loss={"cls": ce, "reg": mse}, loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": loss_components(ce), "reg": loss_components(mse)})
    labels = {"cls": Y, "reg": X[:, :1]}
    history = model.fit(X, labels, epochs=1, verbose=0, validation_data=(X, labels),
                        callbacks=[LossComponentLogger(tmp_path)]).history
    tags = tb.scalars(tmp_path, "train")
    assert {"loss/total", "loss/regularization", "cls/loss/total", "cls/loss/cross_entropy",
            "cls/loss/uniform_cross_entropy", "reg/loss/total", "reg/loss/squared_error"} == set(tags)
    np.testing.assert_allclose(_values(tags["cls/loss/cross_entropy"]), history["cls_loss/cross_entropy"], rtol=1e-6)
    total = (_values(tags["cls/loss/total"])[0] + 0.5 * _values(tags["reg/loss/total"])[0]
             + _values(tags["loss/regularization"])[0])
    np.testing.assert_allclose(total, history["loss"][0], rtol=1e-5)
    assert "reg/loss/squared_error" in tb.scalars(tmp_path, "validation")


def test_update_freq_is_checked():
    with pytest.raises(ValueError, match="update_freq"):
        LossComponentLogger("unused", update_freq=0)


class _AddLoss(keras.layers.Layer):
    """Adds 0.1 · mean(x²) of its input batch to the loss (an `add_loss` term, no weight regularizer)."""

    def call(self, x):
        self.add_loss(0.1 * keras.ops.mean(keras.ops.square(x)))
        return x


def test_add_loss_terms_are_logged_as_regularization(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Sequential([keras.Input((4,)), _AddLoss(), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss))
    x_val = X[:16] * 2.0
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0, validation_data=(x_val, Y[:16]),
              callbacks=[LossComponentLogger(tmp_path)])
    # equal batches: the epoch mean of the batch terms is 0.1 · mean(X²), whatever the shuffling
    train, validation = tb.scalars(tmp_path, "train"), tb.scalars(tmp_path, "validation")
    np.testing.assert_allclose(_values(train["loss/regularization"]), [0.1 * np.mean(X**2)] * 2, rtol=1e-4)
    np.testing.assert_allclose(_values(validation["loss/regularization"]), [0.1 * np.mean(x_val**2)] * 2, rtol=1e-4)


@pytest.mark.backends("tensorflow", "jax")  # PyTorch's trainer refuses steps_per_execution > 1
def test_update_freq_with_steps_per_execution_writes_whenever_a_multiple_is_crossed(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss), steps_per_execution=2)
    # 12 steps per epoch reported every 2 steps; multiples of 5 are crossed at steps 6, 10, 16, 20
    model.fit(X, Y, epochs=2, batch_size=4, verbose=0, callbacks=[LossComponentLogger(tmp_path, update_freq=5)])
    assert _steps(tb.scalars(tmp_path, "train")["batch/loss/total"]) == [6, 10, 16, 20]


def test_diagnostics_metrics_are_logged_per_run_and_output(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, {"a": keras.layers.Dense(1, name="a")(inputs), "b": keras.layers.Dense(1, name="b")(inputs)})
    huber_a, huber_b = kerasloss.Huber(delta=0.1), kerasloss.Huber(delta=0.2)
    model.compile("sgd", loss={"a": huber_a, "b": huber_b},
                  metrics={"a": loss_components(huber_a, diagnostics=True), "b": loss_components(huber_b, diagnostics=True)})
    labels = {"a": X[:, :1], "b": X[:, 1:2]}
    history = model.fit(X, labels, epochs=2, batch_size=16, verbose=0, validation_data=(X, labels),
                        callbacks=[LossComponentLogger(tmp_path)]).history
    logged = tb.all_scalars(tmp_path)
    for run, prefix in (("train", ""), ("validation", "val_")):
        for output in ("a", "b"):
            series = logged[run][f"{output}/diagnostics/linear_fraction"]
            assert _steps(series) == [0, 1]
            np.testing.assert_allclose(_values(series), history[f"{prefix}{output}_diagnostics/linear_fraction"], rtol=1e-6)
    assert 0 < _values(logged["train"]["a/diagnostics/linear_fraction"])[0] < 1
