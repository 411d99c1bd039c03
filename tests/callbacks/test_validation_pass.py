"""LossMonitor on `fit`'s own validation_data (`callbacks/_validation_pass.py`): its entropy, post-hoc
metrics and calibration come from Keras' evaluation, with no prediction pass of its own; the same
values as its own pass; Keras' logs and the model untouched; its own pass whenever Keras' differs."""

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.callbacks import LossMonitor
from kerasloss.callbacks._validation_pass import KerasValidationPass
from kerasloss.metrics import loss_components
from tests.helpers import tensorboard_reader as tb

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 4)).astype("float32")
Y = RNG.integers(0, 3, size=64)
W = RNG.uniform(0.5, 2.0, size=64).astype("float32")
X_VAL, Y_VAL, W_VAL = X[:20].copy(), Y[:20].copy(), W[:20].copy()
BATCH = 8  # Keras' validation batches and the callback's own: the same outputs either way
TAGS = {"posthoc": ["metrics/accuracy", "metrics/ece"], "validation": ["entropy/mean", "entropy/normalized"]}


class InferenceRows(keras.layers.Layer):
    """Identity that counts, in a variable, the rows it sees at inference, compiled or not."""

    def build(self, input_shape):
        self.rows = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="rows")

    def call(self, x, training=False):
        if not training:
            self.rows.assign_add(keras.ops.cast(keras.ops.shape(x)[0], "int32"))
        return x


def _model(jit_compile="auto", multi_output=False, steps_per_execution=1):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    counted = InferenceRows(name="counted")(inputs)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    if multi_output:
        outputs = {"cls": keras.layers.Dense(3, name="cls")(counted), "reg": keras.layers.Dense(1, name="reg")(counted)}
        model = keras.Model(inputs, outputs)
        model.compile("sgd", loss={"cls": loss, "reg": kerasloss.MeanSquaredError()})
    else:
        model = keras.Model(inputs, keras.layers.Dense(3)(counted))
        model.compile("sgd", loss=loss, metrics=loss_components(loss, entropy=True), jit_compile=jit_compile,
                      steps_per_execution=steps_per_execution)
    return model


def _rows(model):
    return int(keras.ops.convert_to_numpy(model.get_layer("counted").rows))


def _fit(log_dir, held_out, validation_data=(X_VAL, Y_VAL), *, model=None, callbacks=(), epochs=2, y=Y,
         monitor=None, **fit_kwargs):
    """(model, history) of a fit with LossMonitor(log_dir, held_out, ["accuracy"]) (none when
    held_out is None) after `callbacks`."""
    model = model or _model()
    if held_out is not None:
        callbacks = [*callbacks, LossMonitor(log_dir, held_out, ["accuracy"], batch_size=BATCH, **(monitor or {}))]
    history = model.fit(X, y, validation_data=validation_data, epochs=epochs, batch_size=BATCH, verbose=0,
                        callbacks=list(callbacks), **fit_kwargs)
    return model, history.history


@pytest.fixture
def mixed_float16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _logged(log_dir, tags=TAGS):
    found = tb.all_scalars(log_dir)
    return {(run, tag): found[run][tag] for run, names in tags.items() for tag in names}


def _assert_same_values(shared, own):
    assert shared.keys() == own.keys()
    for key in shared:
        assert [step for step, _ in shared[key]] == [step for step, _ in own[key]], key
        np.testing.assert_allclose([v for _, v in shared[key]], [v for _, v in own[key]], rtol=1e-6, atol=1e-7,
                                   err_msg=str(key))


