"""`wrap` any Keras loss as a kerasloss loss, and `get` a loss by name, config or object.

    wrap(loss)        a keras.losses.Loss, a loss name ("huber") or a function
                      (y_true, y_pred) -> per-example loss becomes a `WrappedLoss`: one component
                      named after the loss, reduced with the wrapped loss's own reduction, so
                      `loss_components` and every callback work with a loss a user already has.
    get(identifier)   resolves like `keras.losses.get`, but names and configs of the classes
                      kerasloss has ("huber", "mse", "CategoricalCrossentropy", ...) give kerasloss
                      classes; other Keras names, loss objects and functions are wrapped; kerasloss
                      losses pass through. Always a kerasloss loss (or None for None).
"""

import inspect

import keras
from keras import ops

from kerasloss._keras_compat import LossFunctionWrapper, get_keras_mask
from kerasloss.base import ComponentLoss, Terms, register

# keras.losses function names and aliases -> the class of the same loss
_CLASS_OF_FUNCTION = {
    "mean_squared_error": "MeanSquaredError", "mse": "MeanSquaredError", "MSE": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError", "mae": "MeanAbsoluteError", "MAE": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mape": "MeanAbsolutePercentageError", "MAPE": "MeanAbsolutePercentageError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "msle": "MeanSquaredLogarithmicError", "MSLE": "MeanSquaredLogarithmicError",
    "cosine_similarity": "CosineSimilarity", "huber": "Huber", "log_cosh": "LogCosh",
    "hinge": "Hinge", "squared_hinge": "SquaredHinge", "categorical_hinge": "CategoricalHinge",
    "kl_divergence": "KLDivergence", "kld": "KLDivergence", "KLD": "KLDivergence",
    "poisson": "Poisson",
    "binary_crossentropy": "BinaryCrossentropy", "bce": "BinaryCrossentropy", "BCE": "BinaryCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_generalized_cross_entropy": "CategoricalGeneralizedCrossEntropy",
    "dice": "Dice", "tversky": "Tversky", "circle": "Circle", "ctc": "CTC",
}


@register
class WrappedLoss(ComponentLoss):
    """A Keras loss as a kerasloss loss with one component, named after it.

    Formula:
        <component> = loss.call(y_true, y_pred)    (the wrapped loss's per-example values, inputs
                                                    converted to its dtype as Keras does)
        loss = <component>                         (reduced with `reduction`, sample weights and the
                                                    Keras masks of y_pred and of the values)

    Args:
        loss: a `keras.losses.Loss` (a function: see `wrap`).
        component: the component's name (`wrap` uses the loss's name).

    Example:
    >>> wrap(keras.losses.Huber())([[0.0]], [[2.0]])   # 1.5, component "huber_loss"
    """

    def __init__(self, loss, component, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(name=name or component, reduction=reduction, dtype=dtype)
        if isinstance(loss, dict):
            loss = keras.saving.deserialize_keras_object(loss)
        if not isinstance(loss, keras.losses.Loss):
            raise TypeError(f"loss must be a keras.losses.Loss, got {type(loss).__name__}")
        self.loss = loss
        self.component = str(component)
        # once: every call keys its results by the config (Keras warns on each lambda serialization)
        self._loss_config = _complete_config(loss)

    @property
    def component_weights(self):
        return {self.component: 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        dtype = self.loss.dtype
        y_true = ops.convert_to_tensor(y_true, dtype=dtype)
        values = self.loss.call(y_true, ops.convert_to_tensor(y_pred, dtype=dtype))
        mask = get_keras_mask(values)
        return Terms(values={self.component: values}, mask=None if mask is None else ops.cast(mask, "bool"))

    def get_config(self):
        return {
            **super().get_config(),
            "loss": self._loss_config,
            "component": self.component,
        }


def _complete_config(loss):
    """`loss` serialized by Keras, plus the constructor arguments its `get_config` drops.

    Keras 3.15.1's `Huber.get_config` drops `delta`, `CosineSimilarity`'s and
    `SparseCategoricalCrossentropy`'s drop `axis`, and every loss drops `dtype`: reloaded, the
    loss would compute something else (Huber(delta=0.5) trains on delta=1.0). A function loss
    keeps its arguments in `_fn_kwargs`; those the constructor takes by the same name, and a
    `dtype` other than the default, are put back.
    """
    config = keras.saving.serialize_keras_object(loss)
    inner = config.get("config") if isinstance(config, dict) else None
    if not isinstance(inner, dict):
        return config
    accepted = inspect.signature(type(loss).__init__).parameters
    for name, value in getattr(loss, "_fn_kwargs", {}).items():
        if name in accepted and name not in inner:
            inner[name] = keras.saving.serialize_keras_object(value)
    if "dtype" in accepted and inner.get("dtype") is None and loss.dtype != keras.config.floatx():
        inner["dtype"] = loss.dtype
    return config


def _function_name(function):
    return getattr(function, "__name__", type(function).__name__).strip("<>")


def wrap(loss):
    """`loss` as a kerasloss loss: kerasloss losses unchanged, anything else a `WrappedLoss`.

    Args:
        loss: a `keras.losses.Loss` (its name, reduction and per-example `call` are kept), a name
            `keras.losses.get` knows ("huber", "mse", ...) or a function (y_true, y_pred) ->
            per-example loss (reduced like Keras reduces a function loss: "sum_over_batch_size").

    A wrapped lambda or local function saves like Keras saves it, and loading it needs
    `safe_mode=False` (Keras' rule for lambdas); register a top-level function with
    `keras.saving.register_keras_serializable` to save and load it like any loss.
    """
    if isinstance(loss, ComponentLoss):
        return loss
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        return WrappedLoss(loss, loss.name, reduction=loss.reduction)
    if callable(loss) and not inspect.isclass(loss):
        name = _function_name(loss)
        return WrappedLoss(LossFunctionWrapper(loss, name=name), name)
    raise TypeError(
        "loss must be a keras.losses.Loss, a loss name or a function (y_true, y_pred) -> "
        f"per-example loss, got {loss!r}"
    )


def _kerasloss_class(name):
    """The kerasloss class that `name` (a class, function or alias name) stands for, or None."""
    if not isinstance(name, str):
        return None
    name = name.removeprefix("kerasloss>")
    found = keras.saving.get_registered_object(f"kerasloss>{_CLASS_OF_FUNCTION.get(name, name)}")
    return found if inspect.isclass(found) and issubclass(found, ComponentLoss) else None


def get(identifier):
    """A kerasloss loss from a name, a config dict, a loss object or a function (None for None).

    Names and configs of losses kerasloss has give its class (`get("huber")` is `Huber()`,
    `get({"class_name": "Huber", "config": {"delta": 2.0}})` is `Huber(delta=2.0)`); any other
    identifier `keras.losses.get` accepts is resolved by Keras and wrapped (see `wrap`).
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls = _kerasloss_class(identifier.get("class_name"))
        if cls is not None:
            return cls.from_config(identifier.get("config", {}))
        return wrap(keras.losses.deserialize(identifier))
    if isinstance(identifier, str):
        cls = _kerasloss_class(identifier)
        return cls() if cls is not None else wrap(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, keras.losses.Loss):
        cls = _kerasloss_class(identifier.__name__)
        return cls() if cls is not None else wrap(identifier())
    return wrap(identifier)


__all__ = ["WrappedLoss", "get", "wrap"]
