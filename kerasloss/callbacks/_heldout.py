"""Held-out data for the callbacks: batches of x, (x, y) or (x, y, sample_weight), and a compiled
inference pass."""

import numpy as np
import tensorflow as tf

_EXPECTED = "x, (x, y) or (x, y, sample_weight)"


def as_dataset(data, batch_size, name="data"):
    """`data` (x, (x, y), (x, y, w) or a batched `tf.data.Dataset`) as a dataset of one of those.

    NumPy data is batched with `batch_size`; a dataset is used as it is (batch it yourself). A
    trailing None (`(x, y, None)`, `(x, None)`) is dropped, as Keras does. Anything else is refused
    here, naming `name`, so that no part of the data is silently ignored.
    """
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if isinstance(spec, tuple) and len(spec) not in (1, 2, 3):
            raise ValueError(f"{name} must yield {_EXPECTED}, got a dataset of {len(spec)}-tuples")
        return data
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(data, list):
        data = tuple(data)
    if isinstance(data, tuple):
        if len(data) not in (1, 2, 3):
            raise ValueError(f"{name} must be {_EXPECTED}, got a tuple of {len(data)}")
        while len(data) > 1 and data[-1] is None:
            data = data[:-1]
        if any(part is None for part in data):
            raise ValueError(f"{name} must be {_EXPECTED} without None in the middle, got {data!r}")
        data = data if len(data) > 1 else data[0]
    if data is None:
        raise ValueError(f"{name} must be held-out inputs, (x, y) or a tf.data.Dataset, got None")
    scalar = not isinstance(data, (dict, tuple)) and np.ndim(data) == 0
    if isinstance(data, (str, bytes)) or scalar:
        raise TypeError(f"{name} must be arrays ({_EXPECTED}) or a tf.data.Dataset, got {data!r}")
    try:
        return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)
    except (TypeError, ValueError, tf.errors.InvalidArgumentError) as err:
        raise TypeError(
            f"{name} must be arrays ({_EXPECTED}) of equal length or a tf.data.Dataset "
            f"({type(err).__name__}: {err})"
        ) from None


def split(batch):
    """(x, y or None, sample_weight or None) from one dataset element."""
    if isinstance(batch, tuple):
        batch = batch + (None,) * (3 - len(batch))
        return batch[0], batch[1], batch[2]
    return batch, None, None


def inference(model):
    """A `tf.function` computing `model(x, training=False)`, retraced only for new shapes."""
    return tf.function(lambda x: model(x, training=False), reduce_retracing=True)
