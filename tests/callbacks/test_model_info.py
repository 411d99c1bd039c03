"""What the callbacks read of a model (`callbacks/_model_info.py`): each compile entry read as the
loss object Keras' own `get_loss` makes of it for that output, named and weighted as Keras' logs
name and weigh it, and each output's part of the labels and predictions."""

import keras
import numpy as np
import pytest
from keras.src.trainers.compile_utils import get_loss

from kerasloss import SparseCategoricalCrossentropy
from kerasloss.callbacks import ExampleLedger, LossMonitor
from kerasloss.callbacks._model_info import (
    classification_settings,
    classifier_settings,
    compile_entry,
    loss_entropy_settings,
    output_losses,
    resolved_compile_loss,
    select_output,
)
from tests.helpers import tensorboard_reader as tb


def _two_outputs(as_dict):
    inputs = keras.Input((5,))
    wide, narrow = keras.layers.Dense(3, name="wide")(inputs), keras.layers.Dense(1, name="narrow")(inputs)
    return keras.Model(inputs, {"wide": wide, "narrow": narrow} if as_dict else [wide, narrow])


@pytest.mark.parametrize("as_dict", [True, False], ids=["dict-outputs", "list-outputs"])
@pytest.mark.parametrize("name", ["crossentropy", "ce", "CE"])
def test_the_name_is_the_cross_entropy_keras_picks_for_each_output(as_dict, name):
    model = _two_outputs(as_dict)
    for output, width in (("wide", 3), ("narrow", 1)):
        keras_pick = get_loss(name, np.zeros((2, width), "float32"), np.zeros((2, width), "float32"))
        assert resolved_compile_loss(name, model, output).fn is keras_pick.fn  # one-hot labels: not sparse
        single = keras.Sequential([keras.Input((5,)), keras.layers.Dense(width)])
        single.compile("sgd", loss=name)
        assert loss_entropy_settings(single) == (False, "binary" if width == 1 else "categorical", -1)


@pytest.mark.parametrize("entry, kind", [
    (keras.losses.sparse_categorical_crossentropy, "categorical"),
    (keras.losses.categorical_focal_crossentropy, "categorical"),
    (keras.losses.binary_crossentropy, "binary"),
    ("binary_focal_crossentropy", "binary"),
    ("SparseCategoricalCrossentropy", "categorical"),
], ids=lambda value: getattr(value, "__name__", value))
def test_a_bare_keras_function_or_name_is_read_as_keras_wraps_it(entry, kind):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1 if kind == "binary" else 3)])
    model.compile("sgd", loss=entry)
    resolved = resolved_compile_loss(entry, model, None)
    assert isinstance(resolved, keras.losses.Loss)
    assert loss_entropy_settings(model) == (False, kind, -1)  # Keras' defaults: probabilities, last axis
    assert classifier_settings(model) == (False, kind, 0.0)


def test_other_functions_are_no_classification_loss():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    for entry in ("mse", keras.losses.mean_absolute_error, lambda y_true, y_pred: y_pred):
        model.compile("sgd", loss=entry)
        assert loss_entropy_settings(model) is None and classifier_settings(model) is None
    assert classification_settings("sparse_categorical_crossentropy") is None  # a name is no loss object


def test_loss_objects_and_models_without_known_outputs_keep_the_entry():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    loss = keras.losses.MeanSquaredError()
    assert resolved_compile_loss(loss, _two_outputs(True), "wide") is loss
    assert resolved_compile_loss("ce", Subclassed(), None) == "ce"
    assert resolved_compile_loss("ce", keras.Sequential([keras.layers.Dense(3)]), None) == "ce"  # not built
    assert resolved_compile_loss("mse", Subclassed(), None).fn is keras.losses.mean_squared_error


@pytest.mark.parametrize("loss_weights, weight", [(None, 1.0), (0.25, 0.25), ([0.25], 0.25), ({"only": 0.25}, 0.25)],
                         ids=["none", "number", "list-of-one", "dict-of-one"])
def test_a_single_outputs_weight_is_the_one_keras_applies(loss_weights, weight):
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="only")(inputs))
    model.compile("sgd", loss="mse", loss_weights=loss_weights)
    assert output_losses(model) == [(None, "mse", weight)]


def test_a_single_loss_is_every_outputs_with_its_weight():
    model = _two_outputs(as_dict=True)
    model.compile("sgd", loss="categorical_crossentropy", loss_weights=0.5)
    assert sorted(output_losses(model)) == [("narrow", "categorical_crossentropy", 0.5),
                                            ("wide", "categorical_crossentropy", 0.5)]
    assert loss_entropy_settings(model, "narrow") == (False, "categorical", -1)


@pytest.mark.parametrize("entry", [{"only": "binary_crossentropy"}, ["binary_crossentropy"]], ids=["dict", "list"])
def test_a_single_output_compiled_by_name_is_the_unnamed_only_output(entry):
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="only")(inputs))
    model.compile("sgd", loss=entry)
    assert output_losses(model) == [(None, "binary_crossentropy", 1.0)]
    for output in (None, "only"):  # the output's name, or none: the same loss
        assert compile_entry(model, output) == "binary_crossentropy"
        assert classifier_settings(model, output) == (False, "binary", 0.0)


def test_a_single_output_given_as_a_dict_or_list_of_one_is_selected_without_a_name():
    inputs = keras.Input((5,))
    model = keras.Model(inputs, {"only": keras.layers.Dense(3, name="only")(inputs)})
    value = np.zeros((2, 3))
    for given in ({"only": value}, [value], (value,), value):
        assert select_output(given, model, None) is value
    assert select_output({"only": value}, model, "only") is value
    with pytest.raises(ValueError, match=r"keyed \['a', 'b'\]: none is output 'c'"):
        select_output({"a": value, "b": value}, _two_outputs(as_dict=True), "c")


def test_held_out_callbacks_follow_a_model_whose_one_output_is_a_dict(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 5)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, 32)
    inputs = keras.Input((5,))
    model = keras.Model(inputs, {"only": keras.layers.Dense(3, name="only")(inputs)})
    model.compile("sgd", loss=SparseCategoricalCrossentropy(from_logits=True))
    ledger = ExampleLedger(tmp_path / "ledger", (x, y))
    model.fit(x, y, epochs=1, verbose=0,
              callbacks=[ledger, LossMonitor(tmp_path / "monitor", (x, y), ["accuracy"])])
    logits = model.predict(x, verbose=0)["only"]
    expected = np.mean(np.argmax(logits, -1) == y)
    assert tb.scalars(tmp_path / "monitor", "posthoc")["metrics/accuracy"][-1][1] == pytest.approx(expected)
    assert ledger.table(sort="id")["predicted"].tolist() == np.argmax(logits, -1).tolist()


@pytest.mark.parametrize("loss, loss_weights", [
    ({"wide": "mse", "narrow": "mae"}, [0.5, 2.0]),
    (["mse", "mae"], {"wide": 0.5, "narrow": 2.0}),
], ids=["list-for-dict", "dict-for-list"])
def test_weights_not_in_the_structure_of_the_losses_are_said_unread(loss, loss_weights):
    model = _two_outputs(as_dict=False)
    model.compile("sgd", loss=loss, loss_weights=loss_weights)
    with pytest.warns(UserWarning, match=r"loss_weights is a \w+ for a \w+ of losses: Keras pairs them"):
        assert sorted(weight for _, _, weight in output_losses(model)) == [1.0, 1.0]
