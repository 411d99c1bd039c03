"""`ExampleLedger` in real `fit`s: per-example values against float64 NumPy from the model's own
outputs, the data forms, multi-output models, regression, what it writes (read back with
TensorBoard's reader and `load`), and the errors at `on_train_begin`."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from kerasloss.callbacks import ExampleLedger
from tests.helpers import tensorboard_reader as tb

RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 5)).astype("float32")
Y = RNG.integers(0, 3, size=48)


def _classifier(activation=None, loss=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation=activation)])
    model.compile("adam", loss=loss or kerasloss.SparseCategoricalCrossentropy(from_logits=activation is None))
    return model


def _log_softmax(z):
    z = np.asarray(z, np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _reference(log_p, labels):
    """float64 margin, confidence, correct and cross-entropy from log-probabilities."""
    rows = np.arange(len(labels))
    other = log_p.copy()
    other[rows, labels] = -np.inf
    return {"aum": log_p[rows, labels] - other.max(-1), "confidence": np.exp(log_p[rows, labels]),
            "correctness": (log_p.argmax(-1) == labels).astype(float), "mean_loss": -log_p[rows, labels]}


class _Outputs(keras.callbacks.Callback):
    """The model's outputs on X at each epoch end (after the ledger's own pass)."""

    def __init__(self):
        super().__init__()
        self.outputs = []

    def on_epoch_end(self, epoch, logs=None):
        self.outputs.append(np.asarray(self.model.predict(X, verbose=0), np.float64))


@pytest.mark.parametrize("activation", [None, "softmax"], ids=["logits", "probabilities"])
def test_values_equal_float64_numpy_from_the_models_outputs_under_shuffled_training(tmp_path, activation):
    model, outputs = _classifier(activation), _Outputs()
    ledger = ExampleLedger(tmp_path, (X, Y), batch_size=10)
    model.fit(X, Y, batch_size=8, epochs=3, shuffle=True, verbose=0, callbacks=[ledger, outputs])
    log_p = [_log_softmax(o if activation is None else np.log(o)) for o in outputs.outputs]
    per_epoch = [_reference(lp, Y) for lp in log_p]
    table = ledger.table(sort="id")
    for name in ("aum", "mean_loss", "confidence", "correctness"):
        expected = np.mean([values[name] for values in per_epoch], axis=0)
        np.testing.assert_allclose(table[name], expected, rtol=2e-5, atol=2e-5, err_msg=name)
    confidences = np.stack([values["confidence"] for values in per_epoch])
    np.testing.assert_allclose(table["variability"], confidences.std(0), rtol=1e-4, atol=2e-6)
    np.testing.assert_array_equal(table["label"], Y)
    np.testing.assert_array_equal(table["predicted"], log_p[-1].argmax(-1))


@pytest.mark.parametrize("loss, activation, one_hot", [
    ("sparse_categorical_crossentropy", "softmax", False),
    ("crossentropy", "softmax", True),  # Keras picks the categorical cross-entropy by the shapes
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True), None, False),
    (kerasloss.wrap(keras.losses.CategoricalCrossentropy(from_logits=True)), None, True),
], ids=["sparse-name", "crossentropy-name", "keras-object", "wrapped-keras-object"])
def test_keras_own_classification_losses_give_margins_and_their_losses(tmp_path, loss, activation, one_hot):
    labels = np.eye(3, dtype="float32")[Y] if one_hot else Y
    model, outputs = _classifier(activation, loss=loss), _Outputs()
    ledger = ExampleLedger(tmp_path, (X, labels))
    model.fit(X, labels, epochs=1, verbose=0, callbacks=[ledger, outputs])
    (output,) = outputs.outputs
    expected = _reference(_log_softmax(output if activation is None else np.log(output)), Y)
    table = ledger.table(sort="id")
    for name in ("aum", "mean_loss", "confidence", "correctness"):
        np.testing.assert_allclose(table[name], expected[name], rtol=2e-5, atol=2e-5, err_msg=name)
    assert len(ledger.suspects(3)) == 3


def test_keras_binary_cross_entropy_by_name_gives_the_signed_logit_of_its_probabilities(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", loss="binary_crossentropy")
    y = (Y > 0).astype("float32")
    ledger = ExampleLedger(tmp_path, (X, y))
    model.fit(X, y, epochs=1, verbose=0, callbacks=[ledger])
    p = np.asarray(model.predict(X, verbose=0), np.float64)[:, 0]
    logit = np.log(p) - np.log1p(-p)
    table = ledger.table(sort="id")
    np.testing.assert_allclose(table["aum"], np.where(y > 0, logit, -logit), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(table["mean_loss"], -np.log(np.where(y > 0, p, 1 - p)), rtol=1e-5, atol=1e-6)


def test_a_model_compiled_without_a_loss_fails_at_train_begin(tmp_path):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    model.compile("adam")
    with pytest.raises(ValueError, match=r"ExampleLedger follows the compiled loss: compile the model with one"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[ExampleLedger(tmp_path, (X, Y))])


def test_binary_margins_are_the_signed_logit(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    model.compile("sgd", loss=kerasloss.BinaryCrossentropy(from_logits=True))
    y = (Y > 0).astype("float32")
    ledger = ExampleLedger(tmp_path, (X, y))
    model.fit(X, y, epochs=1, verbose=0, callbacks=[ledger])
    logit = np.asarray(model.predict(X, verbose=0), np.float64)[:, 0]
    table = ledger.table(sort="id")
    np.testing.assert_allclose(table["aum"], np.where(y > 0, logit, -logit), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table["mean_loss"], np.logaddexp(0, logit) - y * logit, rtol=1e-5, atol=1e-6)


def test_each_data_form_gives_the_same_table(tmp_path):
    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return X[10 * i:10 * i + 10], Y[10 * i:10 * i + 10]

    torch_data = pytest.importorskip("torch.utils.data")
    forms = {
        "arrays": (X, Y),
        "tf.data": tf.data.Dataset.from_tensor_slices((X, Y)).batch(7),
        "PyDataset": Batches(),
        "DataLoader": torch_data.DataLoader(list(zip(X, Y)), batch_size=9),
    }
    tables = {}
    for name, data in forms.items():
        model = _classifier()
        ledger = ExampleLedger(tmp_path / name, data)
        # unshuffled: iterating a DataLoader draws from torch's generator, which fit's shuffling shares
        model.fit(X, Y, epochs=2, shuffle=False, verbose=0, callbacks=[ledger])
        tables[name] = ledger.table(sort="id")
    for name, table in tables.items():
        for field in ("aum", "mean_loss", "confidence"):
            np.testing.assert_allclose(table[field], tables["arrays"][field], rtol=1e-5, atol=1e-6, err_msg=name)


def test_a_multi_output_model_follows_the_named_output_and_prefixes_its_tags(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    model = keras.Model(inputs, {"a": keras.layers.Dense(3, name="a")(inputs),
                                 "b": keras.layers.Dense(1, name="b")(inputs)})
    model.compile("adam", loss={"a": kerasloss.SparseCategoricalCrossentropy(from_logits=True),
                                "b": kerasloss.MeanSquaredError()})
    targets = {"a": Y, "b": X[:, :1]}
    ledger = ExampleLedger(tmp_path, (X, targets), output="a")
    model.fit(X, targets, epochs=1, verbose=0, callbacks=[ledger])
    logits = np.asarray(model.predict(X, verbose=0)["a"], np.float64)
    np.testing.assert_allclose(ledger.table(sort="id")["aum"], _reference(_log_softmax(logits), Y)["aum"],
                               rtol=1e-5, atol=1e-5)
    assert "a/ledger/mean_margin" in tb.scalars(tmp_path, "train")
    assert ExampleLedger.load(tmp_path, output="a").table().size == len(Y)


def test_a_regression_loss_is_ranked_by_mean_loss(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    model.compile("sgd", loss=kerasloss.MeanSquaredError())
    target = X[:, :1] * 3
    ledger = ExampleLedger(tmp_path, (X, target))
    model.fit(X, target, epochs=1, verbose=0, callbacks=[ledger])
    squared = (np.asarray(model.predict(X, verbose=0), np.float64) - target) ** 2
    table = ledger.table()
    np.testing.assert_array_equal(table["id"], np.argsort(-squared[:, 0], kind="stable"))
    assert np.isnan(table["aum"]).all()
    with pytest.raises(ValueError, match="suspects need margins"):
        ledger.suspects()


def test_flipped_labels_come_first_among_the_suspects(tmp_path):
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(3, 5)) * 4
    clean = rng.integers(0, 3, size=300)
    x = (centers[clean] + rng.normal(size=(300, 5))).astype("float32")
    flipped = rng.choice(300, 15, replace=False)
    y = clean.copy()
    y[flipped] = (y[flipped] + 1) % 3
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    model.compile(keras.optimizers.Adam(0.05), loss=kerasloss.SparseCategoricalCrossentropy(from_logits=True))
    ledger = ExampleLedger(tmp_path, (x, y))
    model.fit(x, y, epochs=8, verbose=0, callbacks=[ledger])
    assert set(ledger.suspects(15)["id"].tolist()) == set(flipped.tolist())
    cut = set(ledger.suspects()["id"].tolist())  # the automatic cut: at most one miss, one extra
    assert len(cut & set(flipped.tolist())) >= 14 and len(cut) <= 16


def test_tensorboard_gets_the_scalars_and_the_record_of_the_top_k(tmp_path):
    model = _classifier()
    ids = np.array([f"ex{i}" for i in range(len(Y))])
    ledger = ExampleLedger(tmp_path, (X, Y), ids=ids, top_k=4, every=2)
    model.fit(X, Y, epochs=4, verbose=0, callbacks=[ledger])
    scalars = tb.scalars(tmp_path, "train")
    assert [step for step, _ in scalars["ledger/mean_margin"]] == [1, 3]
    assert 0.0 <= scalars["ledger/negative_margin_fraction"][-1][1] <= 1.0
    events = tb.load(tmp_path).GetAccumulator(".").Tensors("kerasloss/ledger")
    record = json.loads(tf.make_ndarray(events[-1].tensor_proto).item())
    assert [e.step for e in events] == [1, 3] and record["epochs"] == [1, 3]
    hardest = ledger.table(k=4)
    assert [row["id"] for row in record["rows"]] == hardest["id"].tolist()
    assert [(row["label"], row["predicted"]) for row in record["rows"]] == list(zip(
        hardest["label"].tolist(), hardest["predicted"].tolist()))
    assert all(type(row["label"]) is int and type(row["predicted"]) is int for row in record["rows"])
    assert all(len(row["loss"]) == 2 for row in record["rows"]) and record["trajectory_epochs"] == [1, 3]
    assert len(record["cartography"]["confidence"]) == len(Y)


def test_a_long_run_keeps_its_records_trajectories_to_100_evenly_spaced_epochs(tmp_path):
    ledger = ExampleLedger(tmp_path, (X, Y), top_k=3)
    ledger.set_model(_classifier())
    ledger.on_train_begin()
    for epoch in range(250):
        ledger.record(epoch)
    ledger.on_train_end()
    events = tb.load(tmp_path).GetAccumulator(".").Tensors("kerasloss/ledger")
    record = json.loads(tf.make_ndarray(events[-1].tensor_proto).item())
    expected = np.linspace(0, 249, 100).astype(int)  # 0, 2, 5, ..., 249
    assert record["epochs"] == list(range(250)) and record["trajectory_epochs"] == expected.tolist()
    trajectories = ledger.stats.trajectories()
    for row, loss in zip(record["rows"], trajectories["loss"]):
        np.testing.assert_allclose(row["loss"], loss[expected], rtol=1e-5)


def test_load_reads_back_the_whole_ledger_and_to_csv_writes_it(tmp_path):
    model = _classifier()
    ledger = ExampleLedger(tmp_path, (X, Y), ids=np.arange(100, 148))
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[ledger])
    loaded = ExampleLedger.load(tmp_path)
    np.testing.assert_array_equal(loaded.table(), ledger.table())
    np.testing.assert_array_equal(loaded.suspects(5), ledger.suspects(5))
    loaded.to_csv(tmp_path / "ledger.csv")
    with open(tmp_path / "ledger.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["id"]) for row in rows] == ledger.table()["id"].tolist()
    np.testing.assert_allclose([float(row["aum"]) for row in rows], ledger.table()["aum"])


def test_to_pandas_gives_a_data_frame_of_the_rows(tmp_path):
    pd = pytest.importorskip("pandas")
    model = _classifier()
    ledger = ExampleLedger(tmp_path, (X, Y))
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[ledger])
    frame = ledger.table(k=3).to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame["id"]) == ledger.table(k=3)["id"].tolist()


def _fails_before_training(tmp_path, ledger, match, model=None):
    model = model or _classifier()
    with pytest.raises(ValueError, match=match):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[ledger])
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


def test_ids_of_the_wrong_length_fail_at_train_begin(tmp_path):
    ledger = ExampleLedger(tmp_path, (X, Y), ids=range(47))
    _fails_before_training(tmp_path, ledger, r"ids must hold one id .*\(48\), got 47")


def test_labels_the_loss_cannot_take_fail_at_train_begin(tmp_path):
    _fails_before_training(tmp_path, ExampleLedger(tmp_path, (X, Y + 5)), r"class indices in \[0, 3\)")


def test_a_reshuffled_dataset_fails_at_the_second_pass(tmp_path):
    data = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(48, seed=0, reshuffle_each_iteration=True).batch(8)
    with pytest.raises(ValueError, match="fixed order"):
        _classifier().fit(X, Y, epochs=1, verbose=0, callbacks=[ExampleLedger(tmp_path, data)])


class _ShuffledFromPass(keras.utils.PyDataset):
    """(X, labels) in batches of 16, in data order for the first `fixed` iterations, then with two
    examples of different labels swapped: a data set that changes its order late."""

    def __init__(self, labels, fixed):
        super().__init__()
        self.labels, self.fixed, self.iterations = labels, fixed, 0
        self.swap = np.array([0, int(np.argmax(Y != Y[0]))])

    def __len__(self):
        return 3

    def __getitem__(self, index):
        self.iterations += index == 0
        order = np.arange(48)
        if self.iterations > self.fixed:
            order[self.swap] = order[self.swap[::-1]]
        rows = order[16 * index:16 * (index + 1)]
        return X[rows], self.labels[rows]


@pytest.mark.parametrize("labels", [Y, np.eye(3, dtype="float32")[Y]], ids=["sparse", "one-hot"])
def test_labels_that_change_order_after_passes_that_matched_fail(tmp_path, labels):
    # the setup reads the data twice (its first batch, every label); epochs 1 and 2 match (the
    # second by its labels' CRC-32s alone), the third pass swaps two labels
    data = _ShuffledFromPass(labels, fixed=4)
    loss = kerasloss.CategoricalCrossentropy(from_logits=True) if labels.ndim == 2 else None
    ledger = ExampleLedger(tmp_path, data)
    model = _classifier(loss=loss)
    with pytest.raises(ValueError, match="fixed order"):
        model.fit(X, labels, epochs=4, verbose=0, callbacks=[ledger])
    assert len(ledger.stats.epochs) == 2


@pytest.mark.parametrize("labels", [Y, np.eye(3, dtype="float32")[Y]], ids=["sparse", "one-hot"])
def test_array_labels_changed_in_place_after_train_begin_are_not_followed(tmp_path, labels):
    """Array data's labels are the ledger's copy from train begin: a caller relabelling its array
    later changes neither the labels nor the losses (before, the pass refused to go on)."""
    given = labels.copy()
    loss = kerasloss.CategoricalCrossentropy(from_logits=True) if labels.ndim == 2 else None
    model = _classifier(loss=loss)
    ledger = ExampleLedger(tmp_path, (X, given), batch_size=16)
    ledger.set_model(model)
    ledger.on_train_begin()
    ledger.record(0)
    given[:] = given[::-1]  # the same labels in another order: every class still valid
    ledger.record(1)
    expected = _reference(_log_softmax(model.predict(X, verbose=0)), Y)
    table = ledger.table(sort="id")
    np.testing.assert_array_equal(table["label"], Y)
    for field in ("aum", "mean_loss", "confidence", "correctness"):
        np.testing.assert_allclose(table[field], expected[field], rtol=1e-5, atol=1e-6)
    ledger.on_train_end()


def test_infinite_data_is_refused_when_constructed(tmp_path):
    with pytest.raises(ValueError, match="infinite"):
        ExampleLedger(tmp_path, tf.data.Dataset.from_tensor_slices((X, Y)).batch(8).repeat())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"every": 0}, ValueError, "every must be a positive int, got 0"),
    ({"top_k": 1.5}, ValueError, "top_k must be a positive int, got 1.5"),
    ({"output": 3}, TypeError, "output must be the name"),
    ({"ids": [[1, 2]]}, TypeError, "ids must be a 1-D sequence"),
])
def test_bad_arguments_are_refused_when_constructed(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        ExampleLedger(tmp_path, (X, Y), **kwargs)


_WITHOUT_TENSORFLOW = """
import importlib.abc, sys

