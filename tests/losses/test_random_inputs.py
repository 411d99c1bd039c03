"""Random inputs thrown at every loss: a clear error, or a finite value equal to NumPy's.

Hypothesis draws a loss (every class, and a composite), its arguments, ranks and shapes (empty
batches included), dtypes of predictions (float16, bfloat16, float32, float64, and integers, which
are refused) and of labels (integers, 16-bit and 64-bit floats), sample weights and Keras masks.
Every draw must give either a `TypeError`/`ValueError` naming what is wrong, or a finite value
equal (float32 accuracy) to the independent float64 reference in `tests/helpers/numpy_reference.py`,
computed on the same rounded inputs. Empty batches give 0. Labels above 2**24 stay exact.
"""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasloss
from tests.helpers import numpy_reference as ref
from kerasloss._keras_compat import get_keras_mask

FAMILIES = ("mse", "mae", "rmse", "composite", "binary", "categorical", "sparse")
# integer predictions are converted to float32 by these, as keras.losses does (ratings are integers)
REGRESSION = ("mse", "mae", "rmse", "composite")
# JAX without jax_enable_x64 has no float64 (its float64 inputs become float32)
PRED_DTYPES = tuple(d for d in ("float16", "bfloat16", "float32", "float64", "int32")
                    if d != "float64" or keras.backend.backend() != "jax")
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None)
FLOAT32_MAX_PROBABILITY = float(np.float32(1.0 - ref.EPSILON))
ARGUMENT_WORDS = ("y_true", "y_pred", "sample_weight", "label", "axis", "reduction", "shape")


def _set_mask(tensor, mask):
    from keras.src.backend.common.masking import set_keras_mask

    set_keras_mask(tensor, tf.constant(mask))
    assert get_keras_mask(tensor) is not None


@st.composite
def draws(draw):
    family = draw(st.sampled_from(FAMILIES))
    regression = family in ("mse", "mae", "rmse", "composite")
    batch = draw(st.integers(0, 4))
    min_rank = 1 if regression else 2
    rank = draw(st.integers(min_rank, 4))
    classes = draw(st.integers(1, 5))
    middle = draw(st.lists(st.integers(1, 3), min_size=rank - 2, max_size=rank - 2)) if rank > 1 else []
    shape = (batch,) if rank == 1 else (batch, *middle, classes)
    reductions = [r for r in REDUCTIONS if not (family == "rmse" and r is None)]
    return {
        "family": family,
        "shape": shape,
        "reduction": draw(st.sampled_from(reductions)),
        "from_logits": draw(st.booleans()) if not regression else True,
        "label_smoothing": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])) if not regression else 0.0,
        "z_loss": draw(st.sampled_from([0.0, 0.01])),
        "ignore_class": draw(st.sampled_from([None, 0, -1])) if family == "sparse" else None,
        "pred_dtype": draw(st.sampled_from(PRED_DTYPES)),
        "true_dtype": draw(st.sampled_from(
            ["int32", "int64", "float32", "float64", "float16", "bfloat16"] if family == "sparse"
            else ["int32", "float16", "float32", "float64"]
        )),
        "weighted": draw(st.booleans()) and rank > 1,
        "masked": draw(st.booleans()) and rank > 1,
        "seed": draw(st.integers(0, 2**16)),
    }


def _make_loss(case):
    family, reduction = case["family"], case["reduction"]
    logits, smoothing = case["from_logits"], case["label_smoothing"]
    z_loss = case["z_loss"] if logits else 0.0
    if family == "mse":
        return kerasloss.MeanSquaredError(reduction=reduction)
    if family == "mae":
        return kerasloss.MeanAbsoluteError(reduction=reduction)
    if family == "rmse":
        return kerasloss.RootMeanSquaredError(reduction=reduction)
    if family == "composite":
        return (kerasloss.MeanSquaredError(reduction=reduction)
                + 0.5 * kerasloss.MeanAbsoluteError(reduction=reduction))
    if family == "binary":
        return kerasloss.BinaryCrossentropy(logits, smoothing, reduction=reduction)
    if family == "categorical":
        return kerasloss.CategoricalCrossentropy(logits, smoothing, z_loss=z_loss, reduction=reduction)
    return kerasloss.SparseCategoricalCrossentropy(
        logits, smoothing, z_loss=z_loss, ignore_class=case["ignore_class"], reduction=reduction
    )


