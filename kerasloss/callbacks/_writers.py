"""The writers of kerasloss' event files: one per (log_dir, run) in this process, and their lifetime.

See `kerasloss.callbacks.summaries` for the contract (flushed writes, chief only, faults, steps).
"""

import atexit
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
import warnings

import numpy as np
from tensorboard.compat import tf  # TensorFlow when installed, else TensorBoard's stub (see _files)
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.util import tensor_util

from kerasloss._chief import is_chief
from kerasloss.callbacks import _files
from kerasloss.callbacks._resume import (
    SUFFIX,
    own_event_files,
    rewrite_without,
    steps_on_disk,
)
from kerasloss_tensorboard.metadata import ROOT, is_batch_tag

_SCALAR_METADATA = scalar_metadata.create_summary_metadata(display_name=None, description=None)
_logger = logging.getLogger("kerasloss")
FIT_OFFSETS = "kerasloss_steps.json"  # the step offsets of the last fit begun at epoch 0


def _float32_tensor(value):
    """A scalar float32 `TensorProto`, the form `tf.summary.scalar` writes."""
    return tensor_util.make_tensor_proto(np.float32(value))


def check_writable(log_dir):
    """Create `log_dir` if needed and prove a file can be written there, else raise ValueError.

    The message names `log_dir` exactly as given.
    """
    if not isinstance(log_dir, (str, os.PathLike)) or not os.fspath(log_dir):
        raise TypeError(f"log_dir must be a non-empty path, got {log_dir!r}")
    if not is_chief():
        return
    path = os.fspath(log_dir)
    probe = os.path.join(path, f".kerasloss-probe-{uuid.uuid4().hex}")
    try:
        tf.io.gfile.makedirs(path)
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("ok")
        _files.remove(probe)
    except (OSError, tf.errors.OpError) as err:
        raise ValueError(
            f"log_dir {log_dir!r} cannot be written ({type(err).__name__}: {err}); "
            f"pass a directory this process can create and write"
        ) from None


class _RunWriter:
    """One event file on `<root>/<run>`, written record by record; reopened after a fault."""

    def __init__(self, root, run):
        self.path = root if run == ROOT else os.path.join(root, run)
        self.stream = None  # the event file, open for writing
        self.file = None

    def open(self):
        tf.io.gfile.makedirs(self.path)
        now = time.time_ns()
        name = (f"events.out.tfevents.{now // 10**9:010d}.{now % 10**9:09d}.{socket.gethostname()}."
                f"{os.getpid()}.{uuid.uuid4().hex[:8]}{SUFFIX}")
        self.file = os.path.join(self.path, name)
        self.stream = tf.io.gfile.GFile(self.file, "wb")
        self.write(event_pb2.Event(wall_time=now / 1e9, file_version="brain.Event:2"))

    def write(self, event):
        """Append `event` and flush it to the file."""
        self.stream.write(_files.tf_record(event.SerializeToString()))
        self.stream.flush()

    def vanished(self):
        return self.file is not None and not tf.io.gfile.exists(self.file)

    def discard(self):
        """Close and remove a file that could not even take its first record (a full disk): every
        write of an outage tries to open one, and would otherwise leave an empty event file."""
        path = self.file
        self.close()
        if path is not None:
            try:
                _files.remove(path)
            except (tf.errors.OpError, OSError):
                pass

    def close(self):
        stream, self.stream, self.file = self.stream, None, None
        if stream is not None:
            try:
                stream.close()
            except (tf.errors.OpError, OSError):
                pass


