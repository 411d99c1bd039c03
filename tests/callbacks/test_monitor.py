"""LossMonitor: one callback writes what the three write, from one held-out prediction pass."""

import keras
import numpy as np
import pytest

import kerasloss
from tests.helpers import tensorboard_reader as tb
from kerasloss.callbacks import LossMonitor, monitor
from kerasloss.metrics import loss_components

RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 4)).astype("float32")
Y = RNG.integers(0, 3, size=48)
X_VAL, Y_VAL = X[:20], Y[:20]


def _classifier(from_logits=True, entropy=True):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=from_logits, label_smoothing=0.1)
    activation = None if from_logits else "softmax"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=activation)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=entropy))
    return model


def _entropy(probabilities):
    return -(probabilities * np.log(probabilities)).sum(-1)


def _softmax(logits):
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def _steps(series):
    return [step for step, _ in series]


def test_one_callback_writes_loss_components_entropy_and_posthoc_metrics(tmp_path):
    model = _classifier()
    callback = LossMonitor(tmp_path, (X_VAL, Y_VAL), [keras.metrics.SparseCategoricalAccuracy()], batch_size=8)
    history = model.fit(X, Y, validation_data=(X_VAL, Y_VAL), epochs=2, batch_size=16, verbose=0,
                        callbacks=[callback]).history
    probabilities = _softmax(model.predict(X_VAL, verbose=0))  # from_logits read from the loss
    found = tb.all_scalars(tmp_path)
    train, validation, posthoc = found["train"], found["validation"], found["posthoc"]
    np.testing.assert_allclose([v for _, v in train["loss/total"]], history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["loss/cross_entropy"]], history["loss/cross_entropy"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in validation["loss/total"]], history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["entropy/mean"]], history["entropy"], rtol=1e-6)
    assert _steps(validation["entropy/mean"]) == _steps(posthoc["metrics/sparse_categorical_accuracy"]) == [0, 1]
    expected = _entropy(probabilities).mean()
    np.testing.assert_allclose(validation["entropy/mean"][-1][1], expected, rtol=1e-5)
    np.testing.assert_allclose(validation["entropy/normalized"][-1][1], expected / np.log(3), rtol=1e-5)
    accuracy = (probabilities.argmax(-1) == Y_VAL).mean()
    np.testing.assert_allclose(posthoc["metrics/sparse_categorical_accuracy"][-1][1], accuracy, rtol=1e-6)
    step, buckets = tb.histograms(tmp_path, "validation", "entropy/per_example")[-1]
    assert step == 1 and buckets[:, 2].sum() == len(X_VAL)
    assert {("train", "loss/total"), ("validation", "entropy/mean"),
            ("posthoc", "metrics/sparse_categorical_accuracy")} <= set(tb.hparams_metrics(tmp_path))


def test_entropy_and_metrics_share_one_prediction_pass(tmp_path, monkeypatch):
    calls = []
    real_predict = monitor.predict

    def counting_predict(model, x):
        calls.append(len(x))
        return real_predict(model, x)

    monkeypatch.setattr(monitor, "predict", counting_predict)
    model = _classifier()
    callback = LossMonitor(tmp_path, (X_VAL, Y_VAL), ["accuracy"], batch_size=8)
    model.fit(X, Y, epochs=3, batch_size=16, verbose=0, callbacks=[callback])
    # 20 rows in batches of 8 -> 3 batches per evaluation, one evaluation per epoch
    assert calls == [8, 8, 4] * 3
    assert set(tb.scalars(tmp_path, "posthoc")) == {"metrics/accuracy", "metrics/ece"}


def test_probabilities_model_reads_from_logits_false_from_the_loss(tmp_path):
    model = _classifier(from_logits=False)
    callback = LossMonitor(tmp_path, (X_VAL, Y_VAL), [keras.metrics.SparseCategoricalAccuracy()])
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callback])
    probabilities = model.predict(X_VAL, verbose=0)
    validation = tb.scalars(tmp_path, "validation")
    np.testing.assert_allclose(validation["entropy/mean"][-1][1], _entropy(probabilities).mean(), rtol=1e-5)


@pytest.mark.parametrize("loss, activation", [
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True), None),
    ("sparse_categorical_crossentropy", "softmax"),
    ("crossentropy", "softmax"),  # Keras picks the cross-entropy by the shapes
    (keras.losses.sparse_categorical_crossentropy, "softmax"),  # Keras wraps a bare function
], ids=["keras-object-on-logits", "keras-name-on-probabilities", "keras-crossentropy-by-shapes", "keras-function"])
def test_keras_own_cross_entropy_gives_held_out_entropy_read_as_the_loss_reads_outputs(tmp_path, loss, activation):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=activation)])
    model.compile("sgd", loss=loss)
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0, callbacks=[LossMonitor(tmp_path, (X_VAL, Y_VAL), batch_size=8)])
    outputs = model.predict(X_VAL, verbose=0)
    probabilities = _softmax(outputs) if activation is None else outputs
    validation = tb.all_scalars(tmp_path)["validation"]
    np.testing.assert_allclose(validation["entropy/mean"][-1][1], _entropy(probabilities).mean(), rtol=1e-5)


def test_every_n_epochs_and_train_end(tmp_path):
    model = _classifier()
    callback = LossMonitor(tmp_path, (X_VAL, Y_VAL), ["accuracy"], every_n_epochs=2)
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[callback])
    assert _steps(tb.scalars(tmp_path, "posthoc")["metrics/accuracy"]) == [1, 2]
    assert _steps(tb.scalars(tmp_path, "validation")["entropy/mean"]) == [1, 2]