@pytest.mark.parametrize("jit_compile", ["auto", True], ids=["default", "jit_compile"])
def test_fits_validation_data_is_predicted_once_an_epoch(tmp_path, jit_compile):
    if jit_compile is True and keras.backend.backend() == "torch":
        pytest.skip("jit_compile on PyTorch is torch.compile, not this test's subject")
    model, _ = _fit(tmp_path / "shared", (X_VAL, Y_VAL), model=_model(jit_compile), epochs=3)
    # Keras' evaluation: 3 epochs x 20 rows; the callback's label check at train begin: one batch
    assert _rows(model) == 3 * 20 + BATCH
    model, _ = _fit(tmp_path / "own", (X_VAL.copy(), Y_VAL.copy()), model=_model(jit_compile), epochs=3)
    assert _rows(model) == 2 * 3 * 20 + BATCH  # other arrays (equal values): its own pass too


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_values_equal_those_of_its_own_pass(tmp_path, weighted):
    shared = (X_VAL, Y_VAL, W_VAL) if weighted else (X_VAL, Y_VAL)
    _fit(tmp_path / "shared", shared, validation_data=shared)
    _fit(tmp_path / "own", tuple(part.copy() for part in shared), validation_data=shared)
    _assert_same_values(_logged(tmp_path / "shared"), _logged(tmp_path / "own"))
    histograms = [tb.histograms(tmp_path / run, "validation", "entropy/per_example") for run in ("shared", "own")]
    for (step_a, a), (step_b, b) in zip(*histograms):
        assert step_a == step_b and a[:, 2].sum() == b[:, 2].sum() == len(X_VAL)
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_mixed_precision_outputs_give_the_values_of_its_own_pass(tmp_path, mixed_float16):
    model, _ = _fit(tmp_path / "shared", (X_VAL, Y_VAL))
    assert model.outputs[0].dtype == "float16" and _rows(model) == 2 * 20 + BATCH
    _fit(tmp_path / "own", (X_VAL.copy(), Y_VAL.copy()))
    _assert_same_values(_logged(tmp_path / "shared"), _logged(tmp_path / "own"))


def test_private_keys_reach_no_log_and_fits_logs_are_unchanged(tmp_path):
    class Seen(keras.callbacks.Callback):
        keys = set()

        def on_test_batch_end(self, batch, logs=None):
            self.keys |= set(logs)

        def on_epoch_end(self, epoch, logs=None):
            self.keys |= set(logs)

    seen = Seen()
    _, history = _fit(tmp_path / "shared", (X_VAL, Y_VAL), callbacks=[seen, keras.callbacks.CSVLogger(tmp_path / "log.csv")])
    _, plain = _fit(tmp_path / "plain", None)
    assert not any(key.startswith("_kerasloss") for key in seen.keys)
    assert history.keys() == plain.keys()
    for key in plain:
        np.testing.assert_allclose(history[key], plain[key], rtol=1e-6)
    assert (tmp_path / "log.csv").read_text().splitlines()[0].split(",") == ["epoch", *sorted(plain)]


def test_after_fit_the_model_is_keras_own(tmp_path):
    model, _ = _fit(tmp_path, (X_VAL, Y_VAL))
    assert not {"compute_metrics", "test_step"} & set(vars(model))
    assert not isinstance(getattr(model.test_function, "__self__", None), KerasValidationPass)
    logs = model.evaluate(X_VAL, Y_VAL, batch_size=BATCH, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "loss/cross_entropy", "loss/uniform_cross_entropy", "entropy"}
    rows = _rows(model)
    model.predict(X_VAL, verbose=0)
    assert _rows(model) == rows + 20
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", custom_objects={"InferenceRows": InferenceRows})
    np.testing.assert_allclose(reloaded.predict(X_VAL, verbose=0), model.predict(X_VAL, verbose=0), rtol=1e-6)
    assert reloaded.evaluate(X_VAL, Y_VAL, verbose=0, return_dict=True) == pytest.approx(logs, rel=1e-6)


