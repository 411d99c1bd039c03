"""PredictionEntropyLogger and PostHocMetrics: values against NumPy / Keras, steps, nothing in the step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
import tensorboard_reader as tb
from kerasloss.callbacks import PostHocMetrics, PredictionEntropyLogger
from kerasloss.metrics import loss_components

X = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
Y = np.random.default_rng(1).integers(0, 3, size=40)


def _model(entropy=True):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=entropy))
    return model


def _numpy_entropy(logits):
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    return -(p * np.log(p)).sum(-1)


def test_entropy_on_held_out_data_and_from_the_train_metric(tmp_path):
    model = _model()
    callback = PredictionEntropyLogger(tmp_path, X[:30], from_logits=True, batch_size=16, histogram_size=20)
    history = model.fit(X, Y, epochs=2, verbose=0, callbacks=[callback]).history
    expected = _numpy_entropy(model.predict(X[:30], verbose=0))
    validation = tb.scalars(tmp_path, "validation")
    assert [s for s, _ in validation["entropy/mean"]] == [0, 1]
    np.testing.assert_allclose(validation["entropy/mean"][-1][1], expected.mean(), rtol=1e-5)
    np.testing.assert_allclose(validation["entropy/normalized"][-1][1], expected.mean() / np.log(3), rtol=1e-5)
    step, buckets = tb.histograms(tmp_path, "validation", "entropy/per_example")[-1]
    assert step == 1 and buckets[:, 2].sum() == 20  # a bounded sample
    train = tb.scalars(tmp_path, "train")
    np.testing.assert_allclose([v for _, v in train["entropy/mean"]], history["entropy"], rtol=1e-6)


def test_entropy_every_n_epochs_with_a_dataset_and_binary_kind(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
    loss = kerasloss.BinaryCrossentropy()
    model.compile("sgd", loss=loss)
    data = tf.data.Dataset.from_tensor_slices((X, (X[:, :2] > 0).astype("float32"))).batch(16)
    model.fit(data, epochs=4, verbose=0,
              callbacks=[PredictionEntropyLogger(tmp_path, data, kind="binary", every_n_epochs=2)])
    tags = tb.scalars(tmp_path, "validation")
    assert [s for s, _ in tags["entropy/mean"]] == [1, 3]
    assert "train" not in tb.runs(tmp_path) or "entropy/mean" not in tb.scalars(tmp_path, "train")
    assert 0 < tags["entropy/normalized"][-1][1] <= 1


def test_posthoc_metrics_at_chosen_epochs_and_train_end_equal_keras_evaluation(tmp_path):
    model = _model(entropy=False)
    x_test, y_test = X[:24], Y[:24]
    callback = PostHocMetrics(
        tmp_path, (x_test, y_test),
        [keras.metrics.SparseCategoricalAccuracy(), keras.metrics.SparseTopKCategoricalAccuracy(k=2)],
        every_n_epochs=2, batch_size=10)
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[callback])
    tags = tb.scalars(tmp_path, "posthoc")
    assert [s for s, _ in tags["metrics/sparse_categorical_accuracy"]] == [1, 2]  # epoch 1, then train end
    logits = model.predict(x_test, verbose=0)
    accuracy = float((logits.argmax(-1) == y_test).mean())
    assert callback.results["sparse_categorical_accuracy"] == pytest.approx(accuracy)
    assert tags["metrics/sparse_categorical_accuracy"][-1][1] == pytest.approx(accuracy)
    assert set(callback.results) == {"sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"}


def test_posthoc_vector_metric_and_regression_metric(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", loss=kerasloss.CategoricalCrossentropy())
    onehot = keras.utils.to_categorical(Y, 3)
    callback = PostHocMetrics(tmp_path, (X, onehot), [keras.metrics.F1Score(), keras.metrics.RootMeanSquaredError()],
                              every_n_epochs=0)
    model.fit(X, onehot, epochs=2, verbose=0, callbacks=[callback])
    tags = tb.scalars(tmp_path, "posthoc")
    assert {"metrics/f1_score/0", "metrics/f1_score/1", "metrics/f1_score/2", "metrics/root_mean_squared_error"} == set(tags)
    assert [s for s, _ in tags["metrics/root_mean_squared_error"]] == [1]
    assert len(callback.results["f1_score"]) == 3


def test_posthoc_adds_nothing_to_the_training_step(tmp_path):
    model = _model(entropy=False)
    metric = keras.metrics.SparseCategoricalAccuracy()
    history = model.fit(X, Y, epochs=1, verbose=0, callbacks=[PostHocMetrics(tmp_path, (X, Y), [metric])]).history
    assert set(history) == {"loss", "loss/cross_entropy"}
    assert all(m is not metric for m in model.metrics)
    assert set(tb.scalars(tmp_path, "posthoc")) == {"metrics/sparse_categorical_accuracy"}


def test_posthoc_needs_labels(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        _model().fit(X, Y, epochs=1, verbose=0, callbacks=[PostHocMetrics(tmp_path, X, [keras.metrics.SparseCategoricalAccuracy()])])


def test_entropy_logger_requires_an_output_name_for_multi_output_models(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, {"a": keras.layers.Dense(3, name="a")(inputs), "b": keras.layers.Dense(2, name="b")(inputs)})
    model.compile("sgd", loss={"a": kerasloss.SparseCategoricalCrossentropy(from_logits=True),
                               "b": kerasloss.MeanSquaredError()})
    labels = {"a": Y, "b": X[:, :2]}
    with pytest.raises(ValueError, match="output"):
        model.fit(X, labels, epochs=1, verbose=0, callbacks=[PredictionEntropyLogger(tmp_path, X, from_logits=True)])
    model.fit(X, labels, epochs=1, verbose=0,
              callbacks=[PredictionEntropyLogger(tmp_path, X, from_logits=True, output="a")])
    assert "a/entropy/mean" in tb.scalars(tmp_path, "validation")
