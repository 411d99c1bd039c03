"""Component and entropy metrics take their values from the loss call on the same predictions.

They match a loss by configuration and by the `y_pred` object, never by a reference to a loss
object: equal losses built twice, one loss object on two outputs, a loss compiled into many
models, a standalone `PredictionEntropy`, and Keras' monitoring callbacks all get the right numbers.
"""

import warnings

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss import metrics as kl_metrics
from kerasloss.metrics import PredictionEntropy, loss_components
from tests.helpers import numpy_reference as ref

N, FEATURES, CLASSES, SMOOTHING = 64, 5, 3, 0.1


def _data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    labels = rng.integers(0, CLASSES, size=(N,)).astype("int32")
    return x, labels


def _scce():
    return kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=SMOOTHING)


def _classifier(loss, metrics):
    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(CLASSES)])
    model.compile(keras.optimizers.SGD(0.1), loss=loss, metrics=metrics)
    return model


def _fit(model, x, y, **kwargs):
    return model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs).history


def _assert_components_add_up(history, prefix=""):
    for epoch, total in enumerate(history[f"{prefix}loss"]):
        ce = history[f"{prefix}loss/cross_entropy"][epoch]
        uniform = history[f"{prefix}loss/uniform_cross_entropy"][epoch]
        np.testing.assert_allclose((1 - SMOOTHING) * ce + SMOOTHING * uniform, total, rtol=1e-5)
        assert ce > 0.1


def test_metrics_from_an_equal_but_distinct_loss_object_log_the_loss_values():
    x, y = _data()
    same = _fit(_classifier(loss := _scce(), loss_components(loss, entropy=True)), x, y,
                validation_data=(x, y))
    other = _fit(_classifier(_scce(), loss_components(_scce(), entropy=True)), x, y,
                 validation_data=(x, y))
    assert sorted(other) == sorted(same)
    for key, values in same.items():
        np.testing.assert_allclose(other[key], values, rtol=1e-6, err_msg=key)
    _assert_components_add_up(other)
    _assert_components_add_up(other, "val_")
    assert min(other["entropy"]) > 0.1


def _two_output_model(structure):
    keras.utils.set_random_seed(5)
    inputs = keras.Input((FEATURES,))
    a = keras.layers.Dense(CLASSES, name="a")(inputs)
    b = keras.layers.Dense(CLASSES, name="b")(keras.layers.Dense(4, activation="tanh")(inputs))
    loss = _scce()
    if structure == "dict":
        model = keras.Model(inputs, {"a": a, "b": b})
        model.compile("sgd", loss={"a": loss, "b": loss},
                      metrics={"a": loss_components(loss), "b": loss_components(loss)})
    else:
        model = keras.Model(inputs, [a, b])
        model.compile("sgd", loss=[loss, loss], metrics=[loss_components(loss), loss_components(loss)])
    return model


@pytest.mark.parametrize("structure", ["dict", "list"])
def test_one_loss_object_on_two_outputs_keeps_each_outputs_components_apart(structure):
    x, y = _data()
    model = _two_output_model(structure)
    targets = {"a": y, "b": (y + 1) % CLASSES} if structure == "dict" else [y, (y + 1) % CLASSES]
    history = _fit(model, x, targets, validation_data=(x, targets))
    for prefix in ("a_", "b_", "val_a_", "val_b_"):
        _assert_components_add_up(history, prefix)
    assert abs(history["a_loss/cross_entropy"][0] - history["b_loss/cross_entropy"][0]) > 1e-3


def test_a_loss_compiled_into_many_models_feeds_only_the_model_being_trained():
    x, y = _data()
    loss = _scce()
    earlier = [loss_components(loss, entropy=True) for _ in range(20)]
    for metrics in earlier:
        _classifier(loss, metrics)
    first = earlier[0]
    trained = _classifier(loss, loss_components(loss, entropy=True))
    _fit(trained, x, y)
    for metrics in earlier:
        for metric in metrics:
            assert float(keras.ops.convert_to_numpy(metric.weight)) == 0.0, metric.name
    assert len(first) == 3


@pytest.mark.parametrize("callback", ["early_stopping", "reduce_lr", "checkpoint"])
def test_keras_monitoring_callbacks_take_components_in_auto_mode(tmp_path, callback):
    x, y = _data()
    monitor = "val_loss/cross_entropy"
    made = {
        "early_stopping": lambda: keras.callbacks.EarlyStopping(monitor, patience=5),
        "reduce_lr": lambda: keras.callbacks.ReduceLROnPlateau(monitor, patience=5),
        "checkpoint": lambda: keras.callbacks.ModelCheckpoint(
            str(tmp_path / "best.keras"), monitor=monitor, save_best_only=True),
    }[callback]()
    loss = _scce()
    _fit(_classifier(loss, loss_components(loss, entropy=True)), x, y,
         validation_data=(x, y), callbacks=[made])
    assert made.monitor_op is keras.ops.less


