"""The real `tensorboard` server serves our runs, scalars, custom-scalars layout and hparams."""

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.callbacks import LossComponentLogger, PostHocMetrics, PredictionEntropyLogger
from kerasloss.metrics import loss_components
from tests.helpers.network import free_port

# TensorBoard reading our event files does not depend on the Keras backend that wrote them
# (every backend writes the same tags: tests/callbacks/test_backends.py); run once, on TensorFlow.
pytestmark = pytest.mark.tensorflow_only

TENSORBOARD = os.path.join(os.path.dirname(sys.executable), "tensorboard")


def _get(base, path, body=None):
    request = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode())
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _fit(log_dir, label_smoothing, epochs):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=32)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True))
    return model.fit(x, y, epochs=epochs, verbose=0, validation_data=(x, y), callbacks=[
        LossComponentLogger(log_dir),
        PredictionEntropyLogger(log_dir, x, from_logits=True),
        PostHocMetrics(log_dir, (x, y), [keras.metrics.SparseCategoricalAccuracy()]),
    ]).history


@pytest.fixture
def logged(tmp_path):
    """Two log_dirs under one parent, as a user compares label smoothing 0.1 and 0.0."""
    history = _fit(tmp_path / "ls0.1", 0.1, epochs=2)
    _fit(tmp_path / "ls0.0", 0.0, epochs=1)
    return tmp_path, history


@pytest.mark.skipif(not os.path.exists(TENSORBOARD), reason="the venv's tensorboard executable is missing")
def test_tensorboard_serves_runs_scalars_layout_and_hparams(logged):
    log_dir, history = logged
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [TENSORBOARD, "--logdir", str(log_dir), "--host", "127.0.0.1", "--port", str(port),
         "--load_fast", "false", "--reload_interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline, runs = time.monotonic() + 60, []
        while time.monotonic() < deadline:
            try:
                runs = _get(base, "/data/runs")
                if len(runs) >= 8:  # "ls0.x/." , train, validation, posthoc of both
                    break
            except OSError:
                pass
            assert server.poll() is None, "tensorboard exited"
            time.sleep(0.5)
        assert {f"{d}/{r}" for d in ("ls0.1", "ls0.0") for r in ("train", "validation", "posthoc")} <= set(runs)

        tags = _get(base, "/data/plugin/scalars/tags")
        assert {"loss/total", "loss/cross_entropy", "loss/uniform_cross_entropy", "entropy/mean"} <= set(
            tags["ls0.1/train"])
        assert {"loss/total", "entropy/mean", "entropy/normalized"} <= set(tags["ls0.1/validation"])
        # the classifier is judged unasked on its calibration too (issue 18)
        assert set(tags["ls0.1/posthoc"]) == {"metrics/sparse_categorical_accuracy", "metrics/ece"}

        query = urllib.parse.urlencode({"run": "ls0.1/train", "tag": "loss/cross_entropy"})
        points = _get(base, f"/data/plugin/scalars/scalars?{query}")
        assert [p[1] for p in points] == [0, 1]
        np.testing.assert_allclose([p[2] for p in points], history["loss/cross_entropy"], rtol=1e-6)

        layout = _get(base, "/data/plugin/custom_scalars/layout")
        titles = [category["title"] for category in layout["category"]]
        assert "Loss components" in titles

        experiment = _get(base, "/data/plugin/hparams/experiment", {"experimentName": ""})
        names = {info["name"] for info in experiment["hparamInfos"]}
        assert {"loss", "label_smoothing", "from_logits", "z_loss", "ignore_class"} <= names
        metrics = {(m["name"]["group"], m["name"]["tag"]) for m in experiment["metricInfos"]}
        held_out = {("posthoc", "metrics/sparse_categorical_accuracy"), ("validation", "entropy/mean")}
        assert {("train", "loss/total"), ("validation", "loss/total")} | held_out <= metrics

        # the HParams table: one row per label_smoothing, with the held-out accuracy and entropy
        groups = _get(base, "/data/plugin/hparams/session_groups", {
            "experimentName": "", "startIndex": 0, "sliceSize": 10,
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
            "colParams": [{"hparam": "label_smoothing"}]
            + [{"metric": {"group": group, "tag": tag}} for group, tag in sorted(held_out)],
        })["sessionGroups"]
        rows = {
            round(g["hparams"]["label_smoothing"], 6): {(v["name"]["group"], v["name"]["tag"])
                                                         for v in g["metricValues"]}
            for g in groups
        }
        assert set(rows) == {0.0, 0.1} and all(held_out <= row for row in rows.values())
    finally:
        server.kill()
        server.wait(timeout=30)
