"""`kerasloss.wrap` (any Keras loss as a one-component kerasloss loss) and `kerasloss.get`
(names, configs and objects resolved like keras.losses.get, to kerasloss classes where we have them)."""

import keras
import numpy as np
import pytest
from keras import ops
from keras.src.backend import set_keras_mask

import kerasloss
from kerasloss.metrics import loss_components
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(24)
Y_TRUE = RNG.normal(size=(8, 3)).astype(np.float32)
Y_PRED = RNG.normal(size=(8, 3)).astype(np.float32)
WEIGHT = RNG.uniform(0.1, 2.0, 8).astype(np.float32)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


@keras.saving.register_keras_serializable(package="kerasloss_tests")
def cubic_error(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred) ** 3, axis=-1)


@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize(
    "keras_loss",
    [keras.losses.Huber, keras.losses.MeanSquaredLogarithmicError, keras.losses.LogCosh],
    ids=lambda cls: cls.__name__,
)
def test_wrapped_keras_loss_equals_it_for_every_reduction(keras_loss, reduction):
    original = keras_loss(reduction=reduction)
    wrapped = kerasloss.wrap(original)
    assert wrapped.reduction == reduction
    assert wrapped.component_weights == {original.name: 1.0}
    np.testing.assert_allclose(
        _np(wrapped(Y_TRUE, Y_PRED, WEIGHT)), _np(original(Y_TRUE, Y_PRED, WEIGHT)), rtol=1e-6
    )


def test_wrapped_name_and_function_are_named_after_the_loss_and_reduce_like_keras():
    by_name, by_function = kerasloss.wrap("huber"), kerasloss.wrap(cubic_error)
    assert by_name.component_weights == {"huber": 1.0} and by_name.name == "huber"
    assert by_function.component_weights == {"cubic_error": 1.0}
    np.testing.assert_allclose(
        _np(by_name(Y_TRUE, Y_PRED, WEIGHT)), _np(keras.losses.Huber()(Y_TRUE, Y_PRED, WEIGHT)), rtol=1e-6
    )
    cubic = np.mean(np.abs(Y_TRUE.astype(np.float64) - Y_PRED) ** 3, -1)
    np.testing.assert_allclose(_np(by_function(Y_TRUE, Y_PRED, WEIGHT)), np.mean(WEIGHT * cubic), rtol=1e-5)


def test_kerasloss_losses_are_not_wrapped_again():
    loss = kerasloss.Huber()
    assert kerasloss.wrap(loss) is loss and kerasloss.get(loss) is loss


def test_wrapped_loss_honours_the_keras_mask_of_its_predictions():
    y_true, y_pred = RNG.normal(size=(3, 4, 2)).astype(np.float32), RNG.normal(size=(3, 4, 2)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], bool)

    def masked():
        tensor = ops.convert_to_tensor(y_pred)
        set_keras_mask(tensor, ops.convert_to_tensor(mask))
        return tensor

    original = keras.losses.MeanAbsoluteError()
    np.testing.assert_allclose(
        _np(kerasloss.wrap(original)(y_true, masked())), _np(original(y_true, masked())), rtol=1e-6
    )


def test_loss_components_log_the_wrapped_loss_in_evaluate():
    loss = kerasloss.wrap(keras.losses.Huber(delta=0.5))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    model.compile(loss=loss, metrics=loss_components(loss))
    results = model.evaluate(Y_PRED, Y_TRUE, verbose=0, return_dict=True)
    assert results["loss/huber_loss"] == pytest.approx(results["loss"], rel=1e-6)


@pytest.mark.parametrize(
    "build",
    [lambda: kerasloss.wrap(keras.losses.Huber(reduction="sum")), lambda: kerasloss.wrap("log_cosh"),
     lambda: kerasloss.wrap(cubic_error)],
    ids=["object", "name", "registered_function"],
)
def test_model_with_a_wrapped_loss_survives_a_keras_file_round_trip(build, tmp_path):
    loss = build()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=loss)
    before = model.evaluate(Y_PRED, Y_TRUE, verbose=0)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored.loss) is kerasloss.WrappedLoss
    assert restored.loss.get_config() == loss.get_config()
    assert restored.evaluate(Y_PRED, Y_TRUE, verbose=0) == pytest.approx(before, rel=1e-6)


