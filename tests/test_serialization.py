"""Every loss survives get_config/from_config and a .keras round trip with no custom_objects."""

import inspect

import keras
import numpy as np
import pytest

import kerasloss

RNG = np.random.default_rng(6)
X = RNG.normal(size=(8, 3)).astype(np.float32)

LOSSES = {
    "mse": (lambda: kerasloss.MeanSquaredError(reduction="sum"), RNG.normal(size=(8, 2))),
    "rmse": (
        lambda: kerasloss.RootMeanSquaredError(reduction="mean_with_sample_weight"), RNG.normal(size=(8, 2)),
    ),
    "mae": (lambda: kerasloss.MeanAbsoluteError(name="l1"), RNG.normal(size=(8, 2))),
    "bce": (
        lambda: kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        RNG.integers(0, 2, (8, 2)).astype(np.float32),
    ),
    "cce": (
        lambda: kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2, z_loss=1e-3),
        np.eye(2, dtype=np.float32)[RNG.integers(0, 2, 8)],
    ),
    "scce": (
        lambda: kerasloss.SparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=0.1, ignore_class=1
        ),
        RNG.integers(0, 2, 8),
    ),
    "composite": (
        lambda: kerasloss.MeanSquaredError() + 0.5 * kerasloss.RootMeanSquaredError(),
        RNG.normal(size=(8, 2)),
    ),
    "composite_dict": (
        lambda: kerasloss.CompositeLoss(
            {"fit": kerasloss.MeanAbsoluteError(), "scale": kerasloss.MeanSquaredError()},
            {"fit": 1.0, "scale": 0.1},
        ),
        RNG.normal(size=(8, 2)),
    ),
}


@pytest.mark.parametrize("case", list(LOSSES))
def test_keras_serialization_round_trip_rebuilds_the_same_loss(case):
    loss = LOSSES[case][0]()
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(clone) is type(loss)
    assert clone.get_config() == loss.get_config()


@pytest.mark.parametrize("case", list(LOSSES))
def test_model_compiled_with_the_loss_survives_a_keras_file_round_trip(case, tmp_path):
    build, y = LOSSES[case]
    loss = build()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=loss)
    before = model.evaluate(X, y, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored.loss) is type(loss)
    assert restored.loss.get_config() == loss.get_config()
    assert restored.evaluate(X, y, verbose=0) == pytest.approx(before, rel=1e-6)


def test_restored_composite_keeps_its_part_names_and_weights(tmp_path):
    loss = kerasloss.MeanSquaredError() + 0.5 * kerasloss.MeanAbsoluteError()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(loss=loss)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras").loss
    assert restored.component_weights == {"mean_squared_error": 1.0, "mean_absolute_error": 0.5}
    assert {name: type(part) for name, (part, _) in restored.parts.items()} == {
        "mean_squared_error": kerasloss.MeanSquaredError, "mean_absolute_error": kerasloss.MeanAbsoluteError,
    }


@pytest.mark.parametrize("cls", [
    kerasloss.MeanSquaredError, kerasloss.RootMeanSquaredError, kerasloss.MeanAbsoluteError,
    kerasloss.BinaryCrossentropy, kerasloss.CategoricalCrossentropy, kerasloss.SparseCategoricalCrossentropy,
    kerasloss.CompositeLoss,
])
def test_every_class_is_registered_under_the_kerasloss_package(cls):
    assert keras.saving.get_registered_name(cls) == f"kerasloss>{cls.__name__}"


@pytest.mark.parametrize("case", list(LOSSES))
def test_get_config_names_every_constructor_argument(case):
    loss = LOSSES[case][0]()
    arguments = set(inspect.signature(type(loss).__init__).parameters) - {"self"}
    # "dtype" only when one was given, as Keras' get_config leaves it out
    assert set(loss.get_config()) == arguments - {"dtype"}
    assert type(loss).from_config({**loss.get_config(), "dtype": "float64"}).get_config()["dtype"] == "float64"


# what our configs hold beyond Keras': our own arguments (z_loss, the sparse and generalized
# cross-entropies' label smoothing) and the arguments Keras 3.15's get_config drops (so a reloaded
# Keras loss loses them)
KEPT_BEYOND_KERAS = {"CategoricalCrossentropy": {"z_loss"}, "CategoricalGeneralizedCrossEntropy": {"label_smoothing"},
                     "CosineSimilarity": {"axis"}, "Huber": {"delta"},
                     "SparseCategoricalCrossentropy": {"label_smoothing", "axis", "z_loss"}}
KERAS_CLASSES = sorted(
    name for name, value in vars(keras.losses).items()
    if inspect.isclass(value) and issubclass(value, keras.losses.Loss) and value is not keras.losses.Loss
)


@pytest.mark.parametrize("name", KERAS_CLASSES)
def test_get_config_equals_keras_plus_only_what_keras_drops(name):
    ours, theirs = getattr(kerasloss, name)(reduction="sum"), getattr(keras.losses, name)(reduction="sum")
    config = ours.get_config()
    assert {key: config[key] for key in theirs.get_config()} == theirs.get_config()
    assert set(config) - set(theirs.get_config()) == KEPT_BEYOND_KERAS.get(name, set())
