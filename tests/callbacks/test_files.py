"""kerasloss' event-file framing (`callbacks/_files.py`) against TensorBoard's own `RecordWriter`
and its pure-Python CRC-32C, byte for byte, and read back by TensorBoard's record reader."""

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tensorboard_masked_crc32c
from tensorboard.summary.writer.record_writer import RecordWriter

from kerasloss.callbacks import _files


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=3000))
def test_masked_crc32c_equals_tensorboards(data):
    assert _files.masked_crc32c(data) == tensorboard_masked_crc32c(data)


@settings(max_examples=50, deadline=None)
@given(records=st.lists(st.binary(max_size=500), max_size=5))
def test_tf_records_are_the_bytes_tensorboards_record_writer_writes(records):
    theirs = io.BytesIO()
    writer = RecordWriter(theirs)
    for record in records:
        writer.write(record)
    assert b"".join(_files.tf_record(record) for record in records) == theirs.getvalue()


def test_tensorboards_reader_reads_the_records_back(tmp_path):
    from tensorboard.backend.event_processing import event_file_loader

    records = [b"", b"kerasloss", bytes(range(256)) * 40]
    path = tmp_path / "events.out.tfevents.0.test"
    path.write_bytes(b"".join(_files.tf_record(record) for record in records))
    assert list(event_file_loader.RawEventFileLoader(str(path)).Load()) == records