class LogDir:
    """Shared writers of one log_dir; get it with `open_log_dir(log_dir)`."""

    def __init__(self, log_dir):
        self.log_dir = os.fspath(log_dir)
        self._runs = {}
        self._lock = threading.RLock()
        self._holders = set()
        self._in_outage = False
        self._warned_nonfinite = False
        self._ever_written = False
        self.hparams_metrics = {}  # {(run, tag): display name}, see `add_hparams_metrics`
        self.dashboards_written = False  # set by `dashboards.write_once`
        self.next_epoch, self.next_batch = steps_on_disk(self.log_dir)

    # -- lifetime ------------------------------------------------------------------------------
    def acquire(self, holder):
        """Register `holder` (e.g. a callback id) as a user of these writers."""
        with self._lock:
            self._holders.add(holder)

    def release(self, holder):
        """Forget `holder`; the writers are closed (after a flush) when no holder is left."""
        with self._lock:
            self._holders.discard(holder)
            if not self._holders:
                self.close()

    def close(self):
        with self._lock:
            for run in self._runs.values():
                run.close()
            self._runs.clear()

    def add_hparams_metrics(self, metrics):
        """Register [(run, tag, display name)] as metrics of this log_dir's hparams record.

        Every callback registers the tags it writes before the record is written (see
        `dashboards.write_once`), so the HParams table lists all of them.
        """
        with self._lock:
            for run, tag, display_name in metrics:
                self.hparams_metrics.setdefault((run, tag), display_name)

    # -- writing -------------------------------------------------------------------------------
    def _open_run(self, run):
        """The run's `_RunWriter`, its file (re)opened if needed, or None while the log_dir cannot
        be written."""
        state = self._runs.get(run)
        if state is None:
            state = self._runs[run] = _RunWriter(self.log_dir, run)
        if state.stream is not None and state.vanished():
            state.close()
            self._fault(f"its event file {state.path} was removed")
        if state.stream is None:
            if self._ever_written and not tf.io.gfile.isdir(self.log_dir):
                # never recreate a log_dir that was removed under us: wait for it to come back
                self._fault("the directory is gone")
                return None
            try:
                state.open()
            except (tf.errors.OpError, OSError) as err:
                state.discard()
                self._fault(f"{type(err).__name__}: {err}")
                return None
        return state

    def _write(self, run, step, summary):
        """Write the `Summary` proto `summary` at `step` into `run` as one event and flush it."""
        if not is_chief():
            return False
        with self._lock:
            writer = self._open_run(run)
            if writer is None:
                return False
            try:
                writer.write(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
            except (tf.errors.OpError, OSError) as err:
                writer.close()
                self._fault(f"{type(err).__name__}: {err}")
                return False
            self._ever_written = True
            if self._in_outage:
                self._in_outage = False
                _logger.warning("kerasloss: log_dir %r can be written again; logging resumed", self.log_dir)
            return True

    def _fault(self, reason):
        if not self._in_outage:
            self._in_outage = True
            warnings.warn(
                f"kerasloss: cannot write TensorBoard logs to log_dir {self.log_dir!r} ({reason}); "
                f"training continues, values are skipped until the directory can be written again",
                RuntimeWarning,
                stacklevel=4,
            )

    def _note_step(self, tags, step):
        if any(is_batch_tag(tag) for tag in tags):
            self.next_batch = max(self.next_batch, step + 1)
        if any(not is_batch_tag(tag) for tag in tags):
            self.next_epoch = max(self.next_epoch, step + 1)

    def write_scalars(self, run, step, values):
        """Write `{tag: number}` at `step` into `run` and flush. NaN/inf are written as they are."""
        values = {tag: float(np.asarray(value)) for tag, value in values.items()}
        if not values:
            return
        bad = [tag for tag, value in values.items() if not math.isfinite(value)]
        if bad and not self._warned_nonfinite:
            self._warned_nonfinite = True
            warnings.warn(
                f"kerasloss: non-finite values logged as they are in {self.log_dir!r}/{run} at step "
                f"{step}: {sorted(bad)} (further non-finite values are logged without warning)",
                RuntimeWarning,
                stacklevel=3,
            )

        summary = summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag=tag, metadata=_SCALAR_METADATA, tensor=_float32_tensor(value))
            for tag, value in values.items()
        ])
        if self._write(run, int(step), summary):
            self._note_step(values, int(step))

    def write_histogram(self, run, tag, values, step, buckets=30):
        """Write a histogram of `values` (a 1-D sample) at `step` into `run` and flush
        (TensorBoard's own `histogram_pb`: the buckets `tf.summary.histogram` writes). Its values
        that are not finite (a diverged model's) are left out: with them every bucket edge is NaN."""
        from tensorboard.plugins.histogram.summary_v2 import histogram_pb

        data = np.asarray(values, dtype=np.float32).reshape(-1)
        data = data[np.isfinite(data)]
        if self._write(run, int(step), histogram_pb(tag, data, buckets=buckets)):
            self._note_step([tag], int(step))

    def write_raw(self, run, step, serialized_summaries):
        """Write already-built `Summary` protos (bytes), e.g. a custom-scalars layout."""
        summary = summary_pb2.Summary()
        for blob in serialized_summaries:
            summary.MergeFromString(blob)
        return self._write(run, int(step), summary)

    def supersede(self, epoch, batch):
        """Remove kerasloss' values at epoch steps >= `epoch` and batch steps > `batch` from the
        event files of this log_dir (its writers are closed first; later writes open new files).

        A resumed `fit` (`initial_epoch`, `BackupAndRestore`) calls it before writing again, so that
        what the stopped process logged after its last backup does not stay beside the new values.
        """
        if not is_chief():
            return
        with self._lock:
            if self.next_epoch <= epoch and self.next_batch <= batch + 1:
                return
            for run, state in list(self._runs.items()):
                if run != ROOT:
                    state.close()
                    del self._runs[run]
            for path in own_event_files(self.log_dir):
                try:
                    rewrite_without(path, epoch, batch)
                except (tf.errors.OpError, OSError) as err:
                    self._fault(f"{type(err).__name__}: {err}")
            self.next_epoch, self.next_batch = steps_on_disk(self.log_dir)

    def start_over_if_removed(self):
        """Forget what this process wrote here when none of it is on disk any more (a notebook
        that deletes the log_dir and fits again): steps start from 0 and the log_dir's own record
        (layout, component weights, hparams) is written again. Called as each fit begins."""
        with self._lock:
            if not (self.next_epoch or self.next_batch or self.dashboards_written):
                return
            if self.has_root_record() or next(iter(own_event_files(self.log_dir)), None):
                return
            self.close()
            self.next_epoch = self.next_batch = 0
            self.dashboards_written = self._ever_written = self._in_outage = False
            self.hparams_metrics = {}

    def fit_offsets(self):
        """(epoch offset, batch offset) of the last fit that began here at epoch 0, as
        `note_fit_offsets` kept them ((0, 0) when none did): a resumed fit continues its steps."""
        path = os.path.join(self.log_dir, FIT_OFFSETS)
        try:
            if tf.io.gfile.exists(path):
                with tf.io.gfile.GFile(path, "r") as f:
                    kept = json.loads(f.read())
                return int(kept["epoch"]), int(kept["batch"])
        except (tf.errors.OpError, OSError, ValueError, KeyError, TypeError):
            pass  # unreadable: as if none was kept
        return 0, 0

    def note_fit_offsets(self, offsets):
        """Keep a fit's step offsets in `<log_dir>/kerasloss_steps.json` (chief only, atomically)."""
        if not is_chief():
            return
        path = os.path.join(self.log_dir, FIT_OFFSETS)
        try:
            tf.io.gfile.makedirs(self.log_dir)
            _files.write_whole(path, [json.dumps({"epoch": int(offsets[0]), "batch": int(offsets[1])}).encode()])
        except (tf.errors.OpError, OSError) as err:
            self._fault(f"{type(err).__name__}: {err}")

    def has_root_record(self):
        """Whether a kerasloss event file already sits in the log_dir itself (layout, hparams)."""
        return bool(tf.io.gfile.glob(os.path.join(self.log_dir, f"events.out.tfevents.*{SUFFIX}")))

    def flush(self):
        """Nothing to do: every write is flushed before it returns (kept for custom loops)."""


_registry = {}
_registry_lock = threading.Lock()


def _key(log_dir):
    path = os.fspath(log_dir)
    return path if "://" in path else os.path.realpath(path)


def open_log_dir(log_dir):
    """The process-wide `LogDir` of `log_dir` (created on first use; never raises on faults)."""
    with _registry_lock:
        key = _key(log_dir)
        state = _registry.get(key)
        if state is None:
            state = _registry[key] = LogDir(log_dir)
        return state


def close(log_dir):
    """Close every writer of `log_dir`; a later write reopens a new event file."""
    with _registry_lock:
        state = _registry.pop(_key(log_dir), None)
    if state is not None:
        state.close()


def close_all():
    """Close every kerasloss writer of this process (also run at interpreter exit)."""
    with _registry_lock:
        states = list(_registry.values())
        _registry.clear()
    for state in states:
        state.close()


atexit.register(close_all)
