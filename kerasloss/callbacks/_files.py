"""The two file operations TensorBoard's stub of `tf.io.gfile` lacks, so that logging needs no TensorFlow.

kerasloss' writers reach files through `tensorboard.compat.tf`, as TensorBoard reads them:
TensorFlow when it is installed (its `tf.io.gfile` writes gs://, hdfs:// and every file system
TensorFlow registers), else TensorBoard's pure-Python stub (local paths; s3:// and fsspec URLs as
far as the stub goes). It is loaded on first use, so importing kerasloss imports no TensorFlow.
The stub has no `remove` or `rename`: without TensorFlow these act on local paths (`os`).
"""

import os

from tensorboard.compat import tf


def remove(path):
    """Delete the file `path`."""
    if hasattr(tf.io.gfile, "remove"):
        tf.io.gfile.remove(path)
    else:
        os.remove(path)


def replace(source, target):
    """Move the file `source` onto `target`, replacing it."""
    if hasattr(tf.io.gfile, "rename"):
        tf.io.gfile.rename(source, target, overwrite=True)
    else:
        os.replace(source, target)
