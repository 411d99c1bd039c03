"""The one module that owns kerasloss' TensorBoard runs, tag names and summary writers.

Callbacks (and custom training loops) ask it to write; nothing else creates a writer.

Runs (sub-directories of a log_dir):
    train       loss/total, loss/<component>, loss/regularization, entropy/mean, batch/loss/...
    validation  the same from the `val_` logs; entropy/mean, entropy/normalized, entropy/per_example
    posthoc     metrics/<name>
    .           (the log_dir itself) the custom-scalars layout and the hparams record, once

Tags (multi-output models prefix the output name: `<output>/loss/<component>`):
    loss_tag("cross_entropy")              -> "loss/cross_entropy"
    loss_tag("total", output="a")          -> "a/loss/total"
    loss_tag("total", batch=True)          -> "batch/loss/total"
    entropy_tag("mean")                    -> "entropy/mean"
    metric_tag("f1_score")                 -> "metrics/f1_score"
    ledger_tag("mean_margin")              -> "ledger/mean_margin"

Writers: one per (log_dir, run) in this process, shared by every caller, created lazily on the first
write. Each writes TFRecords, framed as TensorBoard's own `RecordWriter` frames them
(`_files.tf_record`, with google-crc32c's C CRC-32C), to a `tf.io.gfile` file: no TensorFlow op, no
default writer or `record_if` state, nothing that could enter a traced function, on every Keras
backend. Each write group is one event, flushed at once, so every value written is on disk when the
call returns (a KeyboardInterrupt or a SIGKILL between two writes loses nothing already written). Measured: a write of 8 scalars plus its flush takes
0.2–1.5 ms this way against 16–50 ms through eager `tf.summary` ops (16–87× less; 2 shared cores,
other jobs running). Writers are closed by `close(log_dir)`, by the callbacks at train end, and at
interpreter exit.

Event file names: `events.out.tfevents.<seconds>.<nanoseconds>.<host>.<pid>.<id>.kerasloss.v2`, so
that TensorBoard (which reads a run's files in name order) reads them in creation order even within
one second.

Chief: only the process `kerasloss.distribute.is_chief()` names writes (the TensorFlow strategy's
chief worker, JAX process 0). Elsewhere every write is skipped and nothing under log_dir is created
or changed (`supersede` included).

Faults: a log_dir that cannot be written when it is opened is an error (`check_writable`). A
log_dir that disappears or fails (e.g. out of space) later gives one warning; writes are skipped
until it can be written again, then logging resumes in a fresh event file.

Steps: `LogDir.next_epoch` / `next_batch` are one past the largest epoch-level / `batch/` step
already written under the log_dir by kerasloss (its own `*.kerasloss.v2` event files, read back
from disk the first time it is opened in a process; other writers' files, e.g. Keras'
`TensorBoard` callback on the same log_dir, are never counted), so that a second `fit` into the
same log_dir can continue its steps instead of overwriting them. `LogDir.supersede(epoch, batch)`
removes from those files the values at epoch steps >= `epoch` and batch steps > `batch` (a resumed
fit writes them again), so that each step holds one value.

Example (a custom training loop):
>>> from kerasloss.callbacks import summaries
>>> summaries.write_scalars("runs/a", summaries.TRAIN, step=3, values={"loss/total": 0.5})
>>> summaries.flush("runs/a")   # already flushed by write_scalars; closes nothing
>>> summaries.close("runs/a")
"""


import keras
import numpy as np

from kerasloss.callbacks._writers import (  # noqa: F401  (the public API: summaries.open_log_dir, ...)
    LogDir,
    check_writable,
    close,
    close_all,
    open_log_dir,
)
from kerasloss_tensorboard.metadata import (  # noqa: F401  (re-exported: summaries.TRAIN, ...)
    BATCH_PREFIX,
    DIAGNOSTICS_PREFIX,
    ENTROPY_STATS,
    LOSS_PREFIX,
    POSTHOC,
    REGULARIZATION,
    ROOT,
    RUNS,
    TOTAL,
    TRAIN,
    VALIDATION,
    diagnostic_tag,
    entropy_tag,
    is_batch_tag,
    ledger_tag,
    loss_tag,
    metric_tag,
)


def metric_scalars(results):
    """{tag: value} of post-hoc results {name: number or list}: a vector gets `metrics/<name>/<i>`."""
    values = {}
    for name, value in results.items():
        if isinstance(value, list):
            values.update({f"{metric_tag(name)}/{i}": v for i, v in enumerate(value)})
        else:
            values[metric_tag(name)] = value
    return values


def metric_result(metric):
    """A Keras metric's result as a float, or a list of floats for a vector result."""
    value = np.asarray(keras.ops.convert_to_numpy(metric.result()), dtype=np.float64)
    return float(value) if value.size == 1 else value.reshape(-1).tolist()


def write_scalars(log_dir, run, step, values):
    """Write `{tag: number}` at `step` into `<log_dir>/<run>`, flushed on return."""
    open_log_dir(log_dir).write_scalars(run, step, values)


def write_histogram(log_dir, run, tag, values, step):
    """Write a histogram of `values` at `step` into `<log_dir>/<run>`, flushed on return."""
    open_log_dir(log_dir).write_histogram(run, tag, values, step)


def flush(log_dir):
    """Flush every writer of `log_dir` (writes already flush; this is for callers that batch)."""
    open_log_dir(log_dir).flush()