class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTensorFlow())
import keras, numpy as np, kerasloss
from kerasloss.callbacks import ExampleLedger

x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
y = np.arange(32) % 3
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
model.compile("sgd", loss=kerasloss.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x, y, epochs=2, verbose=0, callbacks=[ExampleLedger(sys.argv[1], (x, y))])
print(ExampleLedger.load(sys.argv[1]).table().size)
"""


@pytest.mark.backends("jax")
def test_the_ledger_runs_and_loads_without_tensorflow(tmp_path):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", _WITHOUT_TENSORFLOW, str(tmp_path)], capture_output=True,
                          text=True, cwd=repo, env={**os.environ, "PYTHONPATH": repo}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "32"


_DATA_PARALLEL = """
import sys
import keras, numpy as np, kerasloss
from kerasloss.callbacks import ExampleLedger

keras.distribution.set_distribution(keras.distribution.DataParallel(devices=keras.distribution.list_devices()))
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
y = np.arange(64) % 3
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
model.compile("sgd", loss=kerasloss.SparseCategoricalCrossentropy(from_logits=True))
ledger = ExampleLedger(sys.argv[1], (x, y), batch_size=16)
model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[ledger])
z = np.asarray(model.predict(x, verbose=0), np.float64)
other = z.copy(); other[np.arange(64), y] = -np.inf
margin = z[np.arange(64), y] - other.max(1)
print(len(keras.distribution.list_devices()), np.abs(ledger.table(sort="id")["aum"] - margin).max())
"""


@pytest.mark.backends("jax")
def test_under_jax_data_parallel_the_margins_are_the_one_device_ones(tmp_path):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": repo, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run([sys.executable, "-c", _DATA_PARALLEL, str(tmp_path)], capture_output=True, text=True,
                          cwd=repo, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    devices, error = done.stdout.split()[-2:]
    assert devices == "2" and float(error) < 1e-5