def _numpy_entropy(logits):
    log_p = ref.log_softmax(logits.astype(np.float64))
    return float(np.mean(-(np.exp(log_p) * log_p).sum(-1)))


def test_a_standalone_entropy_metric_takes_the_losss_entropy_without_a_second_pass(monkeypatch):
    calls = []
    original = kl_metrics.prediction_entropy
    monkeypatch.setattr(kl_metrics, "prediction_entropy",
                        lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    x, y = _data()
    loss = _scce()
    model = _classifier(loss, [*loss_components(loss), PredictionEntropy(from_logits=True)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fit(model, x, y, validation_data=(x, y))
        model.evaluate(x, y, batch_size=16, verbose=0)
        calls.clear()  # Keras' symbolic build may run the metric once on abstract values
        _fit(model, x, y, validation_data=(x, y))
        logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert calls == []
    np.testing.assert_allclose(logs["entropy"], _numpy_entropy(model.predict(x, verbose=0)), rtol=1e-5)


def test_an_entropy_metric_that_does_not_match_the_loss_warns_once_and_computes_its_own():
    x, y = _data()
    loss = _scce()
    metric = PredictionEntropy(from_logits=True, axis=0, name="entropy_axis0")
    model = _classifier(loss, [*loss_components(loss), metric])
    with pytest.warns(UserWarning, match="second pass") as record:
        model.fit(x, y, batch_size=N, epochs=1, verbose=0)
    assert len([w for w in record if "second pass" in str(w.message)]) == 1


def _ranked_lists():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 4, (6, 8)).astype("float32")
    return labels, [keras.ops.convert_to_tensor(rng.normal(size=(6, 8)).astype("float32")) for _ in range(3)]


def test_a_loss_call_computes_its_diagnostics_only_while_a_metric_of_it_lives():
    import gc

    from kerasloss import _call_results

    loss = kerasloss.ListMLELoss()
    labels, (first, second, third) = _ranked_lists()
    loss(labels, first)
    assert _call_results.find(loss, first).diagnostics == {}
    metric = kl_metrics.LossDiagnostic(kerasloss.ListMLELoss(), "misordered_pairs")  # an equal loss asks
    loss(labels, second)
    assert set(_call_results.find(loss, second).diagnostics) == {"misordered_pairs"}
    del metric
    gc.collect()
    loss(labels, third)
    assert _call_results.find(loss, third).diagnostics == {}


def test_a_diagnostic_metric_computes_its_value_when_the_loss_call_left_none():
    loss = kerasloss.PairwiseHingeLoss()
    labels, (scores, _, _) = _ranked_lists()
    loss(labels, scores)  # before any metric asked: no diagnostics left
    metric = kl_metrics.LossDiagnostic(loss, "misordered_pairs")
    metric.update_state(labels, scores)
    total, count = loss.evaluate(labels, scores).diagnostics["misordered_pairs"]
    assert float(metric.result()) == pytest.approx(float(total) / float(count), rel=1e-6)


def test_a_loss_reducing_its_total_whole_reduces_its_components_only_while_a_metric_of_it_lives():
    from kerasloss import _call_results

    loss = kerasloss.GaussianNLL()
    rng = np.random.default_rng(6)
    y_true = rng.normal(size=(5, 3)).astype("float32")
    y_pred = [keras.ops.convert_to_tensor(np.stack([rng.normal(size=(5, 3)), rng.uniform(0.5, 2, (5, 3))], -1)
                                          .astype("float32")) for _ in range(2)]
    alone = loss(y_true, y_pred[0])
    assert _call_results.find(loss, y_pred[0]).reduced == {}
    metric = kl_metrics.LossComponent(loss, "log_variance")
    loss(y_true, y_pred[1])
    assert set(_call_results.find(loss, y_pred[1]).reduced) == {"log_variance", "scaled_squared_error"}
    metric.update_state(y_true, y_pred[0])  # the unlogged call left no component: computed here
    expected = loss.components(y_true, y_pred[0])["log_variance"]
    assert float(metric.result()) == pytest.approx(float(expected), rel=1e-6)
    assert float(alone) == pytest.approx(float(loss(y_true, y_pred[0])), rel=1e-6)  # the same total either way
