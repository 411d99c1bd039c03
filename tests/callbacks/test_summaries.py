"""The shared writers and the dashboards: one file per run, faults, NaN, KeyboardInterrupt, layout, hparams."""

import errno
import os
import shutil
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata

import kerasloss
from tests.helpers import tensorboard_reader as tb
from kerasloss.callbacks import LossComponentLogger, PostHocMetrics, PredictionEntropyLogger, summaries
from kerasloss.callbacks.dashboards import LOSS_CHART_REGEX
from kerasloss.metrics import loss_components

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
Y = np.random.default_rng(1).integers(0, 3, size=32)


def _model(label_smoothing=0.1):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True))
    return model


def _steps(log_dir, run="train", tag="loss/total"):
    return [step for step, _ in tb.scalars(log_dir, run).get(tag, [])]


class _At(keras.callbacks.Callback):
    """Calls `action` at the end of epoch `epoch` (or of batch `batch` in that epoch)."""

    def __init__(self, epoch, action, batch=None):
        super().__init__()
        self.epoch, self.batch, self.action, self.current = epoch, batch, action, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.batch is not None and self.current == self.epoch and batch == self.batch:
            self.action()

    def on_epoch_end(self, epoch, logs=None):
        if self.batch is None and epoch == self.epoch:
            self.action()


def test_three_callbacks_share_one_event_file_per_run(tmp_path):
    callbacks = [
        LossComponentLogger(tmp_path, update_freq=1),
        PredictionEntropyLogger(tmp_path, X, from_logits=True),
        PostHocMetrics(tmp_path, (X, Y), [keras.metrics.SparseCategoricalAccuracy()]),
    ]
    _model().fit(X, Y, epochs=2, batch_size=16, verbose=0, validation_data=(X, Y), callbacks=callbacks)
    assert tb.runs(tmp_path) == [".", "posthoc", "train", "validation"]
    for run in (".", "train", "validation", "posthoc"):
        assert len(tb.event_files(tmp_path, run)) == 1, run


def test_unwritable_log_dir_is_an_error_at_construction_naming_it(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    log_dir = str(blocker / "logs")
    for make in (
        lambda: LossComponentLogger(log_dir),
        lambda: PredictionEntropyLogger(log_dir, X),
        lambda: PostHocMetrics(log_dir, (X, Y), ["accuracy"]),
    ):
        with pytest.raises(ValueError) as info:
            make()
        assert log_dir in str(info.value)


def test_log_dir_unwritable_by_train_begin_fails_before_the_first_step(tmp_path):
    log_dir = str(tmp_path / "logs")
    callback = LossComponentLogger(log_dir)
    shutil.rmtree(log_dir)
    (tmp_path / "logs").write_text("now a file")
    model = _model()
    with pytest.raises(ValueError, match=log_dir):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[callback])
    assert int(model.optimizer.iterations.numpy()) == 0


def test_keyboard_interrupt_mid_epoch_leaves_every_value_readable_and_nothing_active(tmp_path):
    def interrupt():
        raise KeyboardInterrupt

    callbacks = [LossComponentLogger(tmp_path, update_freq=1), _At(1, interrupt, batch=1)]
    with pytest.raises(KeyboardInterrupt):
        _model().fit(X, Y, epochs=3, batch_size=8, verbose=0, callbacks=callbacks)
    assert _steps(tmp_path) == [0]
    assert _steps(tmp_path, tag="batch/loss/total") == [1, 2, 3, 4, 5, 6]
    # no writer or record_if left as default
    assert not tf.summary.should_record_summaries()
    assert tf.summary.experimental.get_step() is None