def test_regression_model_gets_components_and_metrics_but_no_entropy(tmp_path):
    loss = kerasloss.MeanSquaredError()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss))
    target = X[:, :1] * 2.0
    callback = LossMonitor(tmp_path, (X_VAL, target[:20]), [keras.metrics.MeanAbsoluteError()])
    model.fit(X, target, epochs=1, verbose=0, callbacks=[callback])
    found = tb.all_scalars(tmp_path)
    expected = np.abs(model.predict(X_VAL, verbose=0) - target[:20]).mean()
    np.testing.assert_allclose(found["posthoc"]["metrics/mean_absolute_error"][-1][1], expected, rtol=1e-5)
    assert "loss/total" in found["train"]
    assert not any(tag.startswith("entropy/") for run in found.values() for tag in run)


def test_without_held_out_data_it_logs_the_training_side(tmp_path):
    model = _classifier()
    history = model.fit(X, Y, epochs=2, verbose=0, callbacks=[LossMonitor(tmp_path)]).history
    found = tb.all_scalars(tmp_path)
    assert set(found) - {"."} == {"train"}  # "." holds the layout and hparams records
    np.testing.assert_allclose([v for _, v in found["train"]["entropy/mean"]], history["entropy"], rtol=1e-6)
    assert "loss/uniform_cross_entropy" in found["train"]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"metrics": ["accuracy"]}, ValueError, "metrics need held-out data with labels"),
        ({"validation_data": X_VAL, "metrics": ["accuracy"]}, ValueError, "validation_data must hold labels"),
        ({"validation_data": (X_VAL, Y_VAL), "from_logits": "yes"}, TypeError, "from_logits must be True, False or None"),
        ({"validation_data": (X_VAL, Y_VAL), "every_n_epochs": 0}, ValueError, "every_n_epochs must be"),
        ({"validation_data": (X_VAL, Y_VAL), "kind": "multiclass"}, ValueError, "kind must be one of"),
        ({"update_freq": "batch"}, ValueError, "update_freq must be 'epoch' or a positive int"),
        ({"validation_data": (X_VAL, Y_VAL[:3])}, TypeError, "validation_data must be arrays"),
    ],
    ids=["metrics-without-data", "metrics-without-labels", "from-logits", "every-n-epochs", "kind",
         "update-freq", "data-lengths"],
)
def test_bad_arguments_are_refused_at_construction(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        LossMonitor(tmp_path, **kwargs)


def _two_output_model(as_list=False):
    inputs = keras.Input((4,))
    cls, reg = keras.layers.Dense(3, name="cls")(inputs), keras.layers.Dense(1, name="reg")(inputs)
    model = keras.Model(inputs, [cls, reg] if as_list else {"cls": cls, "reg": reg})
    losses = [kerasloss.SparseCategoricalCrossentropy(from_logits=True), kerasloss.MeanSquaredError()]
    model.compile("sgd", loss=losses if as_list else dict(zip(["cls", "reg"], losses)))
    return model


@pytest.mark.parametrize("as_list", [False, True], ids=["dict", "list"])
def test_posthoc_metrics_of_a_multi_output_model_judge_the_named_output(tmp_path, as_list):
    model = _two_output_model(as_list)
    y = [Y, X[:, :1]] if as_list else {"cls": Y, "reg": X[:, :1]}
    y_val = [Y_VAL, X_VAL[:, :1]] if as_list else {"cls": Y_VAL, "reg": X_VAL[:, :1]}
    callback = LossMonitor(tmp_path, (X_VAL, y_val), ["accuracy"], output="cls")
    model.fit(X, y, epochs=1, verbose=0, callbacks=[callback])
    predicted = model.predict(X_VAL, verbose=0)
    logits = predicted[0] if as_list else predicted["cls"]
    expected = float(np.mean(np.argmax(logits, -1) == Y_VAL))
    assert tb.scalars(tmp_path, "posthoc")["metrics/accuracy"] == [(0, pytest.approx(expected))]
    assert "cls/entropy/mean" in tb.scalars(tmp_path, "validation")


def test_posthoc_metrics_of_a_multi_output_model_without_output_are_refused_naming_it(tmp_path):
    from kerasloss.callbacks import PostHocMetrics

    callback = PostHocMetrics(tmp_path, (X_VAL, {"cls": Y_VAL, "reg": X_VAL[:, :1]}), ["accuracy"])
    with pytest.raises(ValueError, match=r"output must name one of the model's outputs \['cls', 'reg'\]"):
        _two_output_model().fit(X, {"cls": Y, "reg": X[:, :1]}, epochs=1, verbose=0, callbacks=[callback])


def test_logits_read_as_probabilities_give_one_warning_and_no_entropy_on_the_dashboard(tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy()  # from_logits=False on a linear Dense
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True))
    with pytest.warns(UserWarning) as caught:
        model.fit(X, Y, epochs=2, verbose=0, callbacks=[LossMonitor(tmp_path, (X_VAL, Y_VAL))])
    mentions = [w for w in caught if "from_logits=False" in str(w.message)]
    assert len(mentions) == 1 and "linear activation" in str(mentions[0].message)
    written = {tag for tags in tb.all_scalars(tmp_path).values() for tag in tags}
    assert "loss/total" in written and not any(tag.startswith("entropy/") for tag in written)


def test_probabilities_from_a_softmax_layer_give_no_logits_warning(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", message=".*(?<!from_logits=False).*", category=UserWarning)
        _classifier(from_logits=False).fit(X, Y, epochs=1, verbose=0, callbacks=[LossMonitor(tmp_path, (X_VAL, Y_VAL))])
    assert "entropy/mean" in tb.scalars(tmp_path, "validation")
