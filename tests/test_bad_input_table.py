"""docs/bad_input.md: every refusal listed there is covered by a test that exists.

The table's last column names a test (`tests/<file>.py::<test name>`, the function of a parametrized
test followed by its case ids outside the backticks) for each row. The first test below reads the
table and checks each named test is defined. The rest cover the rows that no other module tests:
refusals of the losses' and `CompositeLoss`'s arguments, `prediction_entropy`, the metrics, the
callbacks' arguments and `kerasloss.distribute`.
"""

import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from kerasloss.callbacks import PostHocMetrics, PredictionEntropyLogger, summaries
from kerasloss.callbacks._heldout import HeldOut
from kerasloss.distribute import CustomLoopLogger
from kerasloss.metrics import LossComponent, LossValue, PredictionEntropy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "docs", "bad_input.md")
X = np.zeros((4, 3), np.float32)
Y = np.zeros((4,), np.int32)


def _table_tests():
    with open(TABLE) as f:
        return re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", f.read())


def test_every_row_of_the_bad_input_table_names_an_existing_test():
    named = _table_tests()
    assert len(named) >= 40
    missing = []
    for path, name in named:
        with open(os.path.join(ROOT, path)) as f:
            if not re.search(rf"^def {name}\(", f.read(), re.MULTILINE):
                missing.append(f"{path}::{name}")
    assert not missing, missing


# ---- arguments of the losses not tested elsewhere ------------------------------------------------


@pytest.mark.parametrize("value", ["0.1", None, True])
def test_z_loss_that_is_not_a_number_is_refused(value):
    with pytest.raises(TypeError, match="z_loss must be a non-negative number, got"):
        kerasloss.SparseCategoricalCrossentropy(from_logits=True, z_loss=value)


@pytest.mark.parametrize("value, error, message", [
    ("x", TypeError, "axis must be an int or None, got 'x'"),
    (1.0, TypeError, "axis must be an int or None, got 1.0"),
    (None, TypeError, "axis must be an int, got None"),
])
def test_axis_that_is_not_an_int_is_refused(value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        kerasloss.CategoricalCrossentropy(axis=value)


@pytest.mark.tensorflow_only  # a symbolic class axis of unknown size: traced by tf.function
def test_class_axis_of_unknown_size_is_refused():
    loss = kerasloss.CategoricalCrossentropy(from_logits=True)

    @tf.function(input_signature=[tf.TensorSpec((None, None)), tf.TensorSpec((None, None))])
    def traced(y_true, y_pred):
        return loss(y_true, y_pred)

    with pytest.raises(ValueError, match=r"y_pred must have a known size on the class axis 1, got shape \(None, None\)"):
        traced.get_concrete_function()


def test_composite_of_something_else_than_a_dict_or_list_is_refused():
    with pytest.raises(TypeError, match="losses must be a dict name -> loss or a list of losses, got"):
        kerasloss.CompositeLoss(kerasloss.MeanSquaredError())


def test_composite_negative_weight_is_refused():
    with pytest.raises(ValueError, match=r"weights\['a'\] must be >= 0, got -1"):
        kerasloss.CompositeLoss({"a": kerasloss.MeanSquaredError()}, {"a": -1})


@pytest.mark.parametrize("build, message", [
    (lambda: kerasloss.MeanSquaredError() + float("inf") * kerasloss.MeanAbsoluteError(),
     r"weights\['mean_absolute_error'\] must be finite, got inf"),
    (lambda: kerasloss.Huber(delta=float("inf")), "delta must be finite, got inf"),
    (lambda: kerasloss.BinaryFocalCrossentropy(gamma=float("inf")), "gamma must be finite, got inf"),
    (lambda: kerasloss.CategoricalFocalCrossentropy(alpha=[0.5, float("inf")]), "alpha must be finite, got inf"),
    (lambda: kerasloss.Tversky(beta=float("inf")), "beta must be finite, got inf"),
    (lambda: kerasloss.SparseCategoricalCrossentropy(z_loss=float("inf")), "z_loss must be finite, got inf"),
    (lambda: kerasloss.GaussianNLL(eps=float("inf")), "eps must be finite, got inf"),
    (lambda: kerasloss.Circle(margin=float("inf")), "margin must be finite, got inf"),
    (lambda: kerasloss.ContrastiveLoss(margin=float("inf")), "margin must be finite, got inf"),
    (lambda: kerasloss.PairwiseHingeLoss(temperature=float("inf")), "temperature must be finite, got inf"),
], ids=["weight", "huber-delta", "focal-gamma", "focal-alpha", "tversky-beta", "z_loss", "gaussian-eps",
        "circle-margin", "contrastive-margin", "ranking-temperature"])
def test_an_infinite_weight_or_loss_argument_is_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("value", ["x", None, True])
def test_composite_weight_that_is_not_a_number_is_refused(value):
    with pytest.raises(TypeError, match=r"weights\['a'\] must be a non-negative number, got"):
        kerasloss.CompositeLoss({"a": kerasloss.MeanSquaredError()}, {"a": value})


# ---- entropy and metrics -------------------------------------------------------------------------


def test_prediction_entropy_refuses_integer_predictions():
    with pytest.raises(TypeError, match="y_pred must be a floating-point tensor .*got dtype int32"):
        kerasloss.prediction_entropy(np.ones((2, 2), np.int32))


def test_loss_component_metric_refuses_other_losses():
    with pytest.raises(TypeError, match="loss must be a kerasloss loss, got MeanSquaredError"):
        LossComponent(keras.losses.MeanSquaredError(), "squared_error")


def test_loss_component_metric_refuses_an_unknown_component():
    with pytest.raises(ValueError, match=r"component must be one of \['squared_error'\] for mean_squared_error, got 'x'"):
        LossComponent(kerasloss.MeanSquaredError(), "x")


def test_loss_value_metric_refuses_other_losses():
    with pytest.raises(TypeError, match="loss must be a kerasloss loss, got MeanSquaredError"):
        LossValue(keras.losses.MeanSquaredError())


def test_prediction_entropy_metric_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of .*got 'poisson'"):
        PredictionEntropy(kind="poisson")


# ---- callbacks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("log_dir", ["", None, 3])
def test_log_dir_that_is_not_a_path_is_refused(log_dir):
    with pytest.raises(TypeError, match="log_dir must be a non-empty path, got"):
        summaries.check_writable(log_dir)


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_entropy_logger_every_n_epochs_must_be_a_positive_int(tmp_path, value):
    with pytest.raises(ValueError, match="every_n_epochs must be a positive int, got"):
        PredictionEntropyLogger(tmp_path, X, every_n_epochs=value)


def test_entropy_logger_refuses_an_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of .*got 'poisson'"):
        PredictionEntropyLogger(tmp_path, X, kind="poisson")


def test_entropy_logger_output_must_be_one_of_the_model_outputs(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="scores")(inputs))
    callback = PredictionEntropyLogger(tmp_path, X, output="c")
    callback.set_model(model)
    with pytest.raises(ValueError, match=r"output must be one of \['scores'\], got 'c'"):
        callback.on_train_begin()