def test_a_wrapped_lambda_loads_only_with_safe_mode_off_like_keras(tmp_path):
    with pytest.warns(UserWarning, match="lambda"):  # Keras' warning, once, when it is wrapped
        loss = kerasloss.wrap(lambda y_true, y_pred: (y_true - y_pred) ** 2)  # no globals needed
    assert loss.name == "lambda"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=loss)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="lambda"):
        keras.models.load_model(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_allclose(_np(restored.loss(Y_TRUE, Y_PRED)), np.mean((Y_TRUE - Y_PRED) ** 2), rtol=1e-5)


def test_wrapped_loss_refuses_what_is_not_a_keras_loss():
    with pytest.raises(TypeError, match=r"loss must be a keras.losses.Loss, got function"):
        kerasloss.WrappedLoss(cubic_error, "cubic")


def test_wrap_refuses_what_is_not_a_loss():
    with pytest.raises(TypeError, match=r"loss must be a keras.losses.Loss, a loss name or a function"):
        kerasloss.wrap(3)
    with pytest.raises(ValueError, match="no_such_loss"):
        kerasloss.wrap("no_such_loss")


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("huber", kerasloss.Huber), ("Huber", kerasloss.Huber), ("mse", kerasloss.MeanSquaredError),
        ("MAPE", kerasloss.MeanAbsolutePercentageError), ("kld", kerasloss.KLDivergence),
        ("categorical_crossentropy", kerasloss.CategoricalCrossentropy),
        ("squared_hinge", kerasloss.SquaredHinge), ("kerasloss>Poisson", kerasloss.Poisson),
        (keras.losses.CosineSimilarity, kerasloss.CosineSimilarity),
        ({"class_name": "Huber", "config": {"delta": 2.0}}, kerasloss.Huber),
        (keras.saving.serialize_keras_object(kerasloss.LogCosh(reduction="sum")), kerasloss.LogCosh),
    ],
    ids=str,
)
def test_get_resolves_names_classes_and_configs_to_kerasloss_classes(identifier, cls):
    assert type(kerasloss.get(identifier)) is cls


def test_get_keeps_the_config_and_equals_the_keras_loss_of_the_same_name():
    assert kerasloss.get({"class_name": "Huber", "config": {"delta": 2.0}}).delta == 2.0
    for name in ("huber", "mse", "log_cosh", "cosine_similarity", "msle"):
        np.testing.assert_allclose(
            _np(kerasloss.get(name)(np.abs(Y_TRUE), np.abs(Y_PRED))),
            _np(keras.losses.get(name)(np.abs(Y_TRUE), np.abs(Y_PRED))).mean(), rtol=1e-6, err_msg=name,
        )


def test_get_wraps_keras_objects_and_functions_and_passes_none():
    assert kerasloss.get(None) is None
    wrapped = kerasloss.get(keras.losses.Huber(delta=0.5))
    assert type(wrapped) is kerasloss.WrappedLoss and wrapped.loss._fn_kwargs == {"delta": 0.5}
    assert kerasloss.get(cubic_error).component_weights == {"cubic_error": 1.0}
    with pytest.raises(ValueError, match="no_such_loss"):
        kerasloss.get("no_such_loss")


def test_wrapped_huber_keeps_its_delta_through_a_keras_file(tmp_path):
    # Keras 3.15.1's Huber.get_config drops delta: reloaded, 0.875 would become 1.5
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile("sgd", loss=kerasloss.get(keras.losses.Huber(delta=0.5)))
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    value = reloaded.loss(np.array([[2.0]], "float32"), np.array([[0.0]], "float32"))
    assert float(value) == pytest.approx(0.875)


_KERAS_LOSSES = sorted(
    name for name in dir(keras.losses)
    if isinstance(getattr(keras.losses, name), type) and issubclass(getattr(keras.losses, name), keras.losses.Loss)
    and getattr(keras.losses, name) is not keras.losses.Loss
)


@pytest.mark.parametrize("name", _KERAS_LOSSES)
def test_a_wrapped_keras_loss_saves_every_constructor_argument(name):
    import inspect

    cls = getattr(keras.losses, name)
    arguments = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    config = kerasloss.wrap(cls(dtype="float64")).get_config()["loss"]["config"]
    assert arguments <= set(config), sorted(arguments - set(config))
    restored = kerasloss.WrappedLoss.from_config(kerasloss.wrap(cls(dtype="float64")).get_config())
    assert restored.loss.get_config() == cls(dtype="float64").get_config() and restored.loss.dtype == "float64"


def test_a_wrapped_cosine_similarity_keeps_its_axis_through_its_config():
    loss = keras.losses.CosineSimilarity(axis=0)
    y_true, y_pred = np.array([[1.0, 0.0], [1.0, 0.0]], "float32"), np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    restored = kerasloss.WrappedLoss.from_config(kerasloss.wrap(loss).get_config())
    assert _np(restored(y_true, y_pred)) == pytest.approx(_np(loss(y_true, y_pred)), rel=1e-6)
