"""kerasloss.metrics: component metrics fed by the loss's own pass, entropy, LossValue."""

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.metrics import LossComponent, LossValue, PredictionEntropy, loss_components

X = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
Y = np.random.default_rng(1).integers(0, 3, size=40)
W = np.random.default_rng(2).uniform(0.1, 2.0, size=40).astype("float32")


def _model(loss, metrics, units=3):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units)])
    model.compile("sgd", loss=loss, metrics=metrics)
    return model


def test_weighted_components_add_up_to_the_logged_loss_with_plain_metrics_argument():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.3)
    history = _model(loss, loss_components(loss)).fit(X, Y, sample_weight=W, batch_size=16, epochs=1, verbose=0).history
    total = 0.7 * history["loss/cross_entropy"][0] + 0.3 * history["loss/uniform_cross_entropy"][0]
    assert total == pytest.approx(history["loss"][0], rel=1e-5)


def test_validation_components_are_logged_with_val_prefix():
    loss = kerasloss.MeanAbsoluteError()
    history = _model(loss, loss_components(loss), units=1).fit(
        X, X[:, :1], validation_data=(X, X[:, :1]), epochs=1, verbose=0).history
    assert history["val_loss/absolute_error"][0] == pytest.approx(history["val_loss"][0], rel=1e-6)


def test_entropy_metric_is_the_mean_prediction_entropy():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = _model(loss, loss_components(loss, entropy=True))
    model.fit(X, Y, epochs=1, verbose=0)
    result = model.evaluate(X, Y, batch_size=40, verbose=0, return_dict=True)
    entropy = kerasloss.prediction_entropy(model.predict(X, verbose=0), from_logits=True)
    expected = float(np.mean(keras.ops.convert_to_numpy(entropy)))
    assert result["entropy"] == pytest.approx(expected, rel=1e-5)


def test_rmse_gets_a_loss_value_metric_equal_to_the_loss_without_regularization():
    loss = kerasloss.RootMeanSquaredError()
    metrics = loss_components(loss)
    assert [m.name for m in metrics] == ["loss/squared_error", "loss/root_mean_squared_error"]
    assert isinstance(metrics[1], LossValue)
    history = _model(loss, metrics, units=1).fit(X, X[:, :1], batch_size=16, epochs=1, verbose=0).history
    assert history["loss/root_mean_squared_error"][0] == pytest.approx(history["loss"][0], rel=1e-6)


def test_additive_losses_get_no_loss_value_metric():
    loss = kerasloss.MeanSquaredError() + 0.5 * kerasloss.MeanAbsoluteError()
    assert all(isinstance(m, LossComponent) for m in loss_components(loss))


def test_metrics_survive_save_and_load(tmp_path):
    loss = kerasloss.RootMeanSquaredError()
    model = _model(loss, loss_components(loss), units=1)
    model.fit(X, X[:, :1], epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    before = model.evaluate(X, X[:, :1], batch_size=40, verbose=0, return_dict=True)
    after = loaded.evaluate(X, X[:, :1], batch_size=40, verbose=0, return_dict=True)
    for key in ("loss/squared_error", "loss/root_mean_squared_error"):
        assert after[key] == pytest.approx(before[key], rel=1e-5)


def test_loss_components_refuses_other_losses():
    with pytest.raises(TypeError, match="kerasloss loss"):
        loss_components(keras.losses.MeanSquaredError())
    with pytest.raises(ValueError, match="computes the prediction entropy"):
        loss_components(kerasloss.MeanSquaredError(), entropy=True)


def test_prediction_entropy_metric_config_round_trip():
    metric = PredictionEntropy(from_logits=True, kind="binary", normalize=True)
    clone = PredictionEntropy.from_config(metric.get_config())
    assert (clone.from_logits, clone.kind, clone.normalize, clone.name) == (True, "binary", True, "entropy")


def test_diagnostic_metric_is_the_weighted_share_from_the_losss_own_pass():
    loss = kerasloss.Huber(delta=0.5)
    model = _model(loss, loss_components(loss, diagnostics=True), units=1)
    target = X[:, :1] * 2.0
    model.fit(X, target, sample_weight=W, batch_size=16, epochs=1, verbose=0)
    result = model.evaluate(X, target, sample_weight=W, batch_size=16, verbose=0, return_dict=True)
    outside = np.abs(target - model.predict(X, verbose=0))[:, 0] > 0.5
    expected = float((W * outside).sum() / W.sum())
    assert 0.0 < expected < 1.0
    assert result["diagnostics/linear_fraction"] == pytest.approx(expected, rel=1e-5)


def test_diagnostic_metric_computes_itself_when_no_loss_call_matches():
    metric = kerasloss.metrics.LossDiagnostic(kerasloss.Huber(delta=1.0), "linear_fraction")
    metric.update_state(np.zeros((4, 1), "float32"), np.array([[0.5], [2.0], [-3.0], [0.0]], "float32"))
    assert float(metric.result()) == pytest.approx(0.5)
    assert metric.name == "diagnostics/linear_fraction"


def test_diagnostic_metric_refuses_a_diagnostic_the_loss_does_not_have():
    with pytest.raises(ValueError, match=r"diagnostic must be one of \['linear_fraction'\] for huber_loss, got 'x'"):
        kerasloss.metrics.LossDiagnostic(kerasloss.Huber(), "x")
    with pytest.raises(TypeError, match="loss must be a kerasloss loss, got Huber"):
        kerasloss.metrics.LossDiagnostic(keras.losses.Huber(), "linear_fraction")


def test_auto_mode_callbacks_keep_the_best_cosine_similarity_which_rises_as_the_loss_falls():
    # weight −1: "lower is better" would keep the worst epoch's weights (issue 17)
    loss = kerasloss.CosineSimilarity()
    target = X @ np.random.default_rng(3).normal(size=(4, 2)).astype("float32")
    model = _model(loss, loss_components(loss), units=2)
    stopping = keras.callbacks.EarlyStopping("val_loss/cosine_similarity", restore_best_weights=True, patience=9)
    history = model.fit(X, target, validation_data=(X, target), epochs=4, verbose=0,
                        callbacks=[stopping]).history["val_loss/cosine_similarity"]
    assert history[-1] > history[0]
    assert float(stopping.best) == pytest.approx(max(history))


def test_auto_mode_callbacks_ask_for_mode_on_a_component_with_no_direction():
    loss = kerasloss.KLDivergence()
    target = np.full((40, 3), 1 / 3, "float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", loss=loss, metrics=loss_components(loss))
    with pytest.raises(ValueError, match="mode='max'"):
        model.fit(X, target, validation_data=(X, target), epochs=2, verbose=0,
                  callbacks=[keras.callbacks.ReduceLROnPlateau("val_loss/target_entropy")])


def test_entropy_of_a_composite_classifier_comes_from_its_classifier_part():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True) + 0.1 * kerasloss.SparseCategoricalCrossentropy(
        from_logits=True, label_smoothing=0.2, name="smoothed")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True))
    result = model.evaluate(X, Y, batch_size=40, verbose=0, return_dict=True)
    expected = np.mean(keras.ops.convert_to_numpy(
        kerasloss.prediction_entropy(model.predict(X, verbose=0), from_logits=True)))
    assert result["entropy"] == pytest.approx(expected, rel=1e-5)


def test_entropy_of_a_composite_whose_parts_disagree_is_refused_naming_them():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True) + kerasloss.BinaryCrossentropy()
    with pytest.raises(ValueError, match=r"must agree on \(from_logits, kind, axis\).*'binary_crossentropy': \(False, 'binary', -1\)"):
        loss_components(loss, entropy=True)
