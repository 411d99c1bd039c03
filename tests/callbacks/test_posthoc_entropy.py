"""PredictionEntropyLogger and PostHocMetrics: values against NumPy / Keras, steps, nothing in the step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from tests.helpers import tensorboard_reader as tb
from kerasloss.callbacks import PostHocMetrics, PredictionEntropyLogger
from kerasloss.metrics import loss_components

X = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
Y = np.random.default_rng(1).integers(0, 3, size=40)


def _model(entropy=True):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=entropy))
    return model


def _numpy_entropy(logits):
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    return -(p * np.log(p)).sum(-1)


def test_entropy_on_held_out_data_and_from_the_train_metric(tmp_path):
    model = _model()
    callback = PredictionEntropyLogger(tmp_path, X[:30], from_logits=True, batch_size=16, histogram_size=20)
    history = model.fit(X, Y, epochs=2, verbose=0, callbacks=[callback]).history
    expected = _numpy_entropy(model.predict(X[:30], verbose=0))
    validation = tb.scalars(tmp_path, "validation")
    assert [s for s, _ in validation["entropy/mean"]] == [0, 1]
    np.testing.assert_allclose(validation["entropy/mean"][-1][1], expected.mean(), rtol=1e-5)
    np.testing.assert_allclose(validation["entropy/normalized"][-1][1], expected.mean() / np.log(3), rtol=1e-5)
    step, buckets = tb.histograms(tmp_path, "validation", "entropy/per_example")[-1]
    assert step == 1 and buckets[:, 2].sum() == 20  # a bounded sample
    train = tb.scalars(tmp_path, "train")
    np.testing.assert_allclose([v for _, v in train["entropy/mean"]], history["entropy"], rtol=1e-6)


def test_entropy_every_n_epochs_with_a_dataset_and_binary_kind(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
    loss = kerasloss.BinaryCrossentropy()
    model.compile("sgd", loss=loss)
    data = tf.data.Dataset.from_tensor_slices((X, (X[:, :2] > 0).astype("float32"))).batch(16)
    model.fit(data, epochs=4, verbose=0,
              callbacks=[PredictionEntropyLogger(tmp_path, data, kind="binary", every_n_epochs=2)])
    tags = tb.scalars(tmp_path, "validation")
    assert [s for s, _ in tags["entropy/mean"]] == [1, 3]
    assert "train" not in tb.runs(tmp_path) or "entropy/mean" not in tb.scalars(tmp_path, "train")
    assert 0 < tags["entropy/normalized"][-1][1] <= 1


def test_posthoc_metrics_at_chosen_epochs_and_train_end_equal_keras_evaluation(tmp_path):
    model = _model(entropy=False)
    x_test, y_test = X[:24], Y[:24]
    callback = PostHocMetrics(
        tmp_path, (x_test, y_test),
        [keras.metrics.SparseCategoricalAccuracy(), keras.metrics.SparseTopKCategoricalAccuracy(k=2)],
        every_n_epochs=2, batch_size=10)
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[callback])
    tags = tb.scalars(tmp_path, "posthoc")
    assert [s for s, _ in tags["metrics/sparse_categorical_accuracy"]] == [1, 2]  # epoch 1, then train end
    logits = model.predict(x_test, verbose=0)
    accuracy = float((logits.argmax(-1) == y_test).mean())
    assert callback.results["sparse_categorical_accuracy"] == pytest.approx(accuracy)
    assert tags["metrics/sparse_categorical_accuracy"][-1][1] == pytest.approx(accuracy)
    assert set(callback.results) == {"sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy", "ece"}


def test_posthoc_vector_metric_and_regression_metric(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", loss=kerasloss.CategoricalCrossentropy())
    onehot = keras.utils.to_categorical(Y, 3)
    callback = PostHocMetrics(tmp_path, (X, onehot), [keras.metrics.F1Score(), keras.metrics.RootMeanSquaredError()],
                              every_n_epochs=0)
    model.fit(X, onehot, epochs=2, verbose=0, callbacks=[callback])
    tags = tb.scalars(tmp_path, "posthoc")
    assert {"metrics/f1_score/0", "metrics/f1_score/1", "metrics/f1_score/2", "metrics/root_mean_squared_error",
            "metrics/ece"} == set(tags)  # a classifier: calibration unasked
    assert [s for s, _ in tags["metrics/root_mean_squared_error"]] == [1]
    assert len(callback.results["f1_score"]) == 3
    assert {("posthoc", f"metrics/f1_score/{i}") for i in range(3)} <= set(tb.hparams_metrics(tmp_path))


def _constant_model():
    """Predicts 0 for every input and never learns (learning rate 0)."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.0), loss="mse")
    return model


