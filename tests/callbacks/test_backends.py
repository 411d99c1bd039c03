"""The three callbacks on the running Keras backend (`make test` runs this file on tensorflow, jax
and torch): the same runs, tags and steps, values equal to the fit history and NumPy."""

import keras
import numpy as np
import pytest

import kerasloss
from tests.helpers import tensorboard_reader as tb
from kerasloss.callbacks import LossComponentLogger, PostHocMetrics, PredictionEntropyLogger
from kerasloss.metrics import loss_components

X = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
Y = np.random.default_rng(1).integers(0, 3, size=40)

EXPECTED_TAGS = {
    "train": {"loss/total", "loss/cross_entropy", "loss/uniform_cross_entropy", "entropy/mean",
              "batch/loss/total", "batch/loss/cross_entropy", "batch/loss/uniform_cross_entropy"},
    "validation": {"loss/total", "loss/cross_entropy", "loss/uniform_cross_entropy", "entropy/mean",
                   "entropy/normalized"},
    "posthoc": {"metrics/accuracy", "metrics/f1_score/0", "metrics/f1_score/1", "metrics/f1_score/2", "metrics/ece"},
}


def _softmax(logits):
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def _fit(log_dir):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True))
    posthoc = PostHocMetrics(log_dir, (X[:24], keras.utils.to_categorical(Y[:24], 3)),
                             ["accuracy", keras.metrics.F1Score()], from_logits=True, batch_size=10)
    callbacks = [
        LossComponentLogger(log_dir, update_freq=2),
        PredictionEntropyLogger(log_dir, X[:30], from_logits=True, batch_size=16),
        posthoc,
    ]
    history = model.fit(X, Y, epochs=2, batch_size=16, verbose=0, validation_data=(X, Y),
                        callbacks=callbacks).history
    return model, history, posthoc


def test_fit_with_the_three_callbacks_writes_the_same_tags_on_every_backend(tmp_path):
    model, history, posthoc = _fit(tmp_path)
    logged = tb.all_scalars(tmp_path)
    assert {run: set(tags) for run, tags in logged.items() if run != "."} == EXPECTED_TAGS
    for run, prefix in (("train", ""), ("validation", "val_")):
        tags = logged[run]
        assert [step for step, _ in tags["loss/total"]] == [0, 1]
        np.testing.assert_allclose([v for _, v in tags["loss/total"]], history[f"{prefix}loss"], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in tags["loss/cross_entropy"]], history[f"{prefix}loss/cross_entropy"],
                                   rtol=1e-6)
    np.testing.assert_allclose([v for _, v in logged["train"]["entropy/mean"]], history["entropy"], rtol=1e-6)
    # 3 steps per epoch, update_freq=2: iterations 2, 4, 6
    assert [step for step, _ in logged["train"]["batch/loss/total"]] == [2, 4, 6]

    probs = _softmax(keras.ops.convert_to_numpy(model.predict(X, verbose=0)))
    entropy = -(probs * np.log(probs)).sum(-1)
    np.testing.assert_allclose(logged["validation"]["entropy/mean"][-1][1], entropy[:30].mean(), rtol=1e-5)
    accuracy = float((probs[:24].argmax(-1) == Y[:24]).mean())
    assert posthoc.results["accuracy"] == pytest.approx(accuracy)
    assert [step for step, _ in logged["posthoc"]["metrics/accuracy"]] == [0, 1]
    assert logged["posthoc"]["metrics/accuracy"][-1][1] == pytest.approx(accuracy)

