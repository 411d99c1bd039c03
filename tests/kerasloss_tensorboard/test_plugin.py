"""The "kerasloss" TensorBoard plugin's routes, driven like TensorBoard's own plugin tests: the real
WSGI app (`application.TensorBoardWSGI`) over a `MultiplexerDataProvider`, with werkzeug's test
client, on event files written by our callbacks in a real `model.fit`."""

import glob
import json
import os

import keras
import numpy as np
import pytest
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer as multiplexer_lib
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

import kerasloss
from tests.helpers import tensorboard_reader
from kerasloss.callbacks import LossComponentLogger, PostHocMetrics, PredictionEntropyLogger, summaries
from kerasloss.metrics import loss_components
from kerasloss_tensorboard import plugin as kerasloss_plugin

# TensorBoard reading our event files does not depend on the Keras backend that wrote them
# (every backend writes the same tags: tests/callbacks/test_backends.py); run once, on TensorFlow.
pytestmark = pytest.mark.backend_neutral

BASE = "/data/plugin/kerasloss"


def _client(log_dir):
    multiplexer = multiplexer_lib.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(log_dir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(log_dir))
    context = base_plugin.TBContext(logdir=str(log_dir), data_provider=provider, multiplexer=multiplexer)
    plugin = kerasloss_plugin.KerasLossPlugin(context)
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin]), wrappers.Response), plugin


def _get(client, path, status=200):
    response = client.get(BASE + path)
    assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True))
    return json.loads(response.get_data()) if status == 200 else response


