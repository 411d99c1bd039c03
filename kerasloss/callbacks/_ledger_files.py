"""The whole ledger on disk: `<log_dir>/ledger[.<output>].npz`, the arrays of `ExampleLedger`'s
state (ids, labels, top_k and `RunningStats.state()`), and the save before it.

Each save writes the new file aside, moves the last save to `<name>.previous`, then moves the new
file into place, so that a resumed fit can continue from the save before the last one: a process
killed after the ledger saved an epoch but before `keras.callbacks.BackupAndRestore` backed that
epoch up resumes at that very epoch, which the last save already holds. A kill between the two
moves leaves the save before the last one, which reading falls back to.
"""

import io
import os

import numpy as np
from tensorboard.compat import tf  # TensorFlow's gfile when installed, else TensorBoard's stub

from kerasloss.callbacks import _files

PREVIOUS = ".previous"


def file_name(output):
    """The name of the ledger file of `output` (None: the model's only one)."""
    return f"ledger.{output}.npz" if output else "ledger.npz"


def path_of(log_dir, output):
    return os.path.join(os.fspath(log_dir), file_name(output))


def save(log_dir, output, arrays):
    """Write `arrays` (name -> NumPy array) as the ledger file, keeping the last one as `.previous`."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = path_of(log_dir, output)
    _files.write_whole(path, [buffer.getvalue()], keep_last_as=path + PREVIOUS)


def saved(log_dir, output):
    """The saves on disk, newest first: [arrays of the last save, arrays of the one before], as many
    as exist (the last is missing after a kill between the two moves of `save`)."""
    path = path_of(log_dir, output)
    found = []
    for candidate in (path, path + PREVIOUS):
        if tf.io.gfile.exists(candidate):
            with tf.io.gfile.GFile(candidate, "rb") as f:
                found.append(dict(np.load(io.BytesIO(f.read()), allow_pickle=False)))
    return found


def set_aside(log_dir, output, suffix):
    """Keep the last save as `<name>.<suffix>`, out of the way of the saves to come, and remove the
    save before it (an earlier state of the same ledger), which no later resume may continue."""
    path = path_of(log_dir, output)
    if tf.io.gfile.exists(path):
        _files.replace(path, f"{path}.{suffix}")
    if tf.io.gfile.exists(path + PREVIOUS):
        _files.remove(path + PREVIOUS)