@pytest.mark.parametrize("as_dataset", [False, True], ids=["numpy", "dataset"])
def test_posthoc_passes_sample_weights_to_the_metrics(tmp_path, as_dataset):
    x = np.zeros((4, 1), "float32")
    y = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
    w = np.array([1.0, 0.0, 0.0, 3.0], "float32")
    data = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(3) if as_dataset else (x, y, w)
    callback = PostHocMetrics(tmp_path, data, [keras.metrics.MeanAbsoluteError(), keras.metrics.RootMeanSquaredError()],
                              batch_size=3)
    _constant_model().fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    # |0 - y| weighted by w: (1·1 + 3·4) / (1 + 3);  RMSE: sqrt((1·1 + 3·16) / 4)
    assert callback.results == pytest.approx({"mean_absolute_error": 3.25, "root_mean_squared_error": 3.5})
    tags = tb.scalars(tmp_path, "posthoc")
    assert tags["metrics/mean_absolute_error"] == [(0, pytest.approx(3.25))]
    assert tags["metrics/root_mean_squared_error"] == [(0, pytest.approx(3.5))]


def test_held_out_entropy_mean_is_weighted_by_sample_weight(tmp_path):
    model = _model()
    w = np.random.default_rng(2).uniform(0, 2, size=len(X)).astype("float32")
    callback = PredictionEntropyLogger(tmp_path, (X, Y, w), from_logits=True, batch_size=16)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callback])
    h = _numpy_entropy(model.predict(X, verbose=0))
    logged = tb.scalars(tmp_path, "validation")["entropy/mean"][0][1]
    np.testing.assert_allclose(logged, (w * h).sum() / w.sum(), rtol=1e-5)


@pytest.mark.parametrize("make, error, message", [
    (lambda d: PostHocMetrics(d, (X, Y), 3), TypeError, "metrics must be a Keras metric or a list of them, got 3"),
    (lambda d: PostHocMetrics(d, (X, Y), {"acc": "accuracy"}), TypeError, "metrics must be a Keras metric or a list"),
    (lambda d: PostHocMetrics(d, (X, Y), ["no_such_metric"]), ValueError,
     "metrics must name Keras metrics, got the unknown name 'no_such_metric'"),
    (lambda d: PostHocMetrics(d, (X, Y), [keras.metrics.Precision(name="p"), keras.metrics.Recall(name="p")]),
     ValueError, r"metrics must have distinct names .* got \['p'\] more than once"),
    (lambda d: PostHocMetrics(d, (X, None, Y), ["accuracy"]), ValueError, "data must be .* without None in the middle"),
    (lambda d: PostHocMetrics(d, "x.npy", ["accuracy"]), TypeError, "data must be arrays"),
    (lambda d: PostHocMetrics(d, (X, Y[:5]), ["accuracy"]), TypeError, "data must be arrays .* of equal length"),
    (lambda d: PostHocMetrics(d, tf.data.Dataset.from_tensors((X, Y, Y, Y)), ["accuracy"]), ValueError,
     "data must yield x, .x, y. or .x, y, sample_weight., got a dataset of 4-tuples"),
    (lambda d: PostHocMetrics(d, (X, Y), ["accuracy"], batch_size=0), ValueError,
     "batch_size must be a positive int, got 0"),
    (lambda d: PredictionEntropyLogger(d, X, histogram_size=0), ValueError,
     "histogram_size must be a positive int, got 0"),
    (lambda d: PredictionEntropyLogger(d, X, histogram_size=1.5), ValueError,
     "histogram_size must be a positive int, got 1.5"),
    (lambda d: PredictionEntropyLogger(d, X, output=0), TypeError,
     "output must be the name of one of the model's outputs or None, got 0"),
    (lambda d: PredictionEntropyLogger(d, X, batch_size=-1), ValueError,
     "batch_size must be a positive int, got -1"),
], ids=["metrics-int", "metrics-dict", "metric-name", "metric-names-clash", "data-none-label", "data-str",
        "data-lengths", "dataset-4-tuples", "batch-size", "histogram-size-0", "histogram-size-float", "output",
        "entropy-batch-size"])
def test_bad_arguments_are_refused_at_construction_naming_the_argument(tmp_path, make, error, message):
    with pytest.raises(error, match=message):
        make(tmp_path)