def _inputs(case):
    """(y_true, y_pred, sample_weight, mask) as NumPy float64/int arrays before casting."""
    rng = np.random.default_rng(case["seed"])
    shape, family = case["shape"], case["family"]
    raw = rng.normal(size=shape) * 3.0
    if family in ("mse", "mae", "rmse", "composite"):
        y_pred, y_true = raw, rng.normal(size=shape) * 2.0
    elif family == "binary":
        y_pred = raw if case["from_logits"] else 1.0 / (1.0 + np.exp(-raw))
        y_true = rng.integers(0, 2, size=shape).astype(np.float64)
    else:
        y_pred = raw if case["from_logits"] else ref.softmax(raw)
        labels = rng.integers(0, shape[-1], size=shape[:-1])
        if case["ignore_class"] == -1:
            labels = np.where(rng.uniform(size=labels.shape) < 0.3, -1, labels)
        y_true = labels if family == "sparse" else np.eye(shape[-1])[labels]
    weights = rng.uniform(0.0, 2.0, size=shape[:1]) if case["weighted"] else None
    mask = rng.uniform(size=shape[:-1]) < 0.7 if case["masked"] else None
    return y_true, y_pred, weights, mask


def _reference(case, loss, y_true, y_pred, weights, mask):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's mean of an empty axis
        return _reference_values(case, loss, y_true, y_pred, weights, mask)


def _reference_values(case, loss, y_true, y_pred, weights, mask):
    family = case["family"]
    if family in ("mse", "rmse"):
        components, extra_mask = ref.squared_error(y_true, y_pred)
    elif family == "mae":
        components, extra_mask = ref.absolute_error(y_true, y_pred)
    elif family == "composite":
        components = {"mean_squared_error": ref.squared_error(y_true, y_pred)[0]["squared_error"],
                      "mean_absolute_error": ref.absolute_error(y_true, y_pred)[0]["absolute_error"]}
        extra_mask = None
    elif family == "binary":
        if not case["from_logits"]:
            # the loss clips at 1-ε in float32, where 1-ε rounds to 1-1.19e-7
            y_pred = np.minimum(y_pred, FLOAT32_MAX_PROBABILITY)
        components, extra_mask = ref.binary(y_true, y_pred, case["from_logits"],
                                            case["label_smoothing"])
    elif family == "categorical":
        components, extra_mask = ref.categorical(y_true, y_pred, case["from_logits"],
                                                 case["label_smoothing"], loss.z_loss)
    else:
        components, extra_mask = ref.sparse_categorical(
            y_true, y_pred, case["from_logits"], case["label_smoothing"], loss.z_loss,
            ignore_class=case["ignore_class"])
    if extra_mask is not None:
        mask = extra_mask if mask is None else np.logical_and(mask, extra_mask)
    reduction = None if case["reduction"] is None else case["reduction"]
    reduced = ref.reduce_all(components, weights, mask, reduction)
    if family == "rmse":
        return np.sqrt(reduced["squared_error"])
    return ref.weighted_total(reduced, loss.component_weights)


def _cast(values, dtype):
    return tf.cast(tf.constant(values), dtype)


@settings(max_examples=150)
@given(draws())
def test_random_input_gives_a_clear_error_or_the_numpy_value(case):
    loss = _make_loss(case)
    y_true_np, y_pred_np, weights, mask = _inputs(case)
    y_pred = _cast(y_pred_np, case["pred_dtype"])
    y_true = _cast(y_true_np, case["true_dtype"])
    if mask is not None:
        _set_mask(y_pred, mask)
    if case["pred_dtype"] == "int32" and case["family"] not in REGRESSION:
        with pytest.raises(TypeError, match="y_pred must be a floating-point tensor"):
            loss(y_true, y_pred, sample_weight=weights)
        return
    try:
        value = loss(y_true, y_pred, sample_weight=weights)
    except (TypeError, ValueError) as error:
        message = str(error)
        assert any(word in message for word in ARGUMENT_WORDS), message
        pytest.fail(f"valid input refused: {message}")  # every drawn input below is valid
    value = keras.ops.convert_to_numpy(value)
    expected = _reference(
        case, loss,
        tf.cast(y_true, "float64").numpy() if case["family"] != "sparse" else y_true_np,
        tf.cast(y_pred, "float64").numpy(), weights, mask,
    )
    expected = np.asarray(expected, np.float64)
    if case["shape"][0] == 0:
        expected = np.zeros_like(expected)  # NumPy's mean of an empty axis is NaN; ours is 0
    compute = "float64" if case["pred_dtype"] == "float64" else "float32"
    assert keras.backend.standardize_dtype(value.dtype) == compute
    assert np.isfinite(value).all()
    if case["reduction"] is not None:
        assert value.shape == ()
    np.testing.assert_allclose(value, expected.reshape(value.shape) if expected.size else expected,
                               rtol=1e-4, atol=1e-5)
    if case["shape"][0] == 0 and case["reduction"] is not None:
        assert float(value) == 0.0