def test_held_out_data_tuple_of_another_length_is_refused():
    with pytest.raises(ValueError, match="data must be x, .x, y. or .x, y, sample_weight., got a tuple of 4"):
        HeldOut((X, Y, Y, Y), 2)


def test_held_out_data_none_is_refused(tmp_path):
    with pytest.raises(ValueError, match="data must be held-out inputs, .x, y. or a tf.data.Dataset, got None"):
        PostHocMetrics(tmp_path, None, ["accuracy"])


def test_posthoc_needs_at_least_one_metric(tmp_path):
    with pytest.raises(ValueError, match=r"metrics must name at least one Keras metric, got \[\]"):
        PostHocMetrics(tmp_path, (X, Y), [])


def test_posthoc_metrics_must_be_keras_metrics(tmp_path):
    with pytest.raises(TypeError, match="metrics must be keras.metrics.Metric instances, got"):
        PostHocMetrics(tmp_path, (X, Y), [lambda y, p: 0.0])


def test_posthoc_every_n_epochs_must_be_a_non_negative_int(tmp_path):
    with pytest.raises(ValueError, match="every_n_epochs must be a non-negative int, got -1"):
        PostHocMetrics(tmp_path, (X, Y), ["accuracy"], every_n_epochs=-1)


def test_unknown_entropy_stat_tag_is_refused():
    with pytest.raises(ValueError, match="stat must be one of .*got 'max'"):
        summaries.entropy_tag("max")


# ---- kerasloss.distribute -----------------------------------------------------------------------


def test_custom_loop_logger_refuses_other_losses(tmp_path):
    with pytest.raises(TypeError, match="loss must be a kerasloss loss .*got MeanSquaredError"):
        CustomLoopLogger(keras.losses.MeanSquaredError(), tmp_path)


def test_custom_loop_logger_run_must_be_train_or_validation(tmp_path):
    with pytest.raises(ValueError, match=r"run must be one of \('train', 'validation'\), got 'posthoc'"):
        CustomLoopLogger(kerasloss.MeanSquaredError(), tmp_path, run="posthoc")


@pytest.mark.parametrize("log_dir", ["", None])
def test_custom_loop_logger_needs_a_log_dir(log_dir):
    with pytest.raises(ValueError, match="log_dir must name a directory, got"):
        CustomLoopLogger(kerasloss.MeanSquaredError(), log_dir)


def test_custom_loop_logger_unwritable_log_dir_is_an_error_naming_it(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    log_dir = str(blocker / "logs")
    with pytest.raises(ValueError, match=re.escape(f"log_dir {log_dir!r} cannot be written")):
        CustomLoopLogger(kerasloss.MeanSquaredError(), log_dir)

