"""The log_dir's own records (`kerasloss.callbacks.dashboards`): the hparams record holds every
argument of every loss, read back from the event file."""

import keras
import numpy as np
import pytest
from tensorboard.plugins.hparams import metadata as hparams_metadata

import kerasloss
from kerasloss.callbacks import LossComponentLogger
from tests.helpers import tensorboard_reader as tb

X = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
Y = np.random.default_rng(1).integers(0, 2, size=(16, 2)).astype("float32")


def _recorded_hparams(log_dir):
    accumulator = tb.load(log_dir).GetAccumulator(".")
    content = accumulator.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
    info = hparams_metadata.parse_session_start_info_plugin_data(content)
    return {name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
            for name, value in info.hparams.items()}


def _fit(log_dir, loss):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
    model.compile("sgd", loss=loss)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[LossComponentLogger(log_dir)])
    return _recorded_hparams(log_dir)


@pytest.mark.parametrize("loss, expected", [
    (kerasloss.BinaryFocalCrossentropy(gamma=3.0, alpha=0.4, apply_class_balancing=True),
     {"loss": "BinaryFocalCrossentropy", "gamma": 3.0, "alpha": 0.4, "apply_class_balancing": True}),
    (kerasloss.Huber(delta=0.5), {"loss": "Huber", "delta": 0.5}),
    (kerasloss.Tversky(alpha=0.7, beta=0.3), {"loss": "Tversky", "alpha": 0.7, "beta": 0.3}),
    (kerasloss.wrap(keras.losses.Huber(delta=0.25)), {"loss": "Huber", "delta": 0.25}),
    (kerasloss.MeanSquaredError() + 0.5 * kerasloss.Huber(delta=2.0),
     {"loss": "CompositeLoss", "huber_loss/weight": 0.5, "huber_loss/delta": 2.0}),
    (keras.losses.mean_absolute_error, {"loss": "mean_absolute_error"}),
    (kerasloss.wrap(keras.losses.mean_squared_error), {"loss": "mean_squared_error"}),
    (keras.losses.BinaryCrossentropy(from_logits=True), {"loss": "BinaryCrossentropy", "from_logits": True}),
], ids=["binary_focal", "huber", "tversky", "wrapped_huber", "composite", "function", "wrapped_function",
        "keras_class"])
def test_the_hparams_record_holds_every_argument_of_the_loss(tmp_path, loss, expected):
    recorded = _fit(tmp_path, loss)
    assert {name: recorded.get(name) for name in expected} == pytest.approx(expected)


def test_runs_that_differ_only_in_a_loss_argument_have_different_hparams(tmp_path):
    first = _fit(tmp_path / "a", kerasloss.BinaryFocalCrossentropy(gamma=2.0))
    second = _fit(tmp_path / "b", kerasloss.BinaryFocalCrossentropy(gamma=1.0))
    assert first != second and first["gamma"] == 2.0 and second["gamma"] == 1.0


def test_a_log_dir_deleted_and_fitted_again_in_the_same_process_starts_afresh(tmp_path):
    # a notebook rerun: same process, same path, the directory removed in between
    import shutil

    from kerasloss.callbacks import LossMonitor

    loss = kerasloss.BinaryFocalCrossentropy(gamma=3.0)
    for _ in range(2):
        shutil.rmtree(tmp_path, ignore_errors=True)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
        model.compile("sgd", loss=loss, metrics=kerasloss.metrics.loss_components(loss))
        model.fit(X, Y, epochs=2, verbose=0, callbacks=[LossMonitor(tmp_path, (X, Y), ["binary_accuracy"])])
    assert [step for step, _ in tb.scalars(tmp_path, "train")["loss/total"]] == [0, 1]
    assert _recorded_hparams(tmp_path)["gamma"] == 3.0
    assert ("posthoc", "metrics/binary_accuracy") in tb.hparams_metrics(tmp_path)
    assert tb.plugin_tags(tmp_path, ".", "kerasloss")
