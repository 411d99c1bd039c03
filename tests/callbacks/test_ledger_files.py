"""The ledger's saves and resumed fits: after `BackupAndRestore` restarts a fit, the ledger holds
every evaluated epoch once and its statistics equal those of a fit that was never stopped; a resume
further back than its saves reach starts over with a warning and keeps the last save."""

import os

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.callbacks import ExampleLedger, summaries
from kerasloss.callbacks import _ledger_files

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 5)).astype("float32")
Y = RNG.integers(0, 3, size=64)
EPOCHS = 6


class Stop(keras.callbacks.Callback):
    """Raises (a preemption) at the start, or at the end, of one epoch."""

    def __init__(self, epoch, at_end=False):
        super().__init__()
        self.epoch, self.at_end = epoch, at_end

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch and not self.at_end:
            raise KeyboardInterrupt("preempted")

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch and self.at_end:
            raise KeyboardInterrupt("preempted")


def _fit(log_dir, backup_dir=None, stop=None, initial_epoch=0, epochs=EPOCHS):
    """A deterministic fit (no shuffling) with a new ExampleLedger; BackupAndRestore after it."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile("adam", loss=kerasloss.SparseCategoricalCrossentropy(from_logits=True))
    ledger = ExampleLedger(log_dir, (X, Y), top_k=5)
    callbacks = [ledger] + ([stop] if stop else [])
    if backup_dir is not None:
        callbacks.append(keras.callbacks.BackupAndRestore(str(backup_dir)))
    try:
        model.fit(X, Y, epochs=epochs, initial_epoch=initial_epoch, batch_size=16, shuffle=False, verbose=0,
                  callbacks=callbacks)
    except KeyboardInterrupt:
        pass
    summaries.close_all()  # what a new process sees: the files on disk
    return ledger


@pytest.mark.parametrize("stop", [Stop(3), Stop(2, at_end=True)],
                         ids=["stopped-mid-training", "stopped-after-the-ledger-saved-before-the-backup"])
def test_a_resumed_fit_continues_the_ledger_as_if_never_stopped(tmp_path, stop):
    reference = _fit(tmp_path / "reference")
    _fit(tmp_path / "logs", tmp_path / "backup", stop)
    resumed = _fit(tmp_path / "logs", tmp_path / "backup")
    assert resumed.stats.epochs == reference.stats.epochs == list(range(EPOCHS))
    ours, theirs = resumed.table(sort="id"), reference.table(sort="id")
    for name in ("aum", "mean_loss", "confidence", "variability", "correctness", "predicted"):
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert ExampleLedger.load(tmp_path / "logs").stats.epochs == list(range(EPOCHS))
    np.testing.assert_array_equal(resumed.stats.top, reference.stats.top)
    np.testing.assert_allclose(resumed.stats.trajectories()["margin"], reference.stats.trajectories()["margin"],
                               rtol=1e-5, atol=1e-6)


def test_a_resume_before_both_saves_starts_over_and_keeps_the_last_save(tmp_path):
    _fit(tmp_path)  # epochs 0-5 saved; the save before holds 0-4
    with pytest.warns(UserWarning, match="start over at step 3"):
        ledger = _fit(tmp_path, initial_epoch=3)
    assert ledger.stats.epochs == [3, 4, 5]
    kept = tmp_path / f"{_ledger_files.file_name(None)}.before-3"
    assert os.path.exists(kept)
    assert _ledger_files.saved(tmp_path, None)[0]["epochs"].tolist() == [3, 4, 5]
    with open(kept, "rb") as f:
        assert np.load(f)["epochs"].tolist() == list(range(EPOCHS))


def test_a_resume_from_other_data_starts_over(tmp_path):
    _fit(tmp_path, tmp_path / "backup", Stop(3))
    global Y
    kept, Y = Y, (Y + 1) % 3  # the same examples now carry other labels
    try:
        with pytest.warns(UserWarning, match="for these examples"):
            ledger = _fit(tmp_path, tmp_path / "backup")
    finally:
        Y = kept
    assert ledger.stats.epochs == [3, 4, 5]


def test_load_falls_back_to_the_save_before_when_the_last_is_missing(tmp_path):
    _fit(tmp_path)
    os.remove(_ledger_files.path_of(tmp_path, None))  # a kill between the two moves of a save
    assert ExampleLedger.load(tmp_path).stats.epochs == list(range(EPOCHS - 1))


def test_a_new_ledgers_fit_from_epoch_0_keeps_the_ledger_of_the_fit_before(tmp_path):
    first = _fit(tmp_path)
    second = _fit(tmp_path)  # a new model and ledger, into the same log_dir: steps continue
    assert second.stats.epochs == list(range(EPOCHS, 2 * EPOCHS))
    with open(tmp_path / f"{_ledger_files.file_name(None)}.before-{EPOCHS}", "rb") as f:
        kept = np.load(f)
        np.testing.assert_array_equal(kept["sums"], first.stats.state()["sums"])
    assert ExampleLedger.load(tmp_path).stats.epochs == list(range(EPOCHS, 2 * EPOCHS))
    _fit(tmp_path, epochs=1)  # one save: the save before it is not the previous fit's
    assert [state["epochs"].tolist() for state in _ledger_files.saved(tmp_path, None)] == [[2 * EPOCHS]]
