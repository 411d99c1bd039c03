"""What kerasloss 0.2 wrote still reads: its `.keras` model and its TensorBoard logs
(tests/data/v0_2, written by the 0.2 code; its README holds the script)."""

import json
import os
import shutil

import keras
import numpy as np
import pytest

import kerasloss
from tests.kerasloss_tensorboard.test_plugin import _client, _get

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "v0_2")


def test_a_model_saved_by_0_2_loads_without_custom_objects_and_evaluates_the_same():
    model = keras.saving.load_model(os.path.join(DATA, "model_v0_2.keras"))
    saved = np.load(os.path.join(DATA, "model_v0_2_inputs.npz"))
    y = {key[2:]: saved[key] for key in saved.files if key.startswith("y_")}
    result = model.evaluate(saved["x"], y, verbose=0, return_dict=True)
    for key in saved.files:
        if key.startswith("loss_"):
            assert result[key[5:]] == pytest.approx(float(saved[key]), rel=1e-5), key[5:]
    losses = model.loss
    assert isinstance(losses["huber"], kerasloss.Huber) and losses["huber"].delta == 0.5
    assert isinstance(losses["comp"], kerasloss.CompositeLoss)
    assert losses["focal"].gamma == 3.0


@pytest.mark.tensorflow_only
def test_logs_written_by_0_2_show_in_the_tab(tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(os.path.join(DATA, "logs_v0_2"), logs)
    client, _ = _client(logs)
    groups = {g["name"]: g for g in _get(client, "/groups")["groups"]}
    assert groups["ls0.1"]["last_steps"] == {"train": 2, "validation": 2, "posthoc": 2}
    group = _get(client, "/group?name=ls0.1")
    panel, = group["loss"]
    assert panel["weights_source"] == "logged"
    bands = {band["name"]: band["weight"] for band in panel["runs"]["train"]["bands"]}
    assert bands["cross_entropy"] == pytest.approx(0.9) and bands["uniform_cross_entropy"] == pytest.approx(0.1)
    assert "metrics/accuracy" in json.dumps(group["metrics"])
