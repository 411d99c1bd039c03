"""Drop-in parity of the catalogue losses with their `keras.losses` namesakes (issue 11).

Every class against `keras.losses.<Name>`: value at 1e-6 relative (float32; float64 with
dtype="float64") on random (hypothesis) and edge inputs, for every reduction, with sample weights
and Keras masks; integer and 16-bit predictions; the same refusals; config and `.keras` round
trips; components that add up to the loss. Backend-free (keras.ops only): run under every
KERAS_BACKEND.
"""

import keras
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from keras import ops
from keras.src.backend import set_keras_mask

import kerasloss
from kerasloss.reduction import reduce_weighted
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(11)


def _normal(rng, shape):
    return rng.normal(size=shape).astype(np.float32), rng.normal(size=shape).astype(np.float32)


def _positive(rng, shape):
    y_true, y_pred = np.abs(_normal(rng, shape))
    y_true.flat[::7] = 0.0  # MSLE clips at ε, MAPE divides by max(|y|, ε)
    y_pred.flat[::5] = -0.5
    return y_true, y_pred


def _binary_labels(rng, shape):
    return rng.integers(0, 2, shape).astype(np.float32), _normal(rng, shape)[1]


def _signed_labels(rng, shape):
    return 2.0 * _binary_labels(rng, shape)[0] - 1.0, _normal(rng, shape)[1]


def _one_hot(rng, shape):
    return np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])], \
        _normal(rng, shape)[1]


def _distributions(rng, shape):
    y_true = rng.dirichlet(np.ones(shape[-1]), shape[:-1]).astype(np.float32)
    y_pred = rng.dirichlet(np.ones(shape[-1]), shape[:-1]).astype(np.float32)
    y_true.flat[::6] = 0.0  # clipped to ε
    return y_true, y_pred


def _counts(rng, shape):
    return rng.poisson(2.0, shape).astype(np.float32), rng.uniform(0.01, 5.0, shape).astype(np.float32)


# id -> (our class, constructor kwargs, input maker (rng, shape) -> (y_true, y_pred))
CASES = {
    "huber": (kerasloss.Huber, {}, _normal),
    "huber_delta": (kerasloss.Huber, {"delta": 0.4}, _normal),
    "log_cosh": (kerasloss.LogCosh, {}, _normal),
    "mape": (kerasloss.MeanAbsolutePercentageError, {}, _positive),
    "msle": (kerasloss.MeanSquaredLogarithmicError, {}, _positive),
    "cosine": (kerasloss.CosineSimilarity, {}, _normal),
    "cosine_axis_1": (kerasloss.CosineSimilarity, {"axis": 1}, _normal),
    "hinge": (kerasloss.Hinge, {}, _binary_labels),
    "hinge_signed": (kerasloss.Hinge, {}, _signed_labels),
    "squared_hinge": (kerasloss.SquaredHinge, {}, _binary_labels),
    "categorical_hinge": (kerasloss.CategoricalHinge, {}, _one_hot),
    "kl_divergence": (kerasloss.KLDivergence, {}, _distributions),
    "poisson": (kerasloss.Poisson, {}, _counts),
    "mse": (kerasloss.MeanSquaredError, {}, _normal),
    "mae": (kerasloss.MeanAbsoluteError, {}, _normal),
}
NEW = [case for case in CASES if case not in ("mse", "mae")]


def _pair(case, **kwargs):
    cls, case_kwargs, make = CASES[case]
    kwargs = {**case_kwargs, **kwargs}
    return cls(**kwargs), getattr(keras.losses, cls.__name__)(**kwargs), make


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


def _magnitude(loss, y_true, y_pred, sample_weight, reduction):
    """Σ_k |weight_k|·reduce(|term_k|): the scale that sums and differences of terms are rounded at
    (a mean of similarities of both signs, KL's cross-entropy minus target entropy). A similarity
    is itself a sum of products of both signs: its scale is its range, 1."""
    terms = loss.terms(y_true, y_pred).values
    scales = {name: ops.ones_like(v) if name == "cosine_similarity" else ops.abs(v) for name, v in terms.items()}
    return sum(
        abs(w) * _np(reduce_weighted(scales[name], sample_weight, None, reduction))
        for name, w in loss.component_weights.items()
    )


def _assert_equal_to_keras(case, y_true, y_pred, sample_weight=None, reduction="sum_over_batch_size",
                           rtol=1e-6):
    ours, theirs, _ = _pair(case, reduction=reduction)
    got, expected = _np(ours(y_true, y_pred, sample_weight)), _np(theirs(y_true, y_pred, sample_weight))
    tolerance = rtol * (np.abs(expected) + _magnitude(ours, y_true, y_pred, sample_weight, reduction))
    assert np.all(np.abs(got - expected) <= tolerance + 1e-30), (got, expected)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("case", list(CASES))
