"""What the callbacks read of a model (`callbacks/_model_info.py`): Keras' "crossentropy" / "ce"
compile names read as the cross-entropy Keras' own `get_loss` picks for each output."""

import keras
import numpy as np
import pytest
from keras.src.trainers.compile_utils import get_loss

from kerasloss.callbacks._model_info import by_output_width, loss_entropy_settings


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
        assert by_output_width(name, model, output) == keras_pick.fn.__name__  # one-hot labels: not sparse
        single = keras.Sequential([keras.Input((5,)), keras.layers.Dense(width)])
        single.compile("sgd", loss=name)
        assert loss_entropy_settings(single) == (False, "binary" if width == 1 else "categorical", -1)


def test_other_losses_and_models_without_known_outputs_keep_the_entry():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    loss = keras.losses.MeanSquaredError()
    assert by_output_width(loss, _two_outputs(True), "wide") is loss
    assert by_output_width("mse", _two_outputs(True), "wide") == "mse"
    assert by_output_width("ce", Subclassed(), None) == "ce"
    assert by_output_width("ce", keras.Sequential([keras.layers.Dense(3)]), None) == "ce"  # not built