def test_posthoc_adds_nothing_to_the_training_step(tmp_path):
    model = _model(entropy=False)
    metric = keras.metrics.SparseCategoricalAccuracy()
    history = model.fit(X, Y, epochs=1, verbose=0, callbacks=[PostHocMetrics(tmp_path, (X, Y), [metric])]).history
    assert set(history) == {"loss", "loss/cross_entropy"}
    assert all(m is not metric for m in model.metrics)
    assert set(tb.scalars(tmp_path, "posthoc")) == {"metrics/sparse_categorical_accuracy", "metrics/ece"}


def test_posthoc_needs_labels(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        _model().fit(X, Y, epochs=1, verbose=0, callbacks=[PostHocMetrics(tmp_path, X, [keras.metrics.SparseCategoricalAccuracy()])])


def test_entropy_logger_requires_an_output_name_for_multi_output_models(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, {"a": keras.layers.Dense(3, name="a")(inputs), "b": keras.layers.Dense(2, name="b")(inputs)})
    model.compile("sgd", loss={"a": kerasloss.SparseCategoricalCrossentropy(from_logits=True),
                               "b": kerasloss.MeanSquaredError()})
    labels = {"a": Y, "b": X[:, :2]}
    with pytest.raises(ValueError, match="output"):
        model.fit(X, labels, epochs=1, verbose=0, callbacks=[PredictionEntropyLogger(tmp_path, X, from_logits=True)])
    model.fit(X, labels, epochs=1, verbose=0,
              callbacks=[PredictionEntropyLogger(tmp_path, X, from_logits=True, output="a")])
    assert "a/entropy/mean" in tb.scalars(tmp_path, "validation")


def test_posthoc_evaluate_before_fit_is_a_baseline_and_needs_a_model(tmp_path):
    model = _model(entropy=False)
    callback = PostHocMetrics(tmp_path, (X, Y), [keras.metrics.SparseCategoricalAccuracy()], batch_size=16)
    with pytest.raises(ValueError, match=r"PostHocMetrics.evaluate\(\) needs a model: .* set_model\(model\)"):
        callback.evaluate()
    callback.set_model(model)
    baseline = callback.evaluate()
    accuracy = float((keras.ops.convert_to_numpy(model.predict(X, verbose=0)).argmax(-1) == Y).mean())
    assert baseline == {"sparse_categorical_accuracy": pytest.approx(accuracy)}


@pytest.mark.parametrize("labels", ["sparse", "one_hot"])
def test_posthoc_metric_names_resolve_as_compile_resolves_them(tmp_path, labels):
    y = Y if labels == "sparse" else keras.utils.to_categorical(Y, 3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", loss="sparse_categorical_crossentropy" if labels == "sparse" else "categorical_crossentropy",
                  metrics=["accuracy"])
    callback = PostHocMetrics(tmp_path, (X, y), ["accuracy", "acc"], batch_size=16)
    model.fit(X, y, epochs=1, verbose=0, callbacks=[callback])
    compiled = model.evaluate(X, y, verbose=0, return_dict=True)["accuracy"]
    expected = float((keras.ops.convert_to_numpy(model.predict(X, verbose=0)).argmax(-1) == Y).mean())
    assert {k: v for k, v in callback.results.items() if k != "ece"} == {
        "accuracy": pytest.approx(expected), "acc": pytest.approx(expected)}
    assert compiled == pytest.approx(expected)
    kind = keras.metrics.SparseCategoricalAccuracy if labels == "sparse" else keras.metrics.CategoricalAccuracy
    assert all(isinstance(metric, kind) for metric in callback.metrics)


def _binary_logit_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, kernel_initializer="ones")])
    model.compile("sgd", loss=kerasloss.BinaryCrossentropy(from_logits=True))
    return model


def test_posthoc_from_logits_applies_a_sigmoid_before_probability_metrics(tmp_path):
    y = (X[:, :1] > 0).astype("float32")
    model = _binary_logit_model()
    callback = PostHocMetrics(tmp_path, (X, y), ["accuracy", keras.metrics.AUC()], from_logits=True, kind="binary")
    model.fit(X, y, epochs=1, verbose=0, callbacks=[callback])
    logits = keras.ops.convert_to_numpy(model.predict(X, verbose=0))
    assert callback.results["accuracy"] == pytest.approx(float(((logits > 0) == (y > 0.5)).mean()))
    assert isinstance(callback.metrics[0], keras.metrics.BinaryAccuracy)