def test_value_equals_keras_for_every_reduction(case, reduction, weighted):
    y_true, y_pred = CASES[case][2](RNG, (16, 6))
    sample_weight = RNG.uniform(0.0, 2.0, 16).astype(np.float32) if weighted else None
    _assert_equal_to_keras(case, y_true, y_pred, sample_weight, reduction)


@pytest.mark.parametrize("case", NEW)
@settings(max_examples=8)  # × 13 cases; JAX compiles every op anew for each new shape
@given(
    seed=st.integers(0, 2**31 - 1),
    shape=st.sampled_from([(1, 1), (3, 1), (5, 2), (2, 3, 4), (7,), (4, 33)]),
    scale=st.sampled_from([1e-3, 1.0, 30.0]),
    reduction=st.sampled_from(ref.REDUCTIONS),
)
def test_value_equals_keras_on_random_inputs(case, seed, shape, scale, reduction):
    assume(len(shape) > 1 or case != "cosine_axis_1")
    rng = np.random.default_rng(seed)
    y_true, y_pred = CASES[case][2](rng, shape)
    if CASES[case][2] in (_normal, _counts):
        y_pred = (y_pred * scale).astype(np.float32)
    per_element_shape = tuple(_pair(case)[0].call(y_true, y_pred).shape)
    sample_weight = rng.uniform(0.0, 2.0, per_element_shape).astype(np.float32) if per_element_shape else None
    _assert_equal_to_keras(case, y_true, y_pred, sample_weight, reduction)


EDGES = {
    "zero_error": lambda t: (t, t.copy()),
    "huge_error": lambda t: (t, t + 1e4),
    "zeros": lambda t: (np.zeros_like(t), np.zeros_like(t)),
    "error_exactly_delta": lambda t: (t, t + np.float32(1.0)),
}


@pytest.mark.parametrize("edge", list(EDGES))
@pytest.mark.parametrize("case", ["huber", "log_cosh", "mape", "msle", "cosine", "hinge",
                                  "squared_hinge", "categorical_hinge", "poisson"])
def test_value_equals_keras_on_edge_inputs(case, edge):
    y_true, y_pred = EDGES[edge](np.round(RNG.normal(size=(4, 3)), 1).astype(np.float32))
    if case == "poisson":
        y_true, y_pred = np.abs(y_true), np.abs(y_pred)
    _assert_equal_to_keras(case, y_true, y_pred, reduction=None)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight", None], ids=str)
