"""Rewriting kerasloss' own event files when a fit resumes, and reading back the steps they hold.

A resumed `fit` (`initial_epoch`, `BackupAndRestore`) rewrites the epochs after its last backup;
`rewrite_without(path, epoch, batch)` removes from an event file the values at epoch steps >= `epoch`
and batch steps > `batch`, so that each step holds one value. `steps_on_disk(log_dir)` gives the
next free (epoch, batch) steps. Only kerasloss' own files (`*.kerasloss.v2`) are read or rewritten,
never other writers' (Keras' `TensorBoard` callback on the same log_dir).
"""

import os

from tensorboard.compat import tf  # TensorFlow when installed, else TensorBoard's stub (see _files)

from kerasloss.callbacks import _files
from kerasloss_tensorboard.metadata import RUNS, is_batch_tag

SUFFIX = ".kerasloss.v2"


def own_event_files(log_dir):
    """Paths of the event files kerasloss wrote under `log_dir`'s runs (never other writers')."""
    for run in RUNS:
        path = os.path.join(log_dir, run)
        if tf.io.gfile.isdir(path):
            for name in sorted(tf.io.gfile.listdir(path)):
                if "tfevents" in name and name.endswith(SUFFIX):
                    yield os.path.join(path, name)


def _is_superseded(event, epoch, batch):
    """Whether `event` holds a value at an epoch step >= `epoch` or a batch step > `batch`."""
    return any(
        event.step > batch if is_batch_tag(value.tag) else event.step >= epoch for value in event.summary.value
    )


def steps_on_disk(log_dir):
    """(next epoch step, next batch step) from kerasloss' event files already under `log_dir`."""
    from tensorboard.backend.event_processing import event_file_loader

    next_epoch = next_batch = 0
    for path in own_event_files(log_dir):
        try:
            for event in event_file_loader.EventFileLoader(path).Load():
                for value in event.summary.value:
                    if is_batch_tag(value.tag):
                        next_batch = max(next_batch, event.step + 1)
                    else:
                        next_epoch = max(next_epoch, event.step + 1)
        except Exception:  # a truncated or foreign file never stops training
            continue
    return next_epoch, next_batch


def rewrite_without(path, epoch, batch):
    """Rewrite the event file `path` without its superseded events (see `_is_superseded`)."""
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.compat.proto import event_pb2

    records = list(event_file_loader.RawEventFileLoader(path).Load())
    kept = [r for r in records if not _is_superseded(event_pb2.Event.FromString(r), epoch, batch)]
    if len(kept) == len(records):
        return
    # a name without "tfevents": TensorBoard reads any such file, so a rewrite cut short (a killed
    # process) would otherwise show its prefix as a second copy of the run's steps
    directory, name = os.path.split(path)
    partial = os.path.join(directory, "." + name.replace("tfevents", "rewrite") + ".partial")
    _files.write_whole(path, (_files.tf_record(record) for record in kept), partial=partial)