def test_log_dir_removed_mid_training_warns_once_and_resumes_when_back(tmp_path):
    log_dir = tmp_path / "logs"
    callbacks = [
        _At(1, lambda: shutil.rmtree(log_dir)),
        _At(3, lambda: os.makedirs(log_dir)),
        LossComponentLogger(log_dir),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = _model().fit(X, Y, epochs=5, verbose=0, callbacks=callbacks).history
    faults = [w for w in caught if "cannot write TensorBoard logs" in str(w.message)]
    assert len(faults) == 1 and str(log_dir) in str(faults[0].message)
    assert len(history["loss"]) == 5
    assert _steps(log_dir) == [3, 4]


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs mounted on a fresh directory (unmounted afterwards): a disk that can really fill."""
    if os.geteuid() != 0:
        pytest.skip("the real out-of-space test mounts a tmpfs, which needs root (run the suite as root)")
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here (a container without CAP_SYS_ADMIN?): "
                    f"{mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        summaries.close_all()
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def _fill(directory):
    """Write zeros into `directory`/filler until the file system refuses with ENOSPC."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, bytes(1 << 16))
    except OSError as err:
        assert err.errno == errno.ENOSPC, err
    finally:
        os.close(fd)


def test_a_full_disk_warns_once_training_goes_on_and_logging_resumes_when_space_returns(small_disk):
    log_dir = small_disk / "logs"
    callbacks = [  # batch logging: the writes outgrow the page each event file already holds
        LossComponentLogger(log_dir, update_freq=1),
        _At(0, lambda: _fill(small_disk)),
        _At(2, lambda: os.remove(small_disk / "filler")),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = _model().fit(X, Y, epochs=5, batch_size=1, verbose=0, callbacks=callbacks).history
    faults = [str(w.message) for w in caught if "cannot write TensorBoard logs" in str(w.message)]
    assert len(faults) == 1 and repr(str(log_dir)) in faults[0] and "No space left" in faults[0]
    assert len(history["loss"]) == 5
    logged = dict(tb.scalars(log_dir, "train")["loss/total"])
    assert 0 in logged and 2 not in logged  # before the disk filled / while it was full
    for epoch in (0, 3, 4):
        assert logged[epoch] == pytest.approx(history["loss"][epoch], rel=1e-6)
    batches = [step for step, _ in tb.scalars(log_dir, "train")["batch/loss/total"]]
    assert batches[:32] == list(range(1, 33)) and batches[-64:] == list(range(97, 161))
    assert all(os.path.getsize(log_dir / "train" / name) for name in tb.event_files(log_dir, "train"))


def test_a_full_disk_leaves_no_empty_event_file_per_skipped_write(small_disk):
    log_dir = small_disk / "logs"
    summaries.write_scalars(log_dir, summaries.TRAIN, 0, {"loss/total": 1.0})
    summaries.close(log_dir)  # the next write opens a new file: no page of it is allocated yet
    _fill(small_disk)
    with pytest.warns(RuntimeWarning, match="No space left"):
        for step in range(1, 20):
            summaries.write_scalars(log_dir, summaries.TRAIN, step, {"loss/total": 1.0})
    assert len(tb.event_files(log_dir, "train")) == 1
    os.remove(small_disk / "filler")
    summaries.write_scalars(log_dir, summaries.TRAIN, 20, {"loss/total": 2.0})
    summaries.close(log_dir)
    assert tb.scalars(log_dir, "train") == {"loss/total": [(0, 1.0), (20, 2.0)]}


def test_nan_is_logged_as_is_with_one_warning(tmp_path):
    x = X.copy()
    x[0, 0] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _model().fit(x, Y, epochs=2, batch_size=8, verbose=0, callbacks=[LossComponentLogger(tmp_path, update_freq=1)])
    assert len([w for w in caught if "non-finite" in str(w.message)]) == 1
    values = [value for _, value in tb.scalars(tmp_path, "train")["loss/total"]]
    assert len(values) == 2 and all(np.isnan(values))


def test_layout_has_a_loss_components_chart_over_train_and_validation(tmp_path):
    _model().fit(X, Y, epochs=1, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    accumulator = tb.load(tmp_path).GetAccumulator(".")
    event = accumulator.Tensors("custom_scalars__config__")[0]
    layout = layout_pb2.Layout.FromString(tf.make_ndarray(event.tensor_proto).item())
    (category,) = [c for c in layout.category if c.title == "Loss components"]
    assert list(category.chart[0].multiline.tag) == [LOSS_CHART_REGEX]
    import re

    pattern = re.compile(LOSS_CHART_REGEX)
    assert all(pattern.search(t) for t in ["loss/total", "loss/cross_entropy", "out/loss/z_loss"])
    assert not pattern.search("batch/loss/total") and not pattern.search("entropy/mean")


def test_hparams_record_the_loss_configuration_once_per_log_dir(tmp_path):
    for _ in range(2):
        _model(label_smoothing=0.3).fit(X, Y, epochs=1, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    assert len(tb.event_files(tmp_path, ".")) == 1
    accumulator = tb.load(tmp_path).GetAccumulator(".")
    content = accumulator.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
    info = hparams_metadata.parse_session_start_info_plugin_data(content)
    values = {name: value for name, value in info.hparams.items()}
    assert values["loss"].string_value == "SparseCategoricalCrossentropy"
    assert values["label_smoothing"].number_value == pytest.approx(0.3)
    assert values["from_logits"].bool_value is True
    assert values["z_loss"].number_value == 0.0
    assert values["ignore_class"].string_value == "none"


def test_hparams_list_the_metrics_of_every_callback_on_the_log_dir_whatever_their_order(tmp_path):
    callbacks = [
        LossComponentLogger(tmp_path),  # its on_train_begin runs before the others register
        PostHocMetrics(tmp_path, (X, Y), [keras.metrics.SparseCategoricalAccuracy()], every_n_epochs=0),
        PredictionEntropyLogger(tmp_path, X, from_logits=True),
    ]
    _model().fit(X, Y, epochs=1, verbose=0, validation_data=(X, Y), callbacks=callbacks)
    assert set(tb.hparams_metrics(tmp_path)) == {
        ("train", "loss/total"),
        ("validation", "loss/total"),
        ("posthoc", "metrics/sparse_categorical_accuracy"),
        ("posthoc", "metrics/ece"),
        ("validation", "entropy/mean"),
    }
    # every listed metric is a tag that was written in its run
    written = tb.all_scalars(tmp_path)
    assert all(tag in written[run] for run, tag in tb.hparams_metrics(tmp_path))


def test_hparams_list_only_the_metrics_of_the_callbacks_used(tmp_path):
    callback = PostHocMetrics(tmp_path, (X, Y), [keras.metrics.SparseCategoricalAccuracy()])
    _model().fit(X, Y, epochs=1, verbose=0, callbacks=[callback])
    assert tb.hparams_metrics(tmp_path) == {
        ("posthoc", "metrics/sparse_categorical_accuracy"): "held-out sparse_categorical_accuracy",
        ("posthoc", "metrics/ece"): "held-out ece",
    }


def test_summaries_module_writes_for_a_custom_loop(tmp_path):
    summaries.write_scalars(tmp_path, summaries.TRAIN, 7, {summaries.loss_tag("total"): 0.5})
    summaries.write_histogram(tmp_path, summaries.VALIDATION, summaries.entropy_tag("per_example"), [0.1, 0.2], 7)
    assert tb.scalars(tmp_path, "train") == {"loss/total": [(7, 0.5)]}
    assert tb.histograms(tmp_path, "validation", "entropy/per_example")[0][0] == 7
    summaries.close(tmp_path)
    assert summaries.open_log_dir(tmp_path).next_epoch == 8
    summaries.close(tmp_path)
    assert summaries.loss_tag("z_loss", output="a", batch=True) == "batch/a/loss/z_loss"
    assert summaries.metric_tag("f1_score") == "metrics/f1_score"


def test_event_file_removed_between_writes_is_noticed_and_replaced(tmp_path):
    log_dir = tmp_path / "logs"
    summaries.write_scalars(log_dir, summaries.TRAIN, 0, {"loss/total": 1.0})
    shutil.rmtree(log_dir)
    os.makedirs(log_dir)
    with pytest.warns(RuntimeWarning, match="removed"):
        summaries.write_scalars(log_dir, summaries.TRAIN, 1, {"loss/total": 2.0})
    summaries.write_scalars(log_dir, summaries.TRAIN, 2, {"loss/total": 3.0})
    summaries.close(log_dir)
    assert tb.scalars(log_dir, "train") == {"loss/total": [(1, 2.0), (2, 3.0)]}


def test_a_new_process_fitting_into_the_same_log_dir_continues_the_steps(tmp_path):
    _model().fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[LossComponentLogger(tmp_path, update_freq=1)])
    summaries.close_all()  # what a new process sees: only the event files on disk
    _model().fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[LossComponentLogger(tmp_path, update_freq=1)])
    assert _steps(tmp_path) == [0, 1, 2, 3]
    assert _steps(tmp_path, tag="batch/loss/total") == [1, 2, 3, 4, 5, 6, 7, 8]


def test_writers_of_an_interrupted_fit_are_closed_when_its_callbacks_are_dropped(tmp_path):
    import gc

    def interrupt():
        raise KeyboardInterrupt

    callbacks = [LossComponentLogger(tmp_path), _At(0, interrupt, batch=0)]
    try:
        _model().fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=callbacks)
    except KeyboardInterrupt:
        pass
    log = summaries.open_log_dir(tmp_path)
    assert log._runs  # the root run holds the layout; still open after the interrupted fit
    del callbacks
    gc.collect()
    assert not log._runs


def test_writers_closed_while_a_function_is_traced_leave_nothing_in_its_graph(tmp_path):
    # the garbage collector runs the callbacks' finalizers at any point, e.g. while Keras traces
    # the train step of the next fit: closing must not trace a flush of a writer that is gone
    summaries.write_scalars(tmp_path, summaries.TRAIN, 0, {"loss/total": 1.0})

    @tf.function
    def step(x):
        summaries.close(tmp_path)
        return x + 1.0

    assert float(step(tf.constant(1.0))) == 2.0
    assert float(step(tf.constant(2.0))) == 3.0


# The same outage where TensorFlow is not installed (`import tensorflow` fails; Keras on JAX): the
# writers then reach files through TensorBoard's stub of tf.io.gfile, which has no `remove`.
_FULL_DISK_WITHOUT_TENSORFLOW = """
import os, sys, warnings
sys.modules["tensorflow"] = None
from kerasloss.callbacks import summaries
disk, log_dir = sys.argv[1], os.path.join(sys.argv[1], "logs")
summaries.write_scalars(log_dir, summaries.TRAIN, 0, {"loss/total": 1.0})
summaries.close(log_dir)
fd = os.open(os.path.join(disk, "filler"), os.O_WRONLY | os.O_CREAT)
try:
    while True:
        os.write(fd, bytes(1 << 16))
except OSError:
    os.close(fd)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for step in range(1, 5):
        summaries.write_scalars(log_dir, summaries.TRAIN, step, {"loss/total": 1.0})
print(len(caught), len(os.listdir(os.path.join(log_dir, "train"))))
os.remove(os.path.join(disk, "filler"))
summaries.write_scalars(log_dir, summaries.TRAIN, 5, {"loss/total": 2.0})
summaries.close(log_dir)
"""


@pytest.mark.backends("jax")  # the subprocess runs Keras on JAX whatever runs here: once is enough
def test_a_full_disk_without_tensorflow_warns_once_and_logging_resumes(small_disk):
    done = subprocess.run([sys.executable, "-c", _FULL_DISK_WITHOUT_TENSORFLOW, str(small_disk)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT, "KERAS_BACKEND": "jax"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "1"]  # one warning, no empty event file beside the first
    assert tb.scalars(small_disk / "logs", "train") == {"loss/total": [(0, 1.0), (5, 2.0)]}
