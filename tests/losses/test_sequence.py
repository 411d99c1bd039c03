"""CTC (kerasloss.losses.sequence, kerasloss.losses.sequence) against keras.losses.CTC and PyTorch's
torch.nn.functional.ctc_loss."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

import kerasloss
from tests.helpers import keras_parity as parity
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(41)


def _sequences(rng, batch, frames, classes, max_label):
    """Labels in [1, classes) padded with the blank 0, and logits [batch, frames, classes]."""
    lengths = rng.integers(0, max_label + 1, batch)
    labels = np.zeros((batch, max_label), np.int32)
    for row, length in enumerate(lengths):
        labels[row, :length] = rng.integers(1, classes, length)
    return labels, rng.normal(0, 2, (batch, frames, classes)).astype(np.float32)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
def test_value_equals_keras(reduction, weighted):
    labels, logits = _sequences(RNG, 5, 12, 6, 4)
    weight = RNG.uniform(0, 2, 5).astype(np.float32) if weighted else None
    parity.assert_equal_to_keras(kerasloss.CTC(reduction=reduction), labels, logits, weight)


@settings(max_examples=15)  # few shapes: JAX compiles its CTC kernel once per shape
@given(
    seed=st.integers(0, 2**31 - 1),
    shape=st.sampled_from([(1, 1, 2, 1), (3, 7, 4, 3), (4, 3, 5, 4)]),
)
def test_value_equals_keras_on_random_inputs(seed, shape):
    rng = np.random.default_rng(seed)
    labels, logits = _sequences(rng, *shape)
    loss = kerasloss.CTC(reduction=None)
    got, expected = parity.as_numpy(loss(labels, logits)), parity.as_numpy(keras.losses.CTC(reduction=None)(
        labels, logits))
    # a label sequence longer than the frames allow has no alignment: both give a huge or inf cost
    feasible = np.isfinite(expected) & (expected < 1e4)
    np.testing.assert_allclose(got[feasible], expected[feasible], rtol=1e-6, atol=1e-6)


def test_keras_unit_test_value():
    logits = (np.arange(24).reshape((2, 4, 3)).astype("float32") - 12) / 100
    labels = np.array([[1, 2, 1, 0], [1, 2, 0, 2]])
    np.testing.assert_allclose(parity.as_numpy(kerasloss.CTC()(labels, logits)), 2.448645, rtol=1e-6)


def test_per_sequence_value_equals_torch_ctc_loss():
    torch = pytest.importorskip("torch")
    labels, logits = _sequences(RNG, 4, 10, 5, 3)
    lengths = (labels != 0).sum(-1)
    log_probs = torch.log_softmax(torch.tensor(logits, dtype=torch.float64), -1).transpose(0, 1)
    expected = torch.nn.functional.ctc_loss(
        log_probs, torch.tensor(labels, dtype=torch.long), torch.full((4,), 10, dtype=torch.long),
        torch.tensor(lengths, dtype=torch.long), blank=0, reduction="none",
    ).numpy()
    np.testing.assert_allclose(parity.as_numpy(kerasloss.CTC(reduction=None)(labels, logits)), expected,
                               rtol=1e-5)


def test_keras_mask_over_sequences_is_honoured_like_keras():
    labels, logits = _sequences(RNG, 4, 6, 5, 3)
    mask = np.array([[True] * 6, [True] * 6, [False] * 6, [True] * 6])
    # a [B, T] mask on [B, T, C] logits: Keras broadcasts it against the per-sequence losses
    got = kerasloss.CTC(reduction="sum")(labels, parity.masked(logits, mask[:, 0]))
    expected = keras.losses.CTC(reduction="sum")(labels, parity.masked(logits, mask[:, 0]))
    np.testing.assert_allclose(parity.as_numpy(got), parity.as_numpy(expected), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_logits_are_computed_in_float32(dtype):
    labels, logits = _sequences(RNG, 3, 8, 4, 3)
    low = ops.cast(logits, dtype)
    got = kerasloss.CTC()(labels, low)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(parity.as_numpy(got),
                               parity.as_numpy(kerasloss.CTC()(labels, ops.cast(low, "float32"))), rtol=1e-6)


@pytest.mark.parametrize("labels, logits, message", [
    (np.ones((2, 3, 1)), np.zeros((2, 4, 3), np.float32), r"y_true.shape=\(2, 3, 1\)"),
    (np.ones((2, 3)), np.zeros((2, 4), np.float32), r"y_pred.shape=\(2, 4\)"),
], ids=["labels-rank", "logits-rank"])
def test_wrong_ranks_are_refused_like_keras(labels, logits, message):
    with pytest.raises(ValueError, match=message):
        keras.losses.CTC()(labels, logits)
    with pytest.raises(ValueError, match=message):
        kerasloss.CTC()(labels, logits)


def test_components_add_up_and_constructor_config_and_name_are_keras():
    parity.assert_same_signature(kerasloss.CTC)
    loss = kerasloss.CTC(reduction="sum", name="c")
    assert loss.component_weights == {"ctc": 1.0}
    parity.assert_components_add_up(loss, *_sequences(RNG, 3, 5, 4, 2))
    parity.assert_config_round_trip(loss)


def test_model_compiled_with_the_loss_survives_a_keras_file_round_trip(tmp_path):
    labels, _ = _sequences(RNG, 8, 6, 4, 3)
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.Dense(4)])
    x = RNG.normal(size=(8, 6, 3)).astype(np.float32)
    parity.assert_keras_file_round_trip(kerasloss.CTC(), model, x, labels, tmp_path)


def test_docstring_example_gives_the_documented_value():
    np.testing.assert_allclose(parity.as_numpy(kerasloss.CTC()(np.array([[1]]), np.zeros((1, 1, 2), np.float32))),
                               np.log(2), rtol=1e-6)
