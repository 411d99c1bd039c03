"""Every bad-input row of issue 2: a ValueError/TypeError whose message names the argument."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend import set_keras_mask

import kerasloss
import kerasloss.callbacks

CROSS_ENTROPIES = [
    kerasloss.BinaryCrossentropy, kerasloss.CategoricalCrossentropy, kerasloss.SparseCategoricalCrossentropy,
]
ALL_LOSSES = CROSS_ENTROPIES + [
    kerasloss.MeanSquaredError, kerasloss.MeanAbsoluteError, kerasloss.RootMeanSquaredError,
]


@pytest.mark.parametrize("value", [-0.1, 1.5])
@pytest.mark.parametrize("cls", CROSS_ENTROPIES)
def test_label_smoothing_outside_0_1_is_refused(cls, value):
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got"):
        cls(label_smoothing=value)


@pytest.mark.parametrize("value", ["0.1", None, True])
@pytest.mark.parametrize("cls", CROSS_ENTROPIES)
def test_label_smoothing_that_is_not_a_number_is_refused(cls, value):
    with pytest.raises(TypeError, match="label_smoothing must be a number"):
        cls(label_smoothing=value)


@pytest.mark.parametrize("cls", [kerasloss.CategoricalCrossentropy, kerasloss.SparseCategoricalCrossentropy])
def test_negative_z_loss_is_refused(cls):
    with pytest.raises(ValueError, match="z_loss must be >= 0, got -0.1"):
        cls(from_logits=True, z_loss=-0.1)


@pytest.mark.parametrize("cls", [kerasloss.CategoricalCrossentropy, kerasloss.SparseCategoricalCrossentropy])
def test_z_loss_without_logits_is_refused(cls):
    with pytest.raises(ValueError, match="z_loss=0.1 needs logits .from_logits=True."):
        cls(from_logits=False, z_loss=0.1)


@pytest.mark.parametrize("cls", ALL_LOSSES)
def test_unknown_reduction_is_refused(cls):
    with pytest.raises(ValueError, match="reduction must be one of .*got 'average'"):
        cls(reduction="average")


@pytest.mark.parametrize("reduction", [None, "none"])
def test_rmse_refuses_per_element_reduction(reduction):
    with pytest.raises(ValueError, match=f"reduction={reduction!r}"):
        kerasloss.RootMeanSquaredError(reduction=reduction)


@pytest.mark.parametrize(
    "cls, y_true, y_pred",
    [
        (kerasloss.CategoricalCrossentropy, np.zeros((2, 3)), np.full((2, 4), 0.25, np.float32)),
        (kerasloss.BinaryCrossentropy, np.zeros((2, 3)), np.full((2, 4), 0.5, np.float32)),
        (kerasloss.MeanSquaredError, np.zeros((2, 3)), np.zeros((2, 4), np.float32)),
        (kerasloss.MeanAbsoluteError, np.zeros((2, 3)), np.zeros((2, 4), np.float32)),
        (kerasloss.RootMeanSquaredError, np.zeros((5, 3)), np.zeros((2, 3), np.float32)),
    ],
    ids=["categorical", "binary", "mse", "mae", "rmse_batch"],
)
def test_shapes_that_do_not_broadcast_are_refused(cls, y_true, y_pred):
    with pytest.raises(ValueError, match=r"y_true shape \(\d, 3\) and y_pred shape \(2, \d\)"):
        cls()(y_true, y_pred)


def test_sparse_loss_given_one_hot_labels_is_refused():
    with pytest.raises(ValueError, match=r"sparse labels .*got y_true shape \(2, 3\) that looks one-hot"):
        kerasloss.SparseCategoricalCrossentropy()(np.eye(3)[[0, 1]], np.full((2, 3), 1 / 3, np.float32))


def test_sparse_labels_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"sparse labels must be shaped \(2,\) .*got y_true shape \(3,\)"):
        kerasloss.SparseCategoricalCrossentropy()(np.array([0, 1, 2]), np.full((2, 3), 1 / 3, np.float32))


def test_fractional_sparse_labels_are_refused_eagerly():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match=r"sparse labels \(y_true\) must be integers in \[0, 3\), got \[1.5\]"):
        loss(np.array([0.0, 1.5]), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]], ids=["too_large", "negative"])
def test_sparse_labels_outside_the_class_range_are_refused_eagerly(labels):
    with pytest.raises(ValueError, match=r"sparse labels \(y_true\) must be integers in \[0, 3\)"):
        kerasloss.SparseCategoricalCrossentropy(from_logits=True)(labels, np.zeros((2, 3), np.float32))


def test_sparse_label_error_mentions_ignore_class_when_set():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    with pytest.raises(ValueError, match=r"or ignore_class=-1, got \[5\]"):
        loss(np.array([-1, 5]), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize(
    "cls, y_true",
    [
        (kerasloss.SparseCategoricalCrossentropy, np.array([0, 1])),
        (kerasloss.CategoricalCrossentropy, np.eye(2)),
        (kerasloss.BinaryCrossentropy, np.eye(2)),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_integer_predictions_are_refused(cls, y_true):
    with pytest.raises(TypeError, match="y_pred must be a floating-point tensor .*got dtype int32"):
        cls()(y_true, np.ones((2, 2), np.int32))


@pytest.mark.parametrize("value", [1.0, "3", True])
def test_ignore_class_that_is_not_an_int_is_refused(value):
    with pytest.raises(TypeError, match="ignore_class must be an int or None, got"):
        kerasloss.SparseCategoricalCrossentropy(ignore_class=value)


@pytest.mark.parametrize("losses", [{}, []], ids=["dict", "list"])
def test_composite_with_no_parts_is_refused(losses):
    with pytest.raises(ValueError, match="losses must .* at least one loss"):
        kerasloss.CompositeLoss(losses)


def test_composite_dict_weights_with_other_keys_are_refused():
    with pytest.raises(ValueError, match="weights must be a dict with the same keys as losses"):
        kerasloss.CompositeLoss({"a": kerasloss.MeanSquaredError()}, {"b": 1.0})


def test_composite_list_weights_of_another_length_are_refused():
    with pytest.raises(ValueError, match="weights must be a list of 2 numbers"):
        kerasloss.CompositeLoss([kerasloss.MeanSquaredError(), kerasloss.MeanAbsoluteError()], [1.0])


def test_composite_part_that_is_not_a_kerasloss_loss_is_refused():
    with pytest.raises(TypeError, match=r"losses\['a'\] must be a kerasloss loss"):
        kerasloss.CompositeLoss({"a": keras.losses.MeanSquaredError()})


def test_composite_parts_with_different_reductions_are_refused():
    with pytest.raises(ValueError, match="losses must share one reduction"):
        kerasloss.MeanSquaredError(reduction="sum") + kerasloss.MeanAbsoluteError()


def test_axis_outside_the_prediction_rank_is_refused():
    with pytest.raises(ValueError, match="axis must index y_pred of rank 2, got axis=2"):
        kerasloss.CategoricalCrossentropy(axis=2)(np.eye(2), np.eye(2, dtype=np.float32))


def test_unknown_entropy_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of .*got 'poisson'"):
        kerasloss.prediction_entropy(np.eye(2, dtype=np.float32), kind="poisson")


def test_keras_mask_that_cannot_align_with_the_loss_names_the_mask():
    y_pred = tf.fill((2, 3), 0.5)
    set_keras_mask(y_pred, tf.ones((2, 3), tf.bool))
    expected = r"the Keras mask of y_pred shape \(2, 3\) does not broadcast .* \(2,\)"
    with pytest.raises(ValueError, match=expected):
        kerasloss.BinaryCrossentropy()(np.zeros((2, 3)), y_pred)


def test_sample_weight_that_cannot_align_with_the_loss_is_refused():
    with pytest.raises(ValueError, match=r"sample_weight shape \(2, 3\) does not broadcast .* \(2,\)"):
        kerasloss.MeanSquaredError()(np.zeros((2, 3)), np.zeros((2, 3), np.float32), np.ones((2, 3)))


@pytest.mark.parametrize("cls", ALL_LOSSES)
def test_unknown_reduction_ends_with_keras_words(cls):
    # code written against Keras matches its message: "Invalid value for argument `reduction`"
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`. Received: reduction=abc"):
        cls(reduction="abc")


def test_shape_mismatch_ends_with_keras_words():
    with pytest.raises(ValueError, match="must be equal for binary cross-entropy.*must have the same shape"):
        kerasloss.BinaryCrossentropy()(np.zeros((3, 1)), np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="do not broadcast.*Arguments `target` and `output` must have the same shape"):
        kerasloss.MeanSquaredError()(np.zeros((2, 3)), np.zeros((2, 4), np.float32))


_Y4 = np.random.default_rng(0).uniform(size=(4, 3)).astype("float32")
_LABELS4 = np.array([0, 1, 2, 1])


@pytest.mark.parametrize("call", [
    lambda: kerasloss.BinaryCrossentropy(axis=5)(_Y4, _Y4),
    lambda: kerasloss.BinaryFocalCrossentropy(axis=5)(_Y4, _Y4),
    lambda: kerasloss.Dice(axis=5)(_Y4, _Y4),
    lambda: kerasloss.Dice(axis=(1, 5))(_Y4, _Y4),
    lambda: kerasloss.Tversky(axis=-3)(_Y4, _Y4),
    lambda: kerasloss.prediction_entropy(_Y4, axis=5),
    lambda: kerasloss.metrics.PredictionEntropy(axis=5).update_state(_Y4, _Y4),
], ids=["binary_crossentropy", "binary_focal", "dice", "dice_tuple", "tversky", "prediction_entropy",
        "PredictionEntropy"])
def test_axis_outside_the_prediction_rank_is_refused_naming_it_everywhere(call):
    # was a bare IndexError (reduction.py) or the backend's own error (Dice, Tversky)
    with pytest.raises(ValueError, match=r"axis must index y_pred of rank 2, got axis=-?\d \(expected an int in \[-2, 2\)\)"):
        call()


@pytest.mark.parametrize("call", [
    lambda w: kerasloss.MeanSquaredError()(_Y4, _Y4, sample_weight=w),
    lambda w: kerasloss.SparseCategoricalCrossentropy()(_LABELS4, _Y4, sample_weight=w),
    lambda w: kerasloss.Dice(axis=1)(_Y4, _Y4, sample_weight=w),
    lambda w: kerasloss.wrap(keras.losses.Huber())(_Y4, _Y4, sample_weight=w),
    lambda w: (kerasloss.MeanSquaredError() + kerasloss.Huber())(_Y4, _Y4, sample_weight=w),
    lambda w: kerasloss.metrics.LossComponent(kerasloss.MeanSquaredError(), "squared_error").update_state(
        _Y4, _Y4, sample_weight=w),
], ids=["mse", "sparse_crossentropy", "dice", "wrapped", "composite", "LossComponent"])
def test_sample_weight_one_entry_short_is_refused_naming_it(call):
    # was the backend's raw shape error (InvalidArgumentError, RuntimeError, TypeError)
    with pytest.raises(ValueError, match=r"sample_weight shape \(3,\) does not broadcast to the per-example loss shape \(4,\)"):
        call(np.ones(3, "float32"))


@pytest.mark.parametrize("build, name", [
    (lambda v: kerasloss.SparseCategoricalCrossentropy(from_logits=v), "from_logits"),
    (lambda v: kerasloss.BinaryFocalCrossentropy(apply_class_balancing=v), "apply_class_balancing"),
    (lambda v: kerasloss.Circle(remove_diagonal=v), "remove_diagonal"),
    (lambda v: kerasloss.GaussianNLL(full=v), "full"),
    (lambda v: kerasloss.metrics.PredictionEntropy(normalize=v), "normalize"),
    (lambda v: kerasloss.callbacks.PredictionEntropyLogger("unused_log_dir", None, from_logits=v), "from_logits"),
], ids=["from_logits", "apply_class_balancing", "remove_diagonal", "full", "normalize", "logger_from_logits"])
def test_a_flag_that_is_not_a_bool_is_refused_naming_it(build, name, tmp_path, monkeypatch):
    # bool("False") is True: a silent wrong flag
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TypeError, match=rf"{name} must be True or False, got 'False'"):
        build("False")
