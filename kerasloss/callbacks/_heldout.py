"""Held-out data for the callbacks, on every Keras backend: batches of (x, y, sample_weight) as
NumPy structures, and the model's outputs on them from Keras' own compiled predict function
(`model.predict_on_batch`: a `tf.function` on TensorFlow, `jax.jit` on JAX, eager on PyTorch; no
function of ours wraps the model).

`data` is one of (what `model.predict` / `model.evaluate` take, except one-shot generators):
- arrays: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, batched by `batch_size`. `x` may be an
  array, a list or dict of arrays (several inputs): a *list* is always `x`, a *tuple* is unpacked,
  so a two-input model takes `[xa, xb]` or `((xa, xb),)` (inputs only) or `((xa, xb), y)`;
- a batched `tf.data.Dataset`, a `keras.utils.PyDataset`, or any re-iterable sequence of batches
  with a length (e.g. a `torch.utils.data.DataLoader`); each batch is unpacked as Keras unpacks
  one (`keras.utils.unpack_x_y_sample_weight`). One without an end (a `.repeat()`-ed dataset, a
  PyDataset whose `num_batches` is None) or without a length needs `steps=` (batches per pass).
"""

import itertools
import sys

import keras
import numpy as np

from kerasloss import _checks

_EXPECTED = "x, (x, y) or (x, y, sample_weight)"


class HeldOut:
    """A re-iterable source of `(x, y or None, sample_weight or None)` NumPy batches.

    Args:
        data: see the module docstring.
        batch_size: batch size for array `data` (checked only then).
        steps: batches per pass (None: all of `data`).
        name: the argument name used in error messages.
    """

    def __init__(self, data, batch_size, steps=None, name="data"):
        self.name = name
        self.steps = None if steps is None else _checks.check_int_at_least("steps", steps, 1)
        self._arrays = self._source = None
        self.batch_size = None  # batches as the dataset, PyDataset or DataLoader yields them
        if _is_tf_dataset(data):
            self._source = _check_dataset(data, self.steps, name)
        elif isinstance(data, keras.utils.PyDataset):
            self._source = _check_py_dataset(data, self.steps, name)
        elif _is_batch_iterable(data):
            self._source = _check_iterable(data, self.steps, name)
        else:
            self.batch_size = _checks.check_int_at_least("batch_size", batch_size, 1)
            self._given = _array_parts(data, name)
            self._arrays = _check_arrays(self._given, data, name)

    def __iter__(self):
        if self._arrays is not None:
            batches = self._array_batches()
        elif _is_tf_dataset(self._source):
            batches = (_unpack(element) for element in self._source.as_numpy_iterator())
        elif isinstance(self._source, keras.utils.PyDataset):
            indices = range(self._source.num_batches) if self.steps is None else range(self.steps)
            batches = (_unpack(self._source[i]) for i in indices)
        else:
            batches = (_unpack(element) for element in self._source)
        return itertools.islice(batches, self.steps)

    def _array_batches(self):
        x, y, weight = self._arrays
        length = len(keras.tree.flatten(x)[0])
        for start in range(0, length, self.batch_size):
            part = slice(start, start + self.batch_size)
            yield tuple(
                None if item is None else keras.tree.map_structure(lambda a: a[part], item)
                for item in (x, y, weight)
            )

    def first(self):
        """The first batch, or None when `data` is empty."""
        return next(iter(self), None)

    def array_labels(self):
        """The labels (y) of array `data`, all of them as given (NumPy), or None: other data's labels
        are read batch by batch."""
        return None if self._arrays is None else self._arrays[1]

    def kept_by(self, keras_data, keras_steps):
        """Which of (labels, sample weights) a pass over Keras' `keras_data` (see
        `_model_info.validation_data_of`) in `keras_steps` batches gives of this data: (keep y,
        keep sample_weight), or None unless that pass reads exactly this data. Arrays: the same
        array objects (x, and y and sample_weight where this data has them; Keras' others are
        dropped), the whole of them; a dataset, PyDataset or DataLoader: the same object, in the same
        number of steps."""
        kind, data = keras_data
        if self._arrays is None:
            return (True, True) if kind == "source" and data is self._source and keras_steps == self.steps else None
        if kind != "arrays" or keras_steps is not None or self.steps is not None:
            return None
        for ours, theirs in zip(self._given, data):
            if ours is not None and not _same_leaves(ours, theirs):
                return None
        return self._given[1] is not None, self._given[2] is not None

    def size(self):
        """(examples, batches) of one pass, each None when unknown (examples: arrays; batches: the
        others, from `steps` or their length)."""
        if self._arrays is not None:
            return len(keras.tree.flatten(self._arrays[0])[0]), None
        if self.steps is not None:
            return None, self.steps
        if _is_tf_dataset(self._source):
            cardinality = int(self._source.cardinality())
            return None, cardinality if cardinality >= 0 else None
        if isinstance(self._source, keras.utils.PyDataset):
            return None, self._source.num_batches
        return None, len(self._source)


