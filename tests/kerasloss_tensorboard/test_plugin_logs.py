"""The tab's routes over logs it did not write or did not expect: components added with a negative
weight, someone else's tags and runs in the same log directory (Keras' TensorBoard callback, a
custom summary), empty runs, many log directories."""

import json

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.callbacks import LossComponentLogger, summaries
from kerasloss.metrics import loss_components
from tests.helpers import tensorboard_reader
from tests.kerasloss_tensorboard.test_plugin import BASE, _client, _get

pytestmark = pytest.mark.backend_neutral


def negative_weight_fit(log_dir, loss_name, epochs=3, callbacks=()):
    """A tiny model fitted with CosineSimilarity (component weight −1) or KLDivergence
    (target_entropy weight −1), logged by LossComponentLogger."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    if loss_name == "cosine_similarity":
        loss, y, activation = kerasloss.CosineSimilarity(), rng.normal(size=(48, 3)).astype("float32"), None
    else:
        loss, y, activation = kerasloss.KLDivergence(), rng.dirichlet(np.ones(3), 48).astype("float32"), "softmax"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=activation)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss))
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, validation_data=(x[:24], y[:24]),
              callbacks=[LossComponentLogger(log_dir), *callbacks])
    summaries.close(log_dir)


@pytest.mark.parametrize("loss_name, negative", [("cosine_similarity", "cosine_similarity"),
                                                 ("kl_divergence", "target_entropy")])
def test_a_component_with_a_negative_weight_is_a_negative_band_adding_up_to_the_total(tmp_path, loss_name, negative):
    negative_weight_fit(tmp_path, loss_name)
    panel, = _get(_client(tmp_path)[0], "/group?name=")["loss"]
    logged = tensorboard_reader.scalars(tmp_path, "train")
    run = panel["runs"]["train"]
    bands = {band["name"]: band for band in run["bands"]}
    assert bands[negative]["weight"] == -1.0 and "unexplained" not in bands
    np.testing.assert_allclose(bands[negative]["values"], [-v for _, v in logged[f"loss/{negative}"]], rtol=1e-6)
    assert max(bands[negative]["values"]) < 0
    np.testing.assert_allclose(np.sum([b["values"] for b in run["bands"]], axis=0), run["total"], rtol=1e-5, atol=1e-7)


def test_someone_elses_output_loss_tag_does_not_split_the_loss_panel(tmp_path):
    for step in range(3):  # a custom summary "encoder/loss/kl" beside ours, no "encoder/loss/total"
        summaries.write_scalars(tmp_path, summaries.TRAIN, step,
                                {"loss/total": 1.0 / (step + 1), "loss/ce": 1.0 / (step + 1), "encoder/loss/kl": 0.3})
    summaries.close(tmp_path)
    panels = _get(_client(tmp_path)[0], "/group?name=")["loss"]
    assert [panel["output"] for panel in panels] == [None]
    assert [band["name"] for band in panels[0]["runs"]["train"]["bands"]] == ["ce"]


def test_keras_tensorboard_callback_logs_in_the_same_log_dir_leave_the_tab_as_without_them(tmp_path):
    pytest.importorskip("tensorflow", reason="Keras' TensorBoard callback writes through TensorFlow")
    negative_weight_fit(tmp_path / "ours", "kl_divergence")
    negative_weight_fit(tmp_path / "shared", "kl_divergence",
                        callbacks=[keras.callbacks.TensorBoard(tmp_path / "shared", histogram_freq=1)])
    client, _ = _client(tmp_path)
    assert "epoch_loss" in tensorboard_reader.scalars(tmp_path / "shared", "train")  # Keras' own tags are there
    groups = {group["name"]: group for group in _get(client, "/groups")["groups"]}
    assert groups["shared"]["tags"] == groups["ours"]["tags"]
    assert _get(client, "/group?name=shared")["loss"] == _get(client, "/group?name=ours")["loss"]


def test_empty_and_foreign_runs_are_no_log_directories_of_the_tab(tmp_path):
    summaries.write_scalars(tmp_path / "ours", summaries.TRAIN, 0, {"loss/total": 1.0})
    summaries.write_scalars(tmp_path / "batches_only", summaries.TRAIN, 1, {"batch/loss/total": 1.0})
    summaries.write_scalars(tmp_path / "foreign", summaries.TRAIN, 0, {"epoch_loss": 1.0})
    summaries.close_all()
    (tmp_path / "empty" / "train").mkdir(parents=True)
    (tmp_path / "empty" / "train" / "events.out.tfevents.0.host").write_bytes(b"")
    client, _ = _client(tmp_path)
    assert [group["name"] for group in _get(client, "/groups")["groups"]] == ["ours"]
    _get(client, "/group?name=empty", status=404)


def test_thirty_log_directories_are_thirty_groups_each_served(tmp_path):
    names = [f"run{i:02d}" for i in range(30)]
    for i, name in enumerate(names):
        for step in range(3):
            summaries.write_scalars(tmp_path / name, summaries.TRAIN, step, {"loss/total": i + step, "loss/ce": i + step})
    summaries.close_all()
    client, _ = _client(tmp_path)
    assert [group["name"] for group in _get(client, "/groups")["groups"]] == names
    for i, name in enumerate(names):
        panel, = _get(client, f"/group?name={name}")["loss"]
        assert panel["runs"]["train"]["total"] == [i, i + 1.0, i + 2.0]


@pytest.mark.parametrize("path", ["/groups", "/static/index.js"])
def test_responses_say_nosniff_as_tensorboard_asks(tmp_path, path):
    summaries.write_scalars(tmp_path, summaries.TRAIN, 0, {"loss/total": 1.0})
    summaries.close(tmp_path)
    response = _client(tmp_path)[0].get(BASE + path)
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    if path == "/groups":
        assert json.loads(response.get_data())["groups"][0]["name"] == ""
