"""CalibrationError against torchmetrics' calibration errors and NumPy references, on every backend."""

import warnings

import keras
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchmetrics.classification import BinaryCalibrationError, MulticlassCalibrationError

from kerasloss.calibration import NORMS, CalibrationError, confidences_and_outcomes
from kerasloss.metrics import CalibrationError as ExportedCalibrationError


def _probabilities(rng, n, k, scale):
    logits = (rng.normal(size=(n, k)) * scale).astype("float32")
    return keras.ops.convert_to_numpy(keras.ops.softmax(logits)), logits


def _ours(y_true, y_pred, sample_weight=None, batches=1, **kwargs):
    metric = CalibrationError(**kwargs)
    for part in np.array_split(np.arange(len(y_pred)), batches):
        weight = None if sample_weight is None else sample_weight[part]
        metric.update_state(y_true[part], y_pred[part], sample_weight=weight)
    return float(keras.ops.convert_to_numpy(metric.result()))


def _multiclass(y_true, probs, num_bins, norm):
    reference = MulticlassCalibrationError(num_classes=probs.shape[-1], n_bins=num_bins, norm=norm)
    return reference(torch.tensor(probs), torch.tensor(y_true)).item()


def _quantile_reference(confidence, outcome, num_bins, norm):
    order = np.argsort(confidence, kind="stable")
    groups = [(c, a) for c, a in zip(np.array_split(confidence[order], num_bins),
                                     np.array_split(outcome[order], num_bins)) if len(c)]
    gaps = np.array([abs(a.mean() - c.mean()) for c, a in groups])
    shares = np.array([len(c) for c, _ in groups]) / len(confidence)
    return {"l1": (shares * gaps).sum(), "l2": np.sqrt((shares * gaps**2).sum()), "max": gaps.max()}[norm]


# a few shapes, many values: JAX compiles every eager op once per shape
SIZES, CLASSES, BINS = st.sampled_from([1, 7, 300]), st.sampled_from([2, 10, 30]), st.sampled_from([1, 2, 15, 37])


@settings(max_examples=15)
@given(n=SIZES, k=CLASSES, num_bins=BINS, scale=st.floats(0.1, 30.0), seed=st.integers(0, 2**16))
def test_uniform_categorical_equals_torchmetrics_multiclass(n, k, num_bins, scale, seed):
    rng = np.random.default_rng(seed)
    probs, _ = _probabilities(rng, n, k, scale)
    labels = rng.integers(0, k, n)
    for norm in NORMS:
        ours = _ours(labels, probs, num_bins=num_bins, norm=norm)
        assert ours == pytest.approx(_multiclass(labels, probs, num_bins, norm), abs=1e-6)


@settings(max_examples=15)
@given(n=SIZES, outputs=st.sampled_from([1, 3]), num_bins=BINS, seed=st.integers(0, 2**16))
def test_uniform_binary_equals_torchmetrics_binary_over_every_element(n, outputs, num_bins, seed):
    rng = np.random.default_rng(seed)
    probs = rng.uniform(size=(n, outputs)).astype("float32")
    labels = (rng.uniform(size=(n, outputs)) < probs).astype("int32")
    for norm in NORMS:
        reference = BinaryCalibrationError(n_bins=num_bins, norm=norm)(torch.tensor(probs), torch.tensor(labels))
        ours = _ours(labels, probs, num_bins=num_bins, norm=norm, kind="binary")
        assert ours == pytest.approx(reference.item(), abs=1e-6)


def test_confidences_on_edges_and_at_one_are_bucketed_as_torchmetrics():
    top = np.array([1.0, 1.0, 0.5, 2 / 3, 1 / 3, 0.8, 1.0], dtype="float32")
    probs = np.stack([top, 1 - top], axis=-1)
    labels = np.array([0, 1, 0, 1, 0, 0, 0])
    for norm in NORMS:
        assert _ours(labels, probs, num_bins=3, norm=norm) == pytest.approx(
            _multiclass(labels, probs, 3, norm), abs=1e-6)


