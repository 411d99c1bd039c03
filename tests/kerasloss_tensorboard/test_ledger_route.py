"""The plugin's `ledger` route (the tab's "Examples" section) on ExampleLedger logs of real fits,
through TensorBoard's WSGI app and data provider."""

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.callbacks import ExampleLedger
from tests.kerasloss_tensorboard.test_plugin import _client, _get

pytestmark = pytest.mark.backend_neutral


def _fit(log_dir, learning_rate, epochs=3):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=40)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(keras.optimizers.SGD(learning_rate), loss=kerasloss.SparseCategoricalCrossentropy(from_logits=True))
    ledger = ExampleLedger(log_dir, (x, y), ids=[f"row{i}" for i in range(40)], top_k=5)
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[ledger])
    return ledger


def test_the_route_gives_the_latest_record_of_the_group(tmp_path):
    ledger = _fit(tmp_path / "a", 0.1)
    client, _ = _client(tmp_path)
    record, = _get(client, "/ledger?name=a")["records"]
    assert record["epochs"] == [0, 1, 2] and record["size"] == 40
    assert [row["id"] for row in record["rows"]] == ledger.table(k=5)["id"].tolist()
    assert all(len(row["loss"]) == 3 for row in record["rows"])


def test_runs_are_compared_by_their_ledger_scalars(tmp_path):
    _fit(tmp_path / "a", 0.1)
    _fit(tmp_path / "b", 0.5)
    client, _ = _client(tmp_path)
    lines = _get(client, "/ledger?name=a")["compare"]
    assert {(line["run"], line["tag"]) for line in lines} == {
        (run, tag) for run in ("a/train", "b/train") for tag in ("ledger/mean_margin", "ledger/negative_margin_fraction")
    }
    assert all(len(line["points"]) == 3 for line in lines)


def test_a_group_without_a_ledger_has_no_records(tmp_path):
    _fit(tmp_path / "a", 0.1, epochs=1)
    client, _ = _client(tmp_path)
    assert _get(client, "/ledger?name=elsewhere")["records"] == []


def test_the_route_needs_a_group_name(tmp_path):
    _fit(tmp_path / "a", 0.1, epochs=1)
    client, _ = _client(tmp_path)
    _get(client, "/ledger", status=400)
