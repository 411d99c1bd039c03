"""The keras.losses functions (kerasloss.losses.functions): every one and every alias exists under
the same name with the same signature, and returns the same per-example values as Keras'."""

import inspect

import keras
import numpy as np
import pytest
from keras import ops

import kerasloss
from tests.helpers import keras_parity as parity
from tests.helpers import tfa_reference as tfa

RNG = np.random.default_rng(18203)
B, K = 6, 4


def _unit_rows(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _cases():
    """name -> (y_true, y_pred, keyword arguments): inputs each Keras function is defined on."""
    normal = lambda *shape: RNG.normal(size=shape).astype(np.float32)  # noqa: E731
    uniform = lambda *shape: RNG.uniform(0.05, 0.95, shape).astype(np.float32)  # noqa: E731
    binary = (RNG.uniform(size=(B, K)) > 0.5).astype(np.float32)
    one_hot = np.eye(K, dtype=np.float32)[RNG.integers(0, K, B)]
    sparse = RNG.integers(0, K, B)
    probabilities = uniform(B, K) / uniform(B, K).sum(-1, keepdims=True)
    probabilities = (probabilities / probabilities.sum(-1, keepdims=True)).astype(np.float32)
    return {
        "mean_squared_error": (normal(B, K), normal(B, K), {}),
        "mean_absolute_error": (normal(B, K), normal(B, K), {}),
        "mean_absolute_percentage_error": (normal(B, K), normal(B, K), {}),
        "mean_squared_logarithmic_error": (uniform(B, K), uniform(B, K), {}),
        "cosine_similarity": (normal(B, K), normal(B, K), {"axis": 0}),
        "huber": (normal(B, K), normal(B, K), {"delta": 0.7}),
        "log_cosh": (normal(B, K), normal(B, K), {}),
        "hinge": (binary, normal(B, K), {}),
        "squared_hinge": (binary, normal(B, K), {}),
        "categorical_hinge": (one_hot, normal(B, K), {}),
        "kl_divergence": (probabilities, probabilities[::-1].copy(), {}),
        "poisson": (uniform(B, K), uniform(B, K), {}),
        "binary_crossentropy": (binary, normal(B, K), {"from_logits": True, "label_smoothing": 0.1}),
        "categorical_crossentropy": (one_hot, normal(B, K), {"from_logits": True, "label_smoothing": 0.2}),
        "sparse_categorical_crossentropy": (sparse, normal(B, K), {"from_logits": True, "ignore_class": 1}),
        "binary_focal_crossentropy": (binary, uniform(B, K), {"apply_class_balancing": True, "gamma": 1.5}),
        "categorical_focal_crossentropy": (one_hot, probabilities, {"alpha": 0.5, "gamma": 1.5}),
        "categorical_generalized_cross_entropy": (sparse, probabilities, {"q": 0.3}),
        "ctc": (np.array([[1, 2, 0], [3, 0, 0]]), normal(2, 5, K), {}),
        "dice": (binary, uniform(B, K), {"axis": 1}),
        "tversky": (binary, uniform(B, K), {"alpha": 0.5, "beta": 0.5, "axis": 1}),
        "circle": (np.array([0, 0, 1, 1, 2, 3]), _unit_rows(normal(B, K)), {"gamma": 2.0, "margin": 0.3}),
    }


CASES = _cases()
KERAS_FUNCTIONS = sorted(
    name for name, value in vars(keras.losses).items()
    if inspect.isfunction(value) and name not in ("get", "serialize", "deserialize")
)
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
           "msle": "mean_squared_logarithmic_error", "kld": "kl_divergence", "bce": "binary_crossentropy",
           "kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh"}


def test_every_keras_function_has_a_case_here():
    assert sorted(CASES) == KERAS_FUNCTIONS


@pytest.mark.parametrize("name", KERAS_FUNCTIONS)
def test_signature_equals_keras(name):
    assert inspect.signature(getattr(kerasloss, name)) == inspect.signature(getattr(keras.losses, name))


@pytest.mark.parametrize("name", KERAS_FUNCTIONS)
def test_per_example_values_equal_keras(name):
    y_true, y_pred, kwargs = CASES[name]
    # Keras' torch backend multiplies NumPy arrays with tensors in a few functions: give it tensors
    y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
    got = parity.as_numpy(getattr(kerasloss, name)(y_true, y_pred, **kwargs))
    expected = parity.as_numpy(getattr(keras.losses, name)(y_true, y_pred, **kwargs))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_tversky_weighs_false_positives_by_alpha_like_the_class():
    # Keras 3.15 swaps alpha and beta (fixed in keras-team/keras#23333); the function follows the class
    y_true, y_pred = np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]], np.float32)
    np.testing.assert_allclose(parity.as_numpy(kerasloss.tversky(y_true, y_pred, alpha=1.0, beta=0.0)),
                               parity.as_numpy(kerasloss.Tversky(alpha=1.0, beta=0.0, axis=1, reduction=None)(
                                   y_true, y_pred)), rtol=1e-6)


@pytest.mark.parametrize("alias, name", sorted(ALIASES.items()))
def test_aliases_are_the_same_functions(alias, name):
    assert getattr(kerasloss, alias) is getattr(kerasloss, name) is getattr(kerasloss.losses, alias)


def test_ignored_class_gives_zero_like_keras():
    y_true, y_pred, _ = CASES["sparse_categorical_crossentropy"]
    values = parity.as_numpy(kerasloss.sparse_categorical_crossentropy(y_true, y_pred, True, ignore_class=1))
    assert np.all(values[y_true == 1] == 0.0) and np.all(values[y_true != 1] > 0.0)


def test_tensorflow_addons_functions_of_the_losses_kept_here():
    y_true, y_pred = RNG.normal(size=(5, 3)).astype(np.float32), RNG.normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(parity.as_numpy(kerasloss.pinball_loss(y_true, y_pred, tau=0.2)),
                               tfa.pinball(y_true, y_pred, 0.2), rtol=1e-6)
    similar, distance = RNG.integers(0, 2, 8), np.abs(RNG.normal(size=8)).astype(np.float32)
    np.testing.assert_allclose(parity.as_numpy(kerasloss.contrastive_loss(similar, distance, margin=0.5)),
                               tfa.contrastive(similar, distance, 0.5), rtol=1e-6)
    labels = RNG.integers(0, 3, 12)
    embeddings = RNG.normal(size=(12, 4)).astype(np.float32)
    for metric in ("L2", "squared-L2", "angular"):
        np.testing.assert_allclose(parity.as_numpy(kerasloss.triplet_semihard_loss(labels, embeddings, 0.5, metric)),
                                   tfa.triplet_semihard(labels, embeddings, 0.5, metric)[0], rtol=1e-5)
