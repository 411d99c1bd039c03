"""Held-out data of PredictionEntropyLogger and PostHocMetrics (`callbacks/_heldout.py`): the forms
`model.predict` takes, datasets with and without an end, and the errors naming `data`/`steps`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from tests.helpers import tensorboard_reader as tb
from kerasloss.callbacks import PostHocMetrics, PredictionEntropyLogger

XA = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
XB = np.random.default_rng(1).normal(size=(40, 2)).astype("float32")
Y = np.random.default_rng(2).integers(0, 3, size=40)


def _two_input_model():
    a, b = keras.Input((4,)), keras.Input((2,))
    model = keras.Model([a, b], keras.layers.Dense(3)(keras.layers.Concatenate()([a, b])))
    model.compile("sgd", loss=kerasloss.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _one_input_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=kerasloss.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _entropy(logits):
    z = np.exp(logits - logits.max(-1, keepdims=True))
    p = z / z.sum(-1, keepdims=True)
    return -(p * np.log(p)).sum(-1)


def _held_out_entropy(tmp_path, model, data, **kwargs):
    callback = PredictionEntropyLogger(tmp_path, data, from_logits=True, **kwargs)
    x = [XA, XB] if len(model.inputs) == 2 else XA
    model.fit(x, Y, epochs=1, verbose=0, callbacks=[callback])
    logits = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    return tb.scalars(tmp_path, "validation")["entropy/mean"][0][1], _entropy(logits)


@pytest.mark.parametrize("data", [
    lambda: [XA, XB],  # a list is x, as model.predict takes it
    lambda: ((XA, XB),),  # a 1-tuple is inputs only
    lambda: ((XA, XB), Y),
], ids=["list", "one-tuple", "x-y"])
def test_two_input_model_takes_a_list_or_a_one_tuple_of_inputs(tmp_path, data):
    logged, entropy = _held_out_entropy(tmp_path, _two_input_model(), data(), batch_size=16)
    np.testing.assert_allclose(logged, entropy.mean(), rtol=1e-5)


def test_a_repeated_dataset_is_refused_unless_steps_bounds_each_pass(tmp_path):
    data = tf.data.Dataset.from_tensor_slices(XA).batch(8).repeat()
    for make in (lambda: PredictionEntropyLogger(tmp_path, data),
                 lambda: PostHocMetrics(tmp_path, data.map(lambda x: (x, 0)), ["accuracy"])):
        with pytest.raises(ValueError, match=r"data is an infinite tf.data.Dataset .* pass steps="):
            make()
    logged, entropy = _held_out_entropy(tmp_path, _one_input_model(), data, steps=2)
    np.testing.assert_allclose(logged, entropy[:16].mean(), rtol=1e-5)  # two batches of 8


class _Batches(keras.utils.PyDataset):
    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def __len__(self):
        return -(-len(XA) // self.batch_size)

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return XA[part], Y[part]


def test_a_py_dataset_is_read_batch_by_batch(tmp_path):
    logged, entropy = _held_out_entropy(tmp_path, _one_input_model(), _Batches(16))
    np.testing.assert_allclose(logged, entropy.mean(), rtol=1e-5)


def test_a_torch_data_loader_is_read_batch_by_batch(tmp_path):
    torch = pytest.importorskip("torch")
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(XA), torch.from_numpy(Y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=16)
    logged, entropy = _held_out_entropy(tmp_path, _one_input_model(), loader)
    np.testing.assert_allclose(logged, entropy.mean(), rtol=1e-5)


class _Endless(keras.utils.PyDataset):
    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        return XA[:8], Y[:8]


class _Unsized:
    def __iter__(self):
        return iter([(XA[:8],), (XA[8:16],)])


@pytest.mark.parametrize("make, error, message", [
    (lambda d: PredictionEntropyLogger(d, (x for x in [XA])), TypeError,
     "data must be re-iterable .* got the one-shot iterator generator"),
    (lambda d: PredictionEntropyLogger(d, _Unsized()), ValueError,
     r"data \(_Unsized\) has no length, so one pass might never end; pass steps="),
    (lambda d: PredictionEntropyLogger(d, _Endless()), ValueError,
     r"data is a PyDataset without an end \(num_batches is None\); pass steps="),
    (lambda d: PostHocMetrics(d, (XA, Y), ["accuracy"], steps=0), ValueError, "steps must be a positive int, got 0"),
    (lambda d: PostHocMetrics(d, (XA, Y), ["accuracy"], kind="softmax"), ValueError,
     r"kind must be one of \('categorical', 'binary'\), got 'softmax'"),
    (lambda d: PredictionEntropyLogger(d, [XA, Y[:5]]), TypeError,
     r"data must be arrays .* of equal length, got lengths \[5, 40\]"),
], ids=["generator", "unsized", "endless-py-dataset", "steps", "kind", "list-lengths"])
def test_held_out_data_that_cannot_be_read_again_is_refused_at_construction(tmp_path, make, error, message):
    with pytest.raises(error, match=message):
        make(tmp_path)


def test_an_unsized_iterable_with_steps_is_read(tmp_path):
    logged, entropy = _held_out_entropy(tmp_path, _one_input_model(), _Unsized(), steps=2)
    np.testing.assert_allclose(logged, entropy[:16].mean(), rtol=1e-5)


def test_empty_held_out_data_is_refused_at_train_begin(tmp_path):
    model = _one_input_model()
    with pytest.raises(ValueError, match="PostHocMetrics needs held-out data: data holds no batch"):
        model.fit(XA, Y, epochs=1, verbose=0, callbacks=[PostHocMetrics(tmp_path, (XA[:0], Y[:0]), ["accuracy"])])
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0