@pytest.mark.parametrize("case", [case for case in NEW if case != "cosine_axis_1"])
def test_keras_mask_on_predictions_is_honoured_like_keras(case, reduction):
    y_true, y_pred = CASES[case][2](RNG, (3, 4, 5))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
    weight = RNG.uniform(0.1, 2.0, (3, 4)).astype(np.float32)

    def masked():
        tensor = ops.convert_to_tensor(y_pred)
        set_keras_mask(tensor, ops.convert_to_tensor(mask))
        return tensor

    ours, theirs, _ = _pair(case, reduction=reduction)
    np.testing.assert_allclose(
        _np(ours(y_true, masked(), weight)), _np(theirs(y_true, masked(), weight)), rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("case", list(CASES))
def test_integer_predictions_are_converted_like_keras(case):
    y_true, y_pred = CASES[case][2](RNG, (8, 4))
    integers = np.round(y_pred * 3).astype(np.int32)
    _assert_equal_to_keras(case, y_true, integers)


@pytest.mark.parametrize("case", NEW)
def test_float64_with_dtype_float64_equals_keras_in_float64(case):
    if keras.backend.standardize_dtype(ops.convert_to_tensor(np.zeros(1)).dtype) != "float64":
        pytest.skip("this backend has float64 off (JAX without jax_enable_x64)")
    if keras.backend.backend() == "torch":
        pytest.skip("Keras' torch divide_no_nan (kerasloss.reduction) returns float32 for float64")
    y_true, y_pred = (x.astype(np.float64) for x in CASES[case][2](RNG, (8, 5)))
    ours, theirs, _ = _pair(case, dtype="float64")
    got = ours(*(ops.convert_to_tensor(x, "float64") for x in (y_true, y_pred)))
    assert keras.backend.standardize_dtype(got.dtype) == "float64"
    rtol = 1e-12
    if case == "log_cosh":  # Keras subtracts log 2 rounded to float32 (1e-8 relative): NumPy instead
        expected = np.mean(np.log(np.cosh(y_pred - y_true)))
    else:
        expected = theirs(*(ops.convert_to_tensor(x, "float64") for x in (y_true, y_pred)))
        if keras.backend.standardize_dtype(expected.dtype) != "float64":
            pytest.skip("Keras computes this loss in float32 on this backend despite dtype='float64'")
        expected = _np(expected)
    np.testing.assert_allclose(_np(got), expected, rtol=rtol, atol=1e-13)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("case", NEW)
def test_16_bit_predictions_are_computed_in_float32_like_keras(case, dtype):
    y_true, y_pred = CASES[case][2](RNG, (8, 5))
    low = ops.cast(y_pred, dtype)
    ours, theirs, _ = _pair(case)
    got = ours(y_true, low)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(_np(got), _np(ours(y_true, ops.cast(low, "float32"))), rtol=1e-6)
    np.testing.assert_allclose(_np(got), _np(theirs(y_true, low)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", NEW)
def test_shapes_that_do_not_broadcast_are_refused_like_keras(case):
    ours, theirs, _ = _pair(case)
    y_true, y_pred = np.ones((4, 3), np.float32), np.ones((4, 5), np.float32)
    with pytest.raises(Exception):
        theirs(y_true, y_pred)
    with pytest.raises(ValueError, match=r"y_true shape \(4, 3\) and y_pred shape \(4, 5\)"):
        ours(y_true, y_pred)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", NEW)
def test_components_add_up_to_the_loss_and_diagnostics_are_named(case, weighted):
    loss = _pair(case, reduction="sum")[0]
    y_true, y_pred = CASES[case][2](RNG, (8, 5))
    sample_weight = RNG.uniform(0.1, 2.0, 8).astype(np.float32) if weighted else None
    components = loss.components(y_true, y_pred, sample_weight)
    assert set(components) == set(loss.component_weights)
    total = sum(w * _np(components[name]) for name, w in loss.component_weights.items())
    np.testing.assert_allclose(_np(loss(y_true, y_pred, sample_weight)), total, rtol=1e-6)
    terms = loss.terms(y_true, y_pred)
    assert set(terms.diagnostics or {}) == set(loss.diagnostic_names)


@pytest.mark.parametrize("case", NEW)
def test_constructor_arguments_and_defaults_are_keras(case):
    import inspect

    ours, theirs, _ = _pair(case)
    ours_parameters = inspect.signature(type(ours).__init__).parameters
    theirs_parameters = inspect.signature(type(theirs).__init__).parameters
    assert {n: p.default for n, p in ours_parameters.items()} == {
        n: p.default for n, p in theirs_parameters.items()
    }
    assert ours.name == theirs.name


@pytest.mark.parametrize("case", NEW)
def test_config_round_trip_rebuilds_an_equal_loss(case):
    loss = _pair(case, reduction="sum", name="custom")[0]
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    assert type(loss).from_config(loss.get_config()).get_config() == loss.get_config()


@pytest.mark.parametrize("case", NEW)
def test_model_compiled_with_the_loss_survives_a_keras_file_round_trip(case, tmp_path):
    loss = _pair(case)[0]
    y, _ = CASES[case][2](RNG, (8, 2))
    x = RNG.normal(size=(8, 3)).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softplus")])
    model.compile(optimizer="sgd", loss=loss)
    before = model.evaluate(x, y, verbose=0)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored.loss) is type(loss) and restored.loss.get_config() == loss.get_config()
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(before, rel=1e-6)


# each class's docstring Example (as NumPy arrays) and the value it documents
DOCSTRING_EXAMPLES = [
    (kerasloss.Huber(), [[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]], 0.155),
    (kerasloss.LogCosh(), [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]], 0.10844),
    (kerasloss.MeanAbsolutePercentageError(), [100.0, 200.0, 300.0], [90.0, 210.0, 310.0], 6.1111),
    (kerasloss.MeanSquaredLogarithmicError(), [[1.0]], [[0.0]], 0.48045),
    (kerasloss.CosineSimilarity(), [[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]], -0.5),
    (kerasloss.Hinge(), [[1.0, 0.0]], [[0.5, -2.0]], 0.25),
    (kerasloss.SquaredHinge(), [[1.0, 0.0]], [[0.5, -2.0]], 0.125),
    (kerasloss.CategoricalHinge(), [[0.0, 1.0]], [[0.5, 1.0]], 0.5),
    (kerasloss.KLDivergence(), [[0.5, 0.5]], [[0.25, 0.75]], 0.14384),
    (kerasloss.Poisson(), [[1.0, 0.0]], [[1.0, 2.0]], 1.5),
]


@pytest.mark.parametrize(
    "loss, y_true, y_pred, documented", DOCSTRING_EXAMPLES, ids=[row[0].name for row in DOCSTRING_EXAMPLES]
)
def test_docstring_examples_give_the_documented_values(loss, y_true, y_pred, documented):
    value = loss(np.array(y_true, np.float32), np.array(y_pred, np.float32))
    assert float(value) == pytest.approx(documented, abs=1e-4)