def predict(model, x):
    """The model's outputs on one batch `x` (a structure for several outputs), from Keras' compiled
    predict function: TensorFlow tensors on TensorFlow (`predict_on_batch` less its copy to NumPy,
    which the callers' ops would copy back), NumPy on the other backends."""
    if keras.backend.backend() == "tensorflow":
        model.make_predict_function()
        return model.predict_function([(x,)])
    return model.predict_on_batch(x)


def _same_leaves(ours, theirs):
    """Whether two structures hold the very same objects, in the same places."""
    if theirs is None:
        return False
    ours, theirs = keras.tree.flatten(ours), keras.tree.flatten(theirs)
    return len(ours) == len(theirs) and all(a is b for a, b in zip(ours, theirs))


def _unpack(element):
    x, y, weight = keras.utils.unpack_x_y_sample_weight(element)
    return tuple(None if item is None else keras.tree.map_structure(to_numpy, item) for item in (x, y, weight))


def to_numpy(value):
    """`value` as a NumPy array: the array itself, or a view of a JAX, TensorFlow or PyTorch CPU
    array where the backend allows one (`keras.ops.convert_to_numpy` always copies); not to be
    written to."""
    if hasattr(value, "detach"):  # a torch tensor (possibly requiring grad, possibly on a device)
        value = value.detach().cpu()
    return np.asarray(value)


def _is_tf_dataset(data):
    """Whether `data` is a `tf.data.Dataset`, without importing TensorFlow (no dataset exists before it is)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(data, tf.data.Dataset)


def _check_dataset(data, steps, name):
    import tensorflow as tf  # loaded: `data` is a tf.data.Dataset

    spec = data.element_spec
    if isinstance(spec, tuple) and len(spec) not in (1, 2, 3):
        raise ValueError(f"{name} must yield {_EXPECTED}, got a dataset of {len(spec)}-tuples")
    if steps is None and int(data.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError(
            f"{name} is an infinite tf.data.Dataset (e.g. .repeat()), so one pass would never end; "
            f"pass steps=<batches per evaluation> or a finite dataset"
        )
    return data


def _check_py_dataset(data, steps, name):
    if steps is None and data.num_batches is None:
        raise ValueError(
            f"{name} is a PyDataset without an end (num_batches is None); pass steps=<batches per evaluation>"
        )
    return data


def _is_batch_iterable(data):
    if isinstance(data, (str, bytes, list, tuple, dict, np.ndarray)) or not hasattr(data, "__iter__"):
        return False
    return not hasattr(data, "__array__") and not hasattr(data, "shape")  # tensors, DataFrames are arrays


def _check_iterable(data, steps, name):
    if iter(data) is data:
        raise TypeError(
            f"{name} must be re-iterable (it is read at every evaluation), got the one-shot iterator "
            f"{type(data).__name__}; pass arrays, a tf.data.Dataset, a keras.utils.PyDataset or a DataLoader"
        )
    if steps is None:
        try:
            len(data)
        except TypeError:
            raise ValueError(
                f"{name} ({type(data).__name__}) has no length, so one pass might never end; "
                f"pass steps=<batches per evaluation>"
            ) from None
    return data


def _array_parts(data, name):
    """(x, y or None, sample_weight or None) of array `data`, the objects as given."""
    if data is None:
        raise ValueError(f"{name} must be held-out inputs, (x, y) or a tf.data.Dataset, got None")
    if isinstance(data, tuple):
        if len(data) not in (1, 2, 3):
            raise ValueError(f"{name} must be {_EXPECTED}, got a tuple of {len(data)}")
        while len(data) > 1 and data[-1] is None:
            data = data[:-1]
        if any(part is None for part in data):
            raise ValueError(f"{name} must be {_EXPECTED} without None in the middle, got {data!r}")
    else:
        data = (data,)
    return tuple(data) + (None,) * (3 - len(data))


def _check_arrays(given, data, name):
    """`given` (`_array_parts` of `data`) as NumPy arrays of one length."""
    try:
        parts = tuple(None if part is None else keras.tree.map_structure(to_numpy, part) for part in given)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be arrays ({_EXPECTED}) or a tf.data.Dataset ({err})") from None
    leaves = [leaf for part in parts if part is not None for leaf in keras.tree.flatten(part)]
    bad = [leaf for leaf in leaves if leaf.ndim == 0 or leaf.dtype.kind in "OUSV"]
    if bad or not leaves:
        shown = given[0] if given[1] is None and given[2] is None else data
        raise TypeError(f"{name} must be arrays ({_EXPECTED}) or a tf.data.Dataset, got {shown!r}")
    lengths = sorted({len(leaf) for leaf in leaves})
    if len(lengths) > 1:
        raise TypeError(f"{name} must be arrays ({_EXPECTED}) of equal length, got lengths {lengths}")
    return parts