def _classifier_fit(log_dir, label_smoothing, epochs, weights_record=True):
    """A tiny softmax classifier logged by all three callbacks (which write the component-weights
    record at the log_dir's root)."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=48)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        3, kernel_regularizer=keras.regularizers.L2(0.01))])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True))
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, validation_data=(x[:24], y[:24]), callbacks=[
        LossComponentLogger(log_dir),
        PredictionEntropyLogger(log_dir, x, from_logits=True),
        PostHocMetrics(log_dir, (x, y), [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]),
    ])
    summaries.close(log_dir)
    if not weights_record:  # as logs of a custom loop or an older kerasloss: no record at the root
        for path in glob.glob(os.path.join(str(log_dir), "events.out.tfevents.*")):
            os.remove(path)
    return model


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """Two log_dirs under one parent, label smoothing 0.1 (3 epochs) and 0.0 (2 epochs)."""
    root = tmp_path_factory.mktemp("logs")
    _classifier_fit(root / "ls0.1", 0.1, epochs=3)
    _classifier_fit(root / "ls0.0", 0.0, epochs=2)
    return root


def test_groups_lists_each_log_dir_with_its_runs_tags_and_hparams(logged):
    client, _ = _client(logged)
    groups = {g["name"]: g for g in _get(client, "/groups")["groups"]}
    assert set(groups) == {"ls0.0", "ls0.1"}
    g = groups["ls0.1"]
    assert g["runs"] == {"train": "ls0.1/train", "validation": "ls0.1/validation", "posthoc": "ls0.1/posthoc"}
    assert g["hparams"]["label_smoothing"] == pytest.approx(0.1)
    assert g["last_steps"] == {"train": 2, "validation": 2, "posthoc": 2}
    assert "metrics/accuracy" in g["tags"]["posthoc"]
    assert not any(tag.startswith("batch/") for tags in g["tags"].values() for tag in tags)


@pytest.mark.parametrize("role", ["train", "validation"])
def test_stacked_bands_are_weight_times_logged_component_and_add_up_to_the_total(logged, role):
    client, _ = _client(logged)
    panel, = _get(client, "/group?name=ls0.1")["loss"]
    logged_values = tensorboard_reader.scalars(logged, f"ls0.1/{role}")
    run = panel["runs"][role]
    assert panel["weights_source"] == "logged" and panel["output"] is None
    assert run["steps"] == [0, 1, 2]
    np.testing.assert_allclose(run["total"], [v for _, v in logged_values["loss/total"]], rtol=1e-6)
    bands = {band["name"]: band for band in run["bands"]}
    assert list(bands) == ["cross_entropy", "uniform_cross_entropy", "regularization"]
    for name, weight in (("cross_entropy", 0.9), ("uniform_cross_entropy", 0.1)):
        assert bands[name]["weight"] == pytest.approx(weight)
        expected = weight * np.array([v for _, v in logged_values[f"loss/{name}"]])
        np.testing.assert_allclose(bands[name]["values"], expected, rtol=1e-6)
    np.testing.assert_allclose(bands["regularization"]["values"],
                               [v for _, v in logged_values["loss/regularization"]], rtol=1e-6)
    np.testing.assert_allclose(np.sum([b["values"] for b in run["bands"]], axis=0), run["total"], rtol=1e-5)


def test_without_the_weights_record_the_weights_are_estimated_and_said_so(tmp_path):
    _classifier_fit(tmp_path, 0.2, epochs=3, weights_record=False)
    client, _ = _client(tmp_path)
    panel, = _get(client, "/group?name=")["loss"]
    assert panel["weights_source"] == "estimated"
    weights = {b["name"]: b["weight"] for b in panel["runs"]["train"]["bands"]}
    assert weights["cross_entropy"] == pytest.approx(0.8, abs=1e-3)
    assert weights["uniform_cross_entropy"] == pytest.approx(0.2, abs=1e-3)


def test_entropy_lines_histograms_and_posthoc_metrics_come_apart_from_the_loss(logged):
    client, _ = _client(logged)
    group = _get(client, "/group?name=ls0.1")
    assert set(group["entropy"]["validation"]) == {"entropy/mean", "entropy/normalized"}
    logged_mean = tensorboard_reader.scalars(logged, "ls0.1/validation")["entropy/mean"]
    np.testing.assert_allclose([v for _, v in group["entropy"]["validation"]["entropy/mean"]],
                               [v for _, v in logged_mean], rtol=1e-6)
    histogram = group["histograms"]["validation"]["entropy/per_example"]
    assert [h["step"] for h in histogram] == [0, 1, 2]
    assert sum(c for _, _, c in histogram[0]["buckets"]) == pytest.approx(48)
    assert list(group["metrics"]) == ["metrics/accuracy", "metrics/ece"]
    assert group["diagnostics"] == {}


def test_multi_output_gets_one_panel_per_output_and_a_whole_model_panel(tmp_path):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    targets = {"a": x[:, :1] * 2.0, "b": x[:, 1:2] - 1.0}
    inputs = keras.Input((3,))
    outputs = {name: keras.layers.Dense(1, name=name)(inputs) for name in ("a", "b")}
    model = keras.Model(inputs, outputs)
    losses = {"a": kerasloss.MeanSquaredError(), "b": kerasloss.MeanAbsoluteError()}
    model.compile("sgd", loss=losses, loss_weights={"a": 1.0, "b": 0.5},
                  metrics={name: loss_components(loss) for name, loss in losses.items()})
    model.fit(x, targets, epochs=2, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    summaries.close(tmp_path)

    client, _ = _client(tmp_path)
    panels = _get(client, "/group?name=")["loss"]
    assert [p["output"] for p in panels] == [None, "a", "b"]
    whole = {b["name"]: b for b in panels[0]["runs"]["train"]["bands"]}
    assert {name: b["weight"] for name, b in whole.items()} == {"a": 1.0, "b": 0.5}
    logged_values = tensorboard_reader.scalars(tmp_path, "train")
    np.testing.assert_allclose(whole["b"]["values"], [0.5 * v for _, v in logged_values["b/loss/total"]],
                               rtol=1e-6)
    np.testing.assert_allclose(np.sum([b["values"] for b in whole.values()], axis=0),
                               panels[0]["runs"]["train"]["total"], rtol=1e-5)
    assert [b["name"] for b in panels[1]["runs"]["train"]["bands"]] == ["squared_error"]


def test_a_single_outputs_loss_weight_scales_its_bands(tmp_path):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=48)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, loss_weights=0.5, metrics=loss_components(loss))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    summaries.close(tmp_path)

    client, _ = _client(tmp_path)
    run = _get(client, "/group?name=")["loss"][0]["runs"]["train"]
    assert {b["name"]: b["weight"] for b in run["bands"]} == pytest.approx(
        {"cross_entropy": 0.5 * 0.8, "uniform_cross_entropy": 0.5 * 0.2})
    np.testing.assert_allclose(np.sum([b["values"] for b in run["bands"]], axis=0), run["total"], rtol=1e-5)


def test_a_multi_output_model_with_one_lossed_output_gets_its_panel(tmp_path):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=48)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, name="emb")(inputs)
    model = keras.Model(inputs, {"cls": keras.layers.Dense(3, name="cls")(hidden), "emb": hidden})
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    model.compile("sgd", loss={"cls": loss, "emb": None}, loss_weights={"cls": 0.5, "emb": 1.0},
                  metrics={"cls": loss_components(loss)})
    model.fit(x, {"cls": y, "emb": np.zeros((48, 8))}, epochs=2, batch_size=16, verbose=0,
              callbacks=[LossComponentLogger(tmp_path)])
    summaries.close(tmp_path)

    client, _ = _client(tmp_path)
    panels = _get(client, "/group?name=")["loss"]
    assert [p["output"] for p in panels] == [None, "cls"]
    whole, own = panels[0]["runs"]["train"], panels[1]["runs"]["train"]
    assert [(b["name"], b["weight"]) for b in whole["bands"]] == [("cls", 0.5)]
    np.testing.assert_allclose(whole["bands"][0]["values"], whole["total"], rtol=1e-5)
    assert [b["name"] for b in own["bands"]] == ["cross_entropy", "uniform_cross_entropy"]
    np.testing.assert_allclose(np.sum([b["values"] for b in own["bands"]], axis=0), own["total"], rtol=1e-5)


def test_missing_tags_give_empty_panels_not_errors(tmp_path):
    summaries.write_scalars(tmp_path, summaries.POSTHOC, 0, {"metrics/f1": 0.5})
    summaries.write_scalars(tmp_path, summaries.TRAIN, 0, {"loss/total": 2.0, "not/ours": 1.0})
    summaries.close(tmp_path)
    client, _ = _client(tmp_path)
    group = _get(client, "/group?name=")
    assert group["metrics"] == {"metrics/f1": [[0, 0.5]]}
    run = group["loss"][0]["runs"]["train"]
    assert run["total"] == [2.0] and [b["name"] for b in run["bands"]] == ["unexplained"]
    assert "validation" not in group["loss"][0]["runs"] and group["histograms"] == {}
    _get(client, "/group?name=nowhere", status=404)
    _get(client, "/scalars?run=train&tag=not/ours", status=400)
    assert _get(client, "/scalars?run=train&tag=loss/total") == [[0, 2.0]]


def test_is_active_only_with_our_tags(tmp_path):
    summaries.write_scalars(tmp_path, summaries.TRAIN, 0, {"accuracy": 1.0})
    summaries.close(tmp_path)
    assert not _client(tmp_path)[1].is_active()
    summaries.write_scalars(tmp_path, summaries.TRAIN, 1, {"loss/total": 1.0})
    summaries.close(tmp_path)
    assert _client(tmp_path)[1].is_active()


def test_static_route_serves_the_frontend_with_javascript_mime(tmp_path):
    client, _ = _client(tmp_path)
    response = client.get(BASE + "/static/index.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert b"export async function render" in response.get_data()
    assert client.get(BASE + "/static/style.css").headers["Content-Type"].startswith("text/css")


@pytest.mark.parametrize("path", [
    "../kerasloss_plugin.py", "..%2fkerasloss_plugin.py", "%2e%2e/metadata.py", "static/index.js",
    "/etc/passwd", "..%2f..%2f..%2fsetup.cfg", "index.js/../../series.py", "nothing.js",
])
def test_static_route_serves_nothing_but_its_own_files(tmp_path, path):
    client, _ = _client(tmp_path)
    response = client.get(BASE + "/static/" + path)
    assert response.status_code == 404, path


def test_diagnostics_are_lines_per_run_and_never_bands(tmp_path):
    for step in range(2):
        summaries.write_scalars(tmp_path, summaries.TRAIN, step, {
            "loss/total": 1.0, "loss/squared_error": 1.0, "diagnostics/abs_error": 0.5 + step})
    summaries.write_scalars(tmp_path, summaries.VALIDATION, 0, {"diagnostics/abs_error": 0.25})
    summaries.close(tmp_path)
    client, _ = _client(tmp_path)
    group = _get(client, "/group?name=")
    assert group["diagnostics"] == {"train": {"diagnostics/abs_error": [[0, 0.5], [1, 1.5]]},
                                    "validation": {"diagnostics/abs_error": [[0, 0.25]]}}
    assert [b["name"] for b in group["loss"][0]["runs"]["train"]["bands"]] == ["squared_error"]


@pytest.mark.parametrize("path", ["/group", "/scalars?run=train", "/scalars?tag=loss/total"])
def test_routes_refuse_queries_without_their_arguments(tmp_path, path):
    client, _ = _client(tmp_path)
    response = _get(client, path, status=400)
    assert b"the query needs" in response.get_data()


def test_a_composite_loss_diagnostics_reach_the_tab_under_their_part(tmp_path):
    loss = kerasloss.MeanSquaredError() + 0.5 * kerasloss.Huber(delta=0.1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, diagnostics=True))
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    model.fit(x, x[:, :2], epochs=2, verbose=0, callbacks=[LossComponentLogger(tmp_path)])
    summaries.close(tmp_path)
    client, _ = _client(tmp_path)
    diagnostics = _get(client, "/group?name=")["diagnostics"]["train"]
    assert list(diagnostics) == ["diagnostics/huber_loss/linear_fraction"]
    assert [step for step, _ in diagnostics["diagnostics/huber_loss/linear_fraction"]] == [0, 1]