def test_logits_give_the_calibration_error_of_their_softmax():
    rng = np.random.default_rng(0)
    probs, logits = _probabilities(rng, 2000, 10, 4.0)
    probs64 = np.exp(logits - logits.max(-1, keepdims=True).astype(np.float64))
    top = (probs64 / probs64.sum(-1, keepdims=True)).max(-1)
    away = np.abs(top[:, None] * 15 - np.round(top[:, None] * 15)).min(-1) > 1e-4  # no confidence on an edge
    labels = rng.integers(0, 10, 2000)
    ours = _ours(labels[away], logits[away], from_logits=True)
    assert ours == pytest.approx(_multiclass(labels[away], probs[away], 15, "l1"), abs=1e-6)


@pytest.mark.parametrize("tied_rows", [12, 240])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), k=st.integers(2, 6))
def test_tied_logits_count_as_correct_only_for_the_first_top_class(tied_rows, seed, k):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(300, k)) * 20).astype("float32")  # sure of one top class
    tied = rng.integers(0, 3, size=(tied_rows, k)).astype("float32")  # many with tied maxima
    tied[:5] = np.where(tied[:5] == tied[:5].max(-1, keepdims=True), -0.0, -1.0)
    tied[:5, 0] = 0.0  # -0.0 ties 0.0
    logits[:tied_rows] = tied
    labels = np.where(rng.uniform(size=300) < 0.5, logits.argmax(-1), rng.integers(0, k, 300))
    confidence, outcome = confidences_and_outcomes(labels, logits, from_logits=True)
    exp = np.exp(logits.astype(np.float64) - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(confidence), 1 / exp.sum(-1), rtol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(outcome), np.argmax(logits, -1) == labels)


def test_streaming_batches_give_the_one_batch_value():
    rng = np.random.default_rng(1)
    probs, _ = _probabilities(rng, 999, 5, 2.0)
    labels = rng.integers(0, 5, 999)
    for binning in ("uniform", "quantile"):
        one = _ours(labels, probs, binning=binning)
        assert _ours(labels, probs, batches=7, binning=binning) == pytest.approx(one, abs=1e-6)


@pytest.mark.parametrize("binning", ["uniform", "quantile"])
def test_a_sample_weight_k_equals_k_copies(binning):
    rng = np.random.default_rng(2)
    probs, _ = _probabilities(rng, 500, 4, 2.0)
    labels, weights = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    for norm in NORMS:
        weighted = _ours(labels, probs, sample_weight=weights, batches=3, norm=norm, binning=binning, num_bins=7)
        repeated = _ours(np.repeat(labels, weights), np.repeat(probs, weights, 0), norm=norm, binning=binning,
                         num_bins=7)
        assert weighted == pytest.approx(repeated, abs=1e-6)


@settings(max_examples=15)
@given(n=SIZES, num_bins=BINS, seed=st.integers(0, 2**16))
def test_quantile_bins_split_sorted_confidences_as_numpy_array_split(n, num_bins, seed):
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.5, 1.0, n).round(2).astype("float32")  # ties included
    probs = np.stack([top, 1 - top], axis=-1)
    labels = rng.integers(0, 2, n)
    confidence, outcome = top.astype(np.float64), (labels == 0).astype(np.float64)
    for norm in NORMS:
        ours = _ours(labels, probs, num_bins=num_bins, norm=norm, binning="quantile")
        assert ours == pytest.approx(_quantile_reference(confidence, outcome, num_bins, norm), abs=1e-6)


def test_one_hot_labels_equal_sparse_labels():
    rng = np.random.default_rng(3)
    probs, _ = _probabilities(rng, 300, 6, 2.0)
    labels = rng.integers(0, 6, 300)
    assert _ours(np.eye(6)[labels], probs) == _ours(labels, probs)


def test_reset_state_forgets_everything_seen():
    rng = np.random.default_rng(4)
    probs, _ = _probabilities(rng, 100, 3, 2.0)
    labels = rng.integers(0, 3, 100)
    for binning in ("uniform", "quantile"):
        metric = CalibrationError(binning=binning)
        metric.update_state(labels, probs)
        metric.reset_state()
        metric.update_state(labels[:50], probs[:50])
        assert float(metric.result()) == pytest.approx(_ours(labels[:50], probs[:50], binning=binning), abs=1e-7)


