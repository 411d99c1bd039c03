"""The ledger's running statistics (`callbacks/_ledger_stats.py`) against float64 NumPy over whole
per-epoch arrays, its top_k selection, and the automatic cut against scikit-learn's mixture."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.mixture import GaussianMixture

from kerasloss.callbacks._ledger_stats import SIGNALS, RunningStats, exact_square_parts, hardest, mixture_cut


def _epochs(seed, epochs, size, classes=4):
    """Per epoch {signal: (size,) float32}, as `batch_signals` gives them (without "correct")."""
    rng = np.random.default_rng(seed)
    return [{
        "loss": rng.exponential(size=size).astype(np.float32),
        "margin": (rng.normal(size=size) * 3).astype(np.float32),
        "confidence": rng.uniform(size=size).astype(np.float32),
        "predicted": rng.integers(0, classes, size=size).astype(np.float32),
    } for _ in range(epochs)]


def _rows(values, labels):
    """The (S, N) rows of `SIGNALS` that `RunningStats.update` takes."""
    confidence = np.asarray(values["confidence"], np.float32)
    squares = [keras.ops.convert_to_numpy(part) for part in exact_square_parts(keras.ops.convert_to_tensor(confidence))]
    values = {**values, "correct": values["predicted"] == labels,
              **dict(zip(("square_high", "square_middle", "square_low"), squares))}
    return np.stack([np.asarray(values[name], np.float32) for name in SIGNALS])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), epochs=st.integers(1, 12), size=st.integers(1, 40))
def test_running_statistics_equal_the_float64_statistics_of_all_epochs(seed, epochs, size):
    signals = _epochs(seed, epochs, size)
    labels = np.random.default_rng(seed + 1).integers(0, 4, size=size)
    stats = RunningStats(size, labels, top_k=5)
    for epoch, values in enumerate(signals):
        stats.update(epoch, _rows(values, stats.labels))
    stacked = {name: np.stack([values[name] for values in signals]).astype(np.float64) for name in signals[0]}
    fields = stats.fields()
    np.testing.assert_allclose(fields["aum"], stacked["margin"].mean(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fields["mean_loss"], stacked["loss"].mean(0), rtol=1e-12)
    np.testing.assert_allclose(fields["confidence"], stacked["confidence"].mean(0), rtol=1e-12)
    # from Σc and Σc²: within 2e-8·sqrt(E) where the confidence barely moves (the module docstring)
    np.testing.assert_allclose(fields["variability"], stacked["confidence"].std(0), rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(fields["correctness"], (stacked["predicted"] == labels).mean(0))
    np.testing.assert_array_equal(fields["predicted"], signals[-1]["predicted"])


def test_memory_per_example_does_not_grow_with_the_epochs():
    stats = RunningStats(50, np.zeros(50, np.int64), top_k=3)
    held = []
    for epoch, values in enumerate(_epochs(0, 20, 50)):
        stats.update(epoch, _rows(values, stats.labels))
        held.append(stats.held_bytes())
    per_epoch = 3 * 8 + 2 * 3 * 4  # the top_k's indices (int64) and their loss and margin (float32)
    assert held[0] == 50 * (7 * 8 + 4) + per_epoch  # seven float64 sums and a float32 prediction per example
    assert np.diff(held).tolist() == [per_epoch] * 19  # then only the top_k's history grows: k per epoch
    state = stats.state()
    assert state["sums"].shape == (5, 50)  # a save keeps the five sums of earlier versions' files
    assert state["predicted"].base is None  # its own 4 bytes per example, not a view of a pass's rows


def test_the_variability_of_constant_confidences_is_zero_to_float64_rounding():
    """Σc² from the exact square parts: a float32 square (rounded to 24 bits) would leave a variance
    of up to c²·2**-24 and a variability near 1e-4 where the confidence never moves."""
    confidence = np.random.default_rng(3).uniform(0.05, 1.0, size=200).astype(np.float32)
    stats = RunningStats(200, np.zeros(200, np.int64), top_k=3)
    for epoch in range(30):
        stats.update(epoch, _rows({"loss": np.ones(200), "margin": np.ones(200), "confidence": confidence,
                                   "predicted": np.zeros(200)}, stats.labels))
    assert stats.fields()["variability"].max() <= 2e-8 * np.sqrt(30) * 4  # the module docstring's bound


def test_the_top_k_keep_their_trajectories_and_newcomers_start_with_nan():
    stats = RunningStats(4, np.zeros(4, np.int64), top_k=1)
    margins = [[-1.0, 5.0, 5.0, 5.0], [5.0, -9.0, 5.0, 5.0], [5.0, -9.0, 5.0, 5.0]]
    for epoch, margin in enumerate(margins):
        stats.update(epoch, _rows({"loss": np.arange(4.0) + epoch, "margin": np.array(margin),
                             "confidence": np.full(4, 0.5), "predicted": np.zeros(4, np.int64)}, stats.labels))
    assert stats.top.tolist() == [1]
    trajectory = stats.trajectories()
    np.testing.assert_array_equal(trajectory["margin"], [[np.nan, -9.0, -9.0]])
    np.testing.assert_array_equal(trajectory["loss"], [[np.nan, 2.0, 3.0]])


def test_the_top_k_keep_their_own_rows_when_their_order_changes():
    stats = RunningStats(5, np.zeros(5, np.int64), top_k=3)
    margins = [[0.0, -1.0, -2.0, -3.0, 9.0], [0.0, -9.0, 9.0, 9.0, -20.0]]  # AUM then 0, -5, 3.5, 3, -5.5
    for epoch, margin in enumerate(margins):
        stats.update(epoch, _rows({"loss": np.arange(5.0) + 10 * epoch, "margin": np.array(margin),
                             "confidence": np.full(5, 0.5), "predicted": np.zeros(5, np.int64)}, stats.labels))
    assert stats.top.tolist() == [4, 1, 0]
    np.testing.assert_array_equal(stats.trajectories()["margin"], [[np.nan, -20.0], [-1.0, -9.0], [np.nan, 0.0]])
    np.testing.assert_array_equal(stats.trajectories()["loss"], [[np.nan, 14.0], [1.0, 11.0], [np.nan, 10.0]])


def test_an_example_back_in_the_top_k_keeps_its_values_from_before_and_nan_between():
    stats = RunningStats(3, np.zeros(3, np.int64), top_k=1)
    margins = [[-5.0, 0.0, 1.0], [9.0, -8.0, 1.0], [0.0, 0.0, 1.0], [-9.0, 5.0, 1.0]]  # AUM sums: top 0, 1, 1, 0
    for epoch, margin in enumerate(margins):
        stats.update(epoch, _rows({"loss": np.arange(3.0) + 10 * epoch, "margin": np.array(margin),
                             "confidence": np.full(3, 0.5), "predicted": np.zeros(3, np.int64)}, stats.labels))
    assert stats.top.tolist() == [0]
    np.testing.assert_array_equal(stats.trajectories()["margin"], [[-5.0, np.nan, np.nan, -9.0]])
    np.testing.assert_array_equal(stats.trajectories()["loss"], [[0.0, np.nan, np.nan, 30.0]])


def test_a_restored_state_gives_the_same_fields_and_trajectories():
    stats = RunningStats(30, np.arange(30) % 4, top_k=4)
    for epoch, values in enumerate(_epochs(3, 5, 30)):
        stats.update(epoch, _rows(values, stats.labels))
    restored = RunningStats.from_state(stats.labels, 4, stats.state())
    for name, value in stats.fields().items():
        np.testing.assert_array_equal(restored.fields()[name], value)
    np.testing.assert_array_equal(restored.top, stats.top)
    for name, trajectory in stats.trajectories().items():
        np.testing.assert_array_equal(restored.trajectories()[name], trajectory)  # NaN too
    assert restored.epochs == stats.epochs


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.integers(-5, 5), min_size=1, max_size=60), k=st.integers(0, 70))
def test_hardest_is_the_stable_ascending_order_cut_at_k(values, k):
    score = np.array(values, np.float64)
    np.testing.assert_array_equal(hardest(score, k), np.argsort(score, kind="stable")[:k])


def test_the_cut_matches_scikit_learns_two_component_mixture():
    rng = np.random.default_rng(0)
    aum = np.concatenate([rng.normal(-4.0, 1.5, 120), rng.normal(6.0, 2.0, 880)])
    mixture = GaussianMixture(2, random_state=0).fit(aum[:, None])
    low = int(np.argmin(mixture.means_[:, 0]))
    expected = (mixture.predict_proba(aum[:, None])[:, low] > 0.5) & (aum < 0)
    np.testing.assert_array_equal(mixture_cut(aum), expected)


def test_the_cut_flags_nothing_when_no_margin_is_negative():
    aum = np.random.default_rng(1).normal(8.0, 2.0, 500)
    assert not mixture_cut(np.abs(aum)).any()


@pytest.mark.parametrize("aum", [np.full(10, -1.0), np.array([-1.0])])
def test_the_cut_keeps_every_example_when_all_margins_are_negative(aum):
    assert mixture_cut(aum).all()


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.integers(-5, 5), min_size=1, max_size=60), k=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_hardest_from_any_k_candidates_is_the_same_selection(values, k, seed):
    score = np.array(values, np.float64)
    k = min(k, len(score))
    candidates = np.random.default_rng(seed).choice(len(score), k, replace=False)
    np.testing.assert_array_equal(hardest(score, k, candidates), np.argsort(score, kind="stable")[:k])


def test_hardest_with_a_nan_among_the_candidates_still_selects_k():
    score = np.array([3.0, np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(hardest(score, 2, candidates=np.array([1, 0])), [2, 3])