def test_posthoc_warns_once_when_probability_metrics_get_outputs_outside_0_1(tmp_path):
    y = (X[:, :1] > 0).astype("float32")
    callback = PostHocMetrics(tmp_path, (X, y), [keras.metrics.BinaryAccuracy(), keras.metrics.MeanAbsoluteError()],
                              batch_size=8)
    with pytest.warns(UserWarning, match=r"outputs leave \[0, 1\] .* \['binary_accuracy'\] expect probabilities; .*"
                                         r"from_logits=True") as caught:
        _binary_logit_model().fit(X, y, epochs=2, verbose=0, callbacks=[callback])
    assert len([w for w in caught if "leave [0, 1]" in str(w.message)]) == 1


def test_posthoc_refuses_a_softmax_over_a_single_output(tmp_path):
    y = (X[:, :1] > 0).astype("float32")
    model = _binary_logit_model()
    with pytest.raises(ValueError, match="kind='categorical' takes a softmax over the last axis, which has size 1"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[PostHocMetrics(tmp_path, (X, y), ["accuracy"], from_logits=True)])
    with pytest.raises(TypeError, match="from_logits must be True or False, got 'yes'"):
        PostHocMetrics(tmp_path, (X, y), ["accuracy"], from_logits="yes")


def test_train_entropy_of_one_output_comes_from_its_compiled_metric(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, {"a": keras.layers.Dense(3, name="a")(inputs), "b": keras.layers.Dense(3, name="b")(inputs)})
    ce_a = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    ce_b = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    model.compile("sgd", loss={"a": ce_a, "b": ce_b},
                  metrics={"a": loss_components(ce_a, entropy=True), "b": loss_components(ce_b, entropy=True)})
    history = model.fit(X, {"a": Y, "b": Y}, epochs=2, verbose=0,
                        callbacks=[PredictionEntropyLogger(tmp_path, X, from_logits=True, output="b")]).history
    train = tb.scalars(tmp_path, "train")
    assert set(train) == {"b/entropy/mean"}
    np.testing.assert_allclose([v for _, v in train["b/entropy/mean"]], history["b_entropy"], rtol=1e-6)
    assert not np.allclose(history["a_entropy"], history["b_entropy"])


def _one_unit_model(loss, metrics=()):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", loss=loss, metrics=list(metrics))
    return model


@pytest.mark.parametrize("loss", [kerasloss.BinaryCrossentropy(from_logits=True),
                                  kerasloss.BinaryFocalCrossentropy(from_logits=True)], ids=["bce", "focal"])
def test_entropy_of_a_one_unit_output_is_binary_where_the_loss_is(tmp_path, loss):
    # categorical entropy of one class is 0 at every epoch (issue 17)
    model = _one_unit_model(loss)
    callback = PredictionEntropyLogger(tmp_path, X, from_logits=True)
    model.fit(X, (Y > 0).astype("float32")[:, None], epochs=1, verbose=0, callbacks=[callback])
    q = 1 / (1 + np.exp(-model.predict(X, verbose=0)[:, 0].astype(np.float64)))
    expected = np.mean(-(q * np.log(q) + (1 - q) * np.log(1 - q)))
    assert tb.scalars(tmp_path, "validation")["entropy/mean"][0][1] == pytest.approx(expected, rel=1e-5)


def test_categorical_entropy_metric_of_a_one_unit_output_is_refused_with_the_fix():
    model = _one_unit_model(kerasloss.BinaryCrossentropy(from_logits=True),
                            [kerasloss.metrics.PredictionEntropy(from_logits=True)])
    with pytest.raises(ValueError, match="size 1.*pass kind='binary'"):
        model.fit(X, (Y > 0).astype("float32")[:, None], epochs=1, verbose=0)


def test_outputs_outside_0_1_read_as_probabilities_give_a_warning_and_no_entropy(tmp_path):
    # no linear layer to tell: a relu output above 1 is no probability either
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu", kernel_initializer="ones")])
    model.compile("sgd", loss="mse")
    with pytest.warns(UserWarning, match=r"outputs leave \[0, 1\].*from_logits=False"):
        model.fit(X, np.zeros((40, 3), "float32"), epochs=1, verbose=0,
                  callbacks=[PredictionEntropyLogger(tmp_path, X)])
    assert not any(tag.startswith("entropy/") for tags in tb.all_scalars(tmp_path).values() for tag in tags)