def test_reliability_record_holds_edges_count_confidence_and_accuracy_per_bin():
    metric = CalibrationError(num_bins=2)
    metric.update_state([0, 1, 1, 0], [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [1.0, 0.0]])
    np.testing.assert_allclose(metric.reliability(), [
        [0.0, 0.5, 0.0, 0.0, 0.0],
        [0.5, 1.0, 3.0, (0.9 + 0.6 + 0.8) / 3, 2 / 3],
        [1.0, 1.0, 1.0, 1.0, 1.0],   # a confidence of exactly 1: its own bin, as torchmetrics'
    ], rtol=1e-6)


def test_config_round_trip_and_export():
    metric = ExportedCalibrationError(num_bins=7, norm="max", binning="quantile", kind="binary",
                                      from_logits=True, name="mce_q")
    config = metric.get_config()
    assert CalibrationError.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert type(restored) is CalibrationError and restored.get_config() == config


@pytest.mark.parametrize("name, norm", [("ece", "l1"), ("rmsce", "l2"), ("mce", "max")])
def test_names_compile_to_their_norm_and_match_torchmetrics_after_a_compiled_fit(name, norm, tmp_path):
    rng = np.random.default_rng(5)
    x, labels = rng.normal(size=(256, 6)).astype("float32"), rng.integers(0, 4, 256)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=[name])
    history = model.fit(x, labels, batch_size=64, epochs=1, verbose=0)
    assert name in history.history
    metric = [m for m in model.metrics[-1].metrics if m.name == name][0]
    assert isinstance(metric, CalibrationError) and metric.norm == norm
    value = model.evaluate(x, labels, batch_size=64, verbose=0, return_dict=True)[name]
    expected = _multiclass(labels, model.predict(x, batch_size=64, verbose=0), 15, norm)
    assert value == pytest.approx(expected, abs=1e-6)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.evaluate(x, labels, batch_size=64, verbose=0, return_dict=True)[name] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("argument, value", [("num_bins", 0), ("num_bins", 2.5), ("norm", "l3"),
                                             ("binning", "equal"), ("kind", "multilabel")])
def test_bad_arguments_are_refused_at_construction_naming_them(argument, value):
    with pytest.raises(ValueError, match=f"{argument} must .*{value!r}"):
        CalibrationError(**{argument: value})


# labels and predictions as Python lists (checked on the host) and as tensors (on the device)
AS_GIVEN = [lambda x: x, lambda x: keras.ops.convert_to_tensor(np.array(x))]


@pytest.mark.parametrize("given", AS_GIVEN, ids=["lists", "tensors"])
def test_a_label_out_of_range_is_an_error_naming_y_true(given):
    with pytest.raises(ValueError, match=r"y_true must hold class ids in \[0, 1\].*\[0, 2\]"):
        CalibrationError().update_state(given([0, 2]), given([[0.7, 0.3], [0.4, 0.6]]))
    with pytest.raises(ValueError, match=r"y_true must hold class ids in \[0, 1\].*\[-1, 0\]"):
        CalibrationError().update_state(given([0, -1]), given([[0.7, 0.3], [0.4, 0.6]]))


@pytest.mark.parametrize("given", AS_GIVEN, ids=["lists", "tensors"])
def test_scores_outside_zero_one_without_from_logits_warn_once(given):
    metric = CalibrationError()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metric.update_state(given([0, 1]), given([[3.0, -1.0], [0.5, 2.0]]))
        metric.update_state(given([0, 1]), given([[3.0, -1.0], [0.5, 2.0]]))
    messages = [str(w.message) for w in caught if "from_logits=True" in str(w.message)]
    assert len(messages) == 1 and "leave [0, 1]" in messages[0] and "from 2 to 3" in messages[0]


@pytest.mark.backends("tensorflow", "jax")
def test_quantile_binning_refuses_a_compiled_step():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=[CalibrationError(binning="quantile")])
    with pytest.raises(ValueError, match="binning='quantile' keeps every confidence"):
        model.evaluate(np.zeros((4, 3), "float32"), np.zeros(4, "int32"), verbose=0)
