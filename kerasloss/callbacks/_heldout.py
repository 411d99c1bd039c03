"""Held-out data for the callbacks: batches of (x, y or None) and a compiled inference pass."""

import tensorflow as tf


def as_dataset(data, batch_size, name="data"):
    """`data` (x, (x, y), (x, y, w) or a batched `tf.data.Dataset`) as a dataset of (x, y or None).

    NumPy data is batched with `batch_size`; a dataset is used as it is (batch it yourself).
    """
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, list):
        data = tuple(data)
    if isinstance(data, tuple):
        if len(data) not in (1, 2, 3):
            raise ValueError(f"{name} must be x, (x, y) or (x, y, sample_weight), got a tuple of {len(data)}")
        data = data[:2] if len(data) > 1 else data[0]
    if data is None:
        raise ValueError(f"{name} must be held-out inputs, (x, y) or a tf.data.Dataset, got None")
    return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)


def split(batch):
    """(x, y or None) from one dataset element."""
    if isinstance(batch, tuple):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None


def inference(model):
    """A `tf.function` computing `model(x, training=False)`, retraced only for new shapes."""
    return tf.function(lambda x: model(x, training=False), reduce_retracing=True)