def test_a_fit_that_raises_during_the_evaluation_leaves_evaluate_as_keras_has_it(tmp_path):
    class Fail(keras.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            raise RuntimeError("stop here")

    model = _model()
    with pytest.raises(RuntimeError, match="stop here"):
        model.fit(X, Y, validation_data=(X_VAL, Y_VAL), epochs=1, batch_size=BATCH, verbose=0,
                  callbacks=[LossMonitor(tmp_path, (X_VAL, Y_VAL), ["accuracy"]), Fail()])
    logs = model.evaluate(X_VAL, Y_VAL, batch_size=BATCH, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "loss/cross_entropy", "loss/uniform_cross_entropy", "entropy"}
    assert not isinstance(getattr(model.test_function, "__self__", None), KerasValidationPass)
    assert model.evaluate(X_VAL, Y_VAL, batch_size=BATCH, verbose=0, return_dict=True) == logs


def test_epochs_keras_does_not_evaluate_get_its_own_pass(tmp_path):
    model, _ = _fit(tmp_path / "shared", (X_VAL, Y_VAL), epochs=3, validation_freq=2)
    # Keras evaluates epoch 1 only (shared); epochs 0 and 2 are predicted by the callback
    assert _rows(model) == 20 + 2 * 20 + BATCH
    _fit(tmp_path / "own", (X_VAL.copy(), Y_VAL.copy()), epochs=3, validation_freq=2)
    _assert_same_values(_logged(tmp_path / "shared"), _logged(tmp_path / "own"))


def test_every_n_epochs_shares_the_evaluated_epochs_and_the_last(tmp_path):
    model, _ = _fit(tmp_path, (X_VAL, Y_VAL), epochs=3, monitor={"every_n_epochs": 2})
    assert _rows(model) == 3 * 20 + BATCH
    assert [step for step, _ in tb.scalars(tmp_path, "posthoc")["metrics/accuracy"]] == [1, 2]


def test_validation_steps_cut_keras_evaluation_so_it_is_not_shared(tmp_path):
    model, _ = _fit(tmp_path, (X_VAL, Y_VAL), epochs=1, validation_steps=2)
    assert _rows(model) == 2 * BATCH + 20 + BATCH


def test_another_validation_batch_size_still_reads_every_row_so_it_is_shared(tmp_path):
    model, _ = _fit(tmp_path / "shared", (X_VAL, Y_VAL), validation_batch_size=5)
    assert _rows(model) == 2 * 20 + BATCH
    _fit(tmp_path / "own", (X_VAL.copy(), Y_VAL.copy()), validation_batch_size=5)
    _assert_same_values(_logged(tmp_path / "shared"), _logged(tmp_path / "own"))


@pytest.mark.backends("tensorflow", "jax")
def test_steps_per_execution_above_one_gets_its_own_pass(tmp_path):
    model, _ = _fit(tmp_path, (X_VAL, Y_VAL), model=_model(steps_per_execution=2))
    assert _rows(model) == 2 * (20 + 20) + BATCH


def test_a_multi_output_model_shares_the_pass_for_its_named_output(tmp_path):
    y, y_val = {"cls": Y, "reg": X[:, :1]}, {"cls": Y_VAL, "reg": X_VAL[:, :1]}
    shared = (X_VAL, y_val)
    model, _ = _fit(tmp_path / "shared", shared, validation_data=shared, model=_model(multi_output=True), y=y,
                    monitor={"output": "cls"})
    assert _rows(model) == 2 * 20 + BATCH
    own = (X_VAL.copy(), {"cls": Y_VAL.copy(), "reg": X_VAL[:, :1]})
    _fit(tmp_path / "own", own, validation_data=shared, model=_model(multi_output=True), y=y, monitor={"output": "cls"})
    tags = {"posthoc": TAGS["posthoc"], "validation": ["cls/entropy/mean"]}
    _assert_same_values(_logged(tmp_path / "shared", tags), _logged(tmp_path / "own", tags))


class _Batches(keras.utils.PyDataset):
    def __len__(self):
        return 3

    def __getitem__(self, i):
        part = slice(i * BATCH, (i + 1) * BATCH)
        return X_VAL[part], Y_VAL[part]


def test_the_same_py_dataset_is_shared(tmp_path):
    data = _Batches()
    model, _ = _fit(tmp_path / "shared", data, validation_data=data)
    assert _rows(model) == 2 * 20 + BATCH
    _fit(tmp_path / "own", (X_VAL, Y_VAL), validation_data=data)
    _assert_same_values(_logged(tmp_path / "shared"), _logged(tmp_path / "own"))


def test_the_same_tf_dataset_is_shared(tmp_path):
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((X_VAL, Y_VAL)).batch(BATCH)
    model, _ = _fit(tmp_path / "shared", data, validation_data=data)
    assert _rows(model) == 2 * 20 + BATCH
    _fit(tmp_path / "own", tf.data.Dataset.from_tensor_slices((X_VAL, Y_VAL)).batch(BATCH), validation_data=data)
    _assert_same_values(_logged(tmp_path / "shared"), _logged(tmp_path / "own"))


@pytest.mark.backends("torch")
def test_the_same_dataloader_is_shared(tmp_path):
    import torch

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(X_VAL), torch.tensor(Y_VAL)),
                                       batch_size=BATCH)
    model, _ = _fit(tmp_path, data, validation_data=data)
    assert _rows(model) == 2 * 20 + BATCH
