"""How kerasloss writes files: the two file operations TensorBoard's stub of `tf.io.gfile` lacks, so
that logging needs no TensorFlow, files written whole (aside, then moved into place), and the
TFRecord framing of event files.

kerasloss' writers reach files through `tensorboard.compat.tf`, as TensorBoard reads them:
TensorFlow when it is installed (its `tf.io.gfile` writes gs://, hdfs:// and every file system
TensorFlow registers), else TensorBoard's pure-Python stub (local paths; s3:// and fsspec URLs as
far as the stub goes). It is loaded on first use, so importing kerasloss imports no TensorFlow.
The stub has no `remove` or `rename`: without TensorFlow these act on local paths (`os`).
"""

import os
import struct

import google_crc32c
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


def write_whole(path, chunks, partial=None, keep_last_as=None):
    """Write the bytes `chunks` (an iterable) as the file `path`, whole: first to `partial` (default
    `<path>.partial`), then moved onto `path`, so that a kill leaves the old file or the new one,
    never a part of either. With `keep_last_as`, the file replaced is first moved there."""
    partial = partial or f"{path}.partial"
    with tf.io.gfile.GFile(partial, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    if keep_last_as and tf.io.gfile.exists(path):
        replace(path, keep_last_as)
    replace(partial, path)


def masked_crc32c(data):
    """TFRecord's masked CRC-32C of `data`: ((c >> 15) | (c << 17)) + 0xa282ead8 mod 2**32, c its
    CRC-32C (google-crc32c's C code; TensorBoard's pure-Python one took 25 ms of the 44 ms a ledger
    record cost at N = 1,257)."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tf_record(data):
    """`data` framed as one TFRecord, as TensorBoard's `RecordWriter` frames it: its length (uint64,
    little-endian), the length's masked CRC-32C, the data, the data's masked CRC-32C (uint32s)."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))
