"""Steps after resuming: step = epoch beside Keras' TensorBoard, after `initial_epoch` in a new
process, and after a `BackupAndRestore` resume of a training process killed with SIGKILL (each
epoch and batch step held exactly once, the killed process's values after its last backup gone;
the ledger's statistics hold each epoch once)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

import kerasloss
from tests.helpers import tensorboard_reader as tb
from kerasloss.callbacks import ExampleLedger, LossComponentLogger, PredictionEntropyLogger, summaries
from kerasloss.metrics import loss_components

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The model, data and kerasloss callbacks of the killed and of the resumed process (80 examples,
# batches of 8: 10 optimizer steps per epoch).
SETUP = textwrap.dedent(
    """
    import keras, numpy as np, kerasloss
    from kerasloss.callbacks import ExampleLedger, LossComponentLogger, PostHocMetrics, PredictionEntropyLogger
    from kerasloss.metrics import loss_components

    def setup(log_dir):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(80, 4)).astype("float32"); y = rng.integers(0, 3, 80)
        keras.utils.set_random_seed(0)
        loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True))
        callbacks = [LossComponentLogger(log_dir, update_freq=1),
                     PredictionEntropyLogger(log_dir, x[:16], from_logits=True),
                     PostHocMetrics(log_dir, (x[:16], y[:16]), ["accuracy"]),
                     ExampleLedger(log_dir, (x, y), top_k=8)]
        return model, x, y, callbacks
    """
)

# Trains 5 epochs with BackupAndRestore after the kerasloss callbacks and a `Stall` callback that
# reports progress and, at the chosen point, blocks forever *before* BackupAndRestore runs: the
# kerasloss callbacks have logged that epoch (or batch), the backup has not. The test kills it there.
KILLED = SETUP + textwrap.dedent(
    """
    import sys, time
    log_dir, backup_dir, save_freq, stall_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    save_freq = save_freq if save_freq == "epoch" else int(save_freq)

    class Stall(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if save_freq != "epoch" and int(self.model.optimizer.iterations.numpy()) == stall_at:
                self.stall()
        def on_epoch_end(self, epoch, logs=None):
            if save_freq == "epoch" and epoch == stall_at:
                self.stall()
        def stall(self):
            print("stalled", flush=True)
            time.sleep(600)

    model, x, y, callbacks = setup(log_dir)
    callbacks += [Stall(), keras.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq)]
    model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=callbacks)
    """
)


def _kill_when_stalled(log_dir, backup_dir, save_freq, stall_at):
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(log_dir), str(backup_dir), str(save_freq), str(stall_at)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    try:
        deadline = time.monotonic() + 240
        line = process.stdout.readline()
        assert line.strip() == "stalled" and time.monotonic() < deadline, "the training process did not stall"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _resume(log_dir, backup_dir, save_freq):
    namespace = {}
    exec(SETUP, namespace)
    model, x, y, callbacks = namespace["setup"](log_dir)
    callbacks.append(keras.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq))
    return model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=callbacks).history


def _steps(series):
    """The steps of `series`, sorted: TensorBoard reads a run's event files in name order, which is
    creation order only across seconds (two files of one second sort by TensorFlow's writer count)."""
    return sorted(step for step, _ in series)


@pytest.mark.parametrize("save_freq, stall_at, first_batches", [
    ("epoch", 2, 20),  # killed after logging epoch 2, before its backup: epochs 0, 1 and 20 steps restored
    (5, 27, 25),  # killed at step 27 of epoch 2, last backup at step 25
], ids=["epoch-backups", "batch-backups"])
def test_backup_and_restore_resume_holds_each_step_once(tmp_path, save_freq, stall_at, first_batches):
    log_dir, backup_dir = tmp_path / "logs", tmp_path / "backup"
    _kill_when_stalled(log_dir, backup_dir, save_freq, stall_at)
    before = tb.scalars(log_dir, "train")
    assert max(_steps(before["batch/loss/total"])) > first_batches  # the killed process logged past its backup

    summaries.close_all()
    history = _resume(log_dir, backup_dir, save_freq)
    assert len(history["loss"]) == 3  # epochs 2, 3, 4
    logged = tb.all_scalars(log_dir)
    train = logged["train"]
    for tag in ("loss/total", "loss/cross_entropy", "entropy/mean"):
        assert _steps(train[tag]) == [0, 1, 2, 3, 4], tag
    assert _steps(logged["validation"]["entropy/mean"]) == [0, 1, 2, 3, 4]
    assert _steps(logged["posthoc"]["metrics/accuracy"]) == [0, 1, 2, 3, 4]
    # epochs 0 and 1 are the killed process's, 2..4 the resumed fit's
    total = dict(train["loss/total"])
    assert [total[0], total[1]] == [v for _, v in before["loss/total"][:2]]
    np.testing.assert_allclose([total[2], total[3], total[4]], history["loss"], rtol=1e-6)
    # batch steps continue from the restored optimizer iteration: 30 more after `first_batches`
    assert _steps(train["batch/loss/total"]) == list(range(1, first_batches + 31))
    # the ledger holds each epoch once: the killed process's before the resumed epoch, then the resumed
    # fit's (with epoch backups, the killed process had saved epoch 2 too: its save before is continued)
    assert _steps(train["ledger/mean_margin"]) == [0, 1, 2, 3, 4]
    ledger = ExampleLedger.load(log_dir)
    assert ledger.stats.epochs == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(ledger.stats.aum().mean(), np.mean([v for _, v in train["ledger/mean_margin"]]),
                               rtol=1e-5)


def test_steps_are_epochs_beside_keras_tensorboard_and_after_initial_epoch_in_a_new_process(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=32)

    def fit(initial_epoch, epochs):
        loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        model.compile("sgd", loss=loss, metrics=loss_components(loss))
        callbacks = [keras.callbacks.TensorBoard(str(tmp_path), write_graph=False),
                     LossComponentLogger(tmp_path), PredictionEntropyLogger(tmp_path, x, from_logits=True)]
        model.fit(x, y, initial_epoch=initial_epoch, epochs=epochs, verbose=0, validation_data=(x, y),
                  callbacks=callbacks)

    fit(0, 2)
    logged = tb.all_scalars(tmp_path)
    assert _steps(logged["train"]["loss/total"]) == [0, 1]
    assert _steps(logged["validation"]["entropy/mean"]) == [0, 1]
    assert "epoch_loss" in logged["train"]  # Keras' own values share the run
    summaries.close_all()  # what a new process sees: the event files on disk
    fit(2, 4)
    logged = tb.all_scalars(tmp_path)
    assert _steps(logged["train"]["loss/total"]) == [0, 1, 2, 3]
    assert _steps(logged["validation"]["loss/total"]) == [0, 1, 2, 3]
    assert _steps(logged["validation"]["entropy/mean"]) == [0, 1, 2, 3]


def test_a_second_training_resumed_after_a_stop_keeps_the_first_trainings_steps(tmp_path):
    """Training A (3 epochs), then training B from epoch 0 in the same log_dir (steps 3.., batch steps
    after A's), stopped at the start of its epoch 2 and resumed by BackupAndRestore: B continues at
    its own steps, and A's values stay (a resume used to take step = epoch and remove A's steps >= 2)."""
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=32)

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt("preempted")

    def fit(seed, *extra):
        keras.utils.set_random_seed(seed)
        loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        model.compile("sgd", loss=loss, metrics=loss_components(loss))
        try:
            model.fit(x, y, epochs=3, batch_size=8, verbose=0,
                      callbacks=[LossComponentLogger(tmp_path, update_freq=1), *extra])
        except KeyboardInterrupt:
            pass
        summaries.close_all()  # what a new process sees

    fit(0)
    first = dict(tb.scalars(tmp_path, "train")["loss/total"])
    fit(1, keras.callbacks.BackupAndRestore(str(tmp_path / "backup")), Stop())
    fit(1, keras.callbacks.BackupAndRestore(str(tmp_path / "backup")))
    train = tb.all_scalars(tmp_path)["train"]
    assert _steps(train["loss/total"]) == [0, 1, 2, 3, 4, 5]
    assert {step: value for step, value in train["loss/total"] if step < 3} == first
    assert _steps(train["batch/loss/total"]) == list(range(1, 25))  # 4 batches an epoch, 6 epochs
