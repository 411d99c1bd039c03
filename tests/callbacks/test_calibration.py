"""Calibration logged unasked by PostHocMetrics and LossMonitor on classifiers, read back from disk."""

import json

import keras
import numpy as np
import pytest
import torch
from tensorboard.util import tensor_util
from torchmetrics.classification import BinaryCalibrationError, MulticlassCalibrationError

import kerasloss
from kerasloss.callbacks import LossMonitor, PostHocMetrics
from kerasloss_tensorboard import metadata
from tests.helpers import tensorboard_reader as tb

RNG = np.random.default_rng(0)
X = RNG.normal(size=(96, 5)).astype("float32")
Y = RNG.integers(0, 3, size=96)


def _records(log_dir):
    """[(step, [bins, 5] array, target)] of the reliability records in run posthoc."""
    accumulator = tb.load(log_dir).GetAccumulator(metadata.POSTHOC)
    records = [(e.step, json.loads(tensor_util.make_ndarray(e.tensor_proto).item()))
               for e in accumulator.Tensors(metadata.RELIABILITY_TAG)]
    return [(step, np.array(record["bins"]), record["target"]) for step, record in records]


def _softmax(logits):
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return (z / z.sum(-1, keepdims=True)).astype("float32")


def test_posthoc_logs_ece_reliability_and_histogram_of_a_logit_classifier(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    model.compile("adam", loss=loss)
    callback = PostHocMetrics(tmp_path, (X[:60], Y[:60]), ["accuracy"], batch_size=16)
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[callback])

    probs = _softmax(model.predict(X[:60], verbose=0))
    expected = MulticlassCalibrationError(num_classes=3, n_bins=15)(torch.tensor(probs), torch.tensor(Y[:60])).item()
    ece = tb.scalars(tmp_path, metadata.POSTHOC)["metrics/ece"]
    assert [step for step, _ in ece] == [0, 1] and ece[-1][1] == pytest.approx(expected, abs=1e-6)
    assert callback.results["ece"] == pytest.approx(expected, abs=1e-6)

    records = _records(tmp_path)
    step, record, target = records[-1]
    assert [s for s, _, _ in records] == [0, 1] and record.shape == (16, 5)
    count, confidence, accuracy = record[:, 2], record[:, 3], record[:, 4]
    assert count.sum() == 60
    top, correct = probs.max(-1), probs.argmax(-1) == Y[:60]
    for lower, upper, n, conf, acc in record[count > 0]:
        inside = (top >= lower) & ((top < upper) | (lower == upper))
        assert n == inside.sum()
        assert conf == pytest.approx(top[inside].mean(), abs=1e-6) and acc == pytest.approx(correct[inside].mean())
    assert target == pytest.approx(1 - 0.1 + 0.1 / 3)

    _, buckets = tb.histograms(tmp_path, metadata.POSTHOC, metadata.CONFIDENCE_TAG)[-1]
    assert buckets.shape == (15, 3) and buckets[:, 2].sum() == 60


# "ce": binary for a one-wide output; a bare function, as Keras wraps it
@pytest.mark.parametrize("loss", ["binary_crossentropy", "CE", keras.losses.binary_crossentropy],
                         ids=["name", "ce-name", "function"])
def test_loss_monitor_calibrates_a_binary_keras_classifier_with_sample_weights(tmp_path, loss):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", loss=loss)
    labels, weights = (X[:, 0] > 0).astype("float32")[:, None], RNG.integers(0, 3, 96).astype("float32")
    monitor = LossMonitor(tmp_path, (X, labels, weights), ["accuracy"])
    model.fit(X, labels, epochs=1, verbose=0, callbacks=[monitor])
    probs = model.predict(X, verbose=0)
    repeats = weights.astype(int)
    reference = BinaryCalibrationError(n_bins=15)(torch.tensor(np.repeat(probs, repeats, 0)),
                                                  torch.tensor(np.repeat(labels, repeats, 0)))
    assert tb.scalars(tmp_path, metadata.POSTHOC)["metrics/ece"][-1][1] == pytest.approx(reference.item(), abs=1e-6)
    assert _records(tmp_path)[-1][2] is None
    assert ("posthoc", "metrics/ece") in tb.hparams_metrics(tmp_path)


def test_a_regression_model_gets_no_calibration(tmp_path):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    model.compile("sgd", loss=kerasloss.MeanSquaredError())
    callback = PostHocMetrics(tmp_path, (X, X[:, :1]), ["mae"])
    model.fit(X, X[:, :1], epochs=1, verbose=0, callbacks=[callback])
    assert callback.calibration is None and set(callback.results) == {"mae"}
    assert metadata.RELIABILITY_TAG not in tb.plugin_tags(tmp_path, metadata.POSTHOC, metadata.PLUGIN_NAME)


def test_a_metric_the_user_names_ece_replaces_the_automatic_one(tmp_path):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    callback = PostHocMetrics(tmp_path, (X, Y), ["ece", "mce"])
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callback])
    assert callback.calibration is None and set(callback.results) == {"ece", "mce"}
    probs = model.predict(X, verbose=0)
    expected = MulticlassCalibrationError(num_classes=3, n_bins=15, norm="max")(torch.tensor(probs), torch.tensor(Y))
    assert callback.results["mce"] == pytest.approx(expected.item(), abs=1e-6)


def test_calibration_false_turns_it_off(tmp_path):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    callback = PostHocMetrics(tmp_path, (X, Y), ["accuracy"], calibration=False)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callback])
    assert callback.calibration is None and set(callback.results) == {"accuracy"}