@given(draws())
def test_components_of_random_input_equal_the_numpy_reduction(case):
    loss = _make_loss(case)
    if case["pred_dtype"] == "int32" or not loss.additive:
        return
    y_true_np, y_pred_np, weights, mask = _inputs(case)
    y_pred = _cast(y_pred_np, case["pred_dtype"])
    y_true = _cast(y_true_np, case["true_dtype"])
    if mask is not None:
        _set_mask(y_pred, mask)
    components = loss.components(y_true, y_pred, sample_weight=weights)
    total = sum(float(w) * keras.ops.convert_to_numpy(components[name]).astype(np.float64)
                for name, w in loss.component_weights.items())
    value = keras.ops.convert_to_numpy(loss(y_true, y_pred, sample_weight=weights))
    assert all(np.isfinite(keras.ops.convert_to_numpy(c)).all() for c in components.values())
    np.testing.assert_allclose(total, value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_empty_batch_gives_a_scalar_0_for_the_loss_and_every_component(family, reduction):
    case = {"family": family, "reduction": reduction, "from_logits": True, "label_smoothing": 0.1,
            "z_loss": 0.01, "ignore_class": 0 if family == "sparse" else None}
    loss = _make_loss(case)
    y_pred = np.zeros((0, 3), np.float32)
    if family == "sparse":
        y_true = np.zeros((0,), np.int32)
    else:
        y_true = np.zeros((0, 3), np.float32)
    value = keras.ops.convert_to_numpy(loss(y_true, y_pred, sample_weight=np.zeros((0,))))
    assert value.shape == () and value == 0.0
    for name, component in loss.components(y_true, y_pred).items():
        component = keras.ops.convert_to_numpy(component)
        assert component.shape == () and component == 0.0, name


@pytest.mark.parametrize("label_dtype", ["int32", "int64", pytest.param(
    "float64", marks=pytest.mark.backends("tensorflow", "torch"))])  # JAX: float64 is float32
def test_labels_above_2_pow_24_stay_exact(label_dtype):
    # float32 has 24 mantissa bits: 2**24 + 1 would become 2**24 if a label were ever cast to it
    classes = 2**24 + 3
    label = 2**24 + 1
    logits = np.zeros((1, classes), np.float32)
    logits[0, label] = 5.0
    logits[0, label - 1] = -5.0
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    labels = tf.constant([label], label_dtype)
    value = float(loss(labels, logits))
    log_probs = ref.log_softmax(logits)
    expected = 0.9 * -log_probs[0, label] + 0.1 * -log_probs[0].mean()
    # A float32 sum over 2**24 classes is good to ~1e-4 relative; a label rounded to 2**24 would
    # pick the -5 logit instead of the +5 one, 10 nats away, so 1e-3 still tells the two apart.
    assert value == pytest.approx(expected, rel=1e-3)
    components = loss.components(labels, logits)
    assert float(components["cross_entropy"]) == pytest.approx(-log_probs[0, label], rel=1e-3)


@pytest.mark.parametrize("cls", [kerasloss.MeanSquaredError, kerasloss.MeanAbsoluteError,
                                 kerasloss.RootMeanSquaredError])
def test_empty_rank_1_regression_batch_gives_0(cls):
    # rank-1 inputs are averaged over their only axis, the batch, as keras.losses does
    value = keras.ops.convert_to_numpy(cls()(np.zeros((0,), np.float32), np.zeros((0,), np.float32)))
    assert value == 0.0
