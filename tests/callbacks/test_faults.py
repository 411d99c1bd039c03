"""Logs survive faults: a real training process killed with SIGINT or SIGKILL mid-epoch, and a
training that diverges to NaN."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import json

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.callbacks import ExampleLedger, LossMonitor
from kerasloss.metrics import loss_components
from kerasloss_tensorboard import metadata
from tests.helpers import tensorboard_reader as tb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Trains slowly (a short sleep per batch), logs every batch, and reports on stdout what it has
# logged: "batch <step>" after each batch summary, "epoch <n>" after each epoch summary.
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    # Ctrl-C raises KeyboardInterrupt even when the caller ignores SIGINT (a background job does,
    # and its children inherit that; Python then installs no handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras, kerasloss
    from kerasloss.callbacks import LossComponentLogger
    from kerasloss.metrics import loss_components

    class Report(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            print("batch", int(self.model.optimizer.iterations.numpy()), flush=True)
            time.sleep(0.05)
        def on_epoch_end(self, epoch, logs=None):
            print("epoch", epoch, flush=True)

    x = np.random.rand(80, 4).astype("float32"); y = np.random.randint(0, 3, 80)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss))
    model.fit(x, y, epochs=1000, batch_size=8, verbose=0,
              callbacks=[LossComponentLogger(sys.argv[1], update_freq=1), Report()])
    """
)


def _train_until_mid_epoch(log_dir, epochs_done):
    """Start the script, read its reports until `epochs_done` epochs and 3 more batches are logged."""
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(log_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    epochs, batches, deadline = [], [], time.monotonic() + 90
    try:
        for line in process.stdout:
            kind, number = line.split()
            (epochs if kind == "epoch" else batches).append(int(number))
            if len(epochs) >= epochs_done and batches and batches[-1] >= (epochs_done * 10) + 3:
                return process, epochs, batches
            if time.monotonic() > deadline:
                break
    except BaseException:
        process.kill()
        raise
    process.kill()
    pytest.fail("the training subprocess did not reach mid-epoch in time")


def _finish(process, sig):
    try:
        process.send_signal(sig)
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigint_mid_epoch_keeps_every_value_logged_before_it(tmp_path):
    process, epochs, batches = _train_until_mid_epoch(tmp_path, epochs_done=2)
    assert _finish(process, signal.SIGINT) != 0
    logged = tb.scalars(tmp_path, "train")
    assert [step for step, _ in logged["loss/total"]][: len(epochs)] == epochs
    assert set(batches) <= {step for step, _ in logged["batch/loss/total"]}


def test_sigkill_loses_at_most_the_current_epoch(tmp_path):
    process, epochs, batches = _train_until_mid_epoch(tmp_path, epochs_done=2)
    assert _finish(process, signal.SIGKILL) == -signal.SIGKILL
    logged = tb.scalars(tmp_path, "train")
    assert [step for step, _ in logged["loss/total"]][: len(epochs)] == epochs
    completed = {b for b in batches if b <= 10 * len(epochs)}
    assert completed <= {step for step, _ in logged["batch/loss/total"]}


def diverged_fit(log_dir, epochs=3):
    """A classifier trained `epochs` epochs on data with one NaN input, under `LossMonitor` (held-out
    entropy, post-hoc accuracy and calibration) and `ExampleLedger`: its weights are NaN after
    that example's step, so from the first epoch on every output, loss and metric is NaN."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, size=64)
    poisoned = x.copy()
    poisoned[5, 0] = np.nan
    keras.utils.set_random_seed(0)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True))
    callbacks = [LossMonitor(log_dir, (x[:20], y[:20]), ["accuracy"]), ExampleLedger(log_dir, (x, y))]
    with pytest.warns(RuntimeWarning, match="non-finite values logged as they are"):
        return model.fit(poisoned, y, validation_data=(x[:20], y[:20]), epochs=epochs, batch_size=16, verbose=0,
                         callbacks=callbacks).history


def _strict_json(text):
    """`text` parsed as strict JSON: NaN and Infinity are refused, as the browser's JSON.parse does."""
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_a_training_that_diverges_to_nan_is_logged_to_its_last_epoch(tmp_path):
    history = diverged_fit(tmp_path)
    assert np.isnan(history["loss"]).all()
    found = tb.all_scalars(tmp_path)
    for run, tag in [("train", "loss/total"), ("validation", "entropy/mean"), ("posthoc", "metrics/ece"),
                     ("train", "ledger/mean_margin")]:
        assert [step for step, _ in found[run][tag]] == [0, 1, 2], (run, tag)
        assert np.isnan([value for _, value in found[run][tag]]).all(), (run, tag)
    # the JSON records hold null where a value is not finite; the histograms only finite values
    ledger = [_strict_json(text) for _, text in tb.json_texts(tmp_path, ".", metadata.ledger_record_tag())]
    reliability = [_strict_json(text) for _, text in tb.json_texts(tmp_path, "posthoc", metadata.RELIABILITY_TAG)]
    assert len(ledger) == len(reliability) == 3
    assert all(row["aum"] is None and row["loss"] == [None] * 3 for row in ledger[-1]["rows"])
    assert all(value is None for value in ledger[-1]["cartography"]["confidence"])
    assert [None] in [bin_[3:4] for bin_ in reliability[-1]["bins"]]  # the NaN confidences' bin
    for _, buckets in tb.histograms(tmp_path, "validation", "entropy/per_example"):
        assert np.isfinite(buckets).all()
    # NaN outputs predict nothing (their argmax, class 0, is no prediction)
    rows = ExampleLedger.load(tmp_path).table()
    assert (rows["predicted"] == -1).all() and np.isnan(rows["correctness"]).all()
