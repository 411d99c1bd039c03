"""CompositeLoss and loss algebra: Σ weight_i · part_i, one component per part, flat."""

import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(1)
Y_TRUE = RNG.normal(size=(6, 3)).astype(np.float32)
Y_PRED = RNG.normal(size=(6, 3)).astype(np.float32)
WEIGHT = RNG.uniform(0.1, 2.0, 6).astype(np.float32)
LABELS = RNG.integers(0, 3, 6)


def _mse():
    return float(ref.reduce(ref.squared_error(Y_TRUE, Y_PRED)[0]["squared_error"], WEIGHT))


def _mae():
    return float(ref.reduce(ref.absolute_error(Y_TRUE, Y_PRED)[0]["absolute_error"], WEIGHT))


def test_dict_composite_components_are_the_named_parts():
    loss = kerasloss.CompositeLoss(
        {"mse": kerasloss.MeanSquaredError(), "mae": kerasloss.MeanAbsoluteError()}, {"mse": 1.0, "mae": 0.5}
    )
    components = loss.components(Y_TRUE, Y_PRED, WEIGHT)
    assert set(components) == {"mse", "mae"}
    np.testing.assert_allclose(components["mse"], _mse(), rtol=1e-5)
    np.testing.assert_allclose(components["mae"], _mae(), rtol=1e-5)


def test_composite_total_is_the_weighted_sum_of_its_parts():
    loss = kerasloss.CompositeLoss(
        {"mse": kerasloss.MeanSquaredError(), "mae": kerasloss.MeanAbsoluteError()}, {"mse": 2.0, "mae": 0.5}
    )
    np.testing.assert_allclose(loss(Y_TRUE, Y_PRED, WEIGHT), 2.0 * _mse() + 0.5 * _mae(), rtol=1e-5)


def test_composite_total_equals_weighted_sum_of_its_components():
    parts = [kerasloss.MeanSquaredError(), kerasloss.RootMeanSquaredError()]
    loss = kerasloss.CompositeLoss(parts, [0.3, 0.7])
    components = loss.components(Y_TRUE, Y_PRED, WEIGHT)
    total = sum(w * float(components[k]) for k, w in loss.component_weights.items())
    np.testing.assert_allclose(loss(Y_TRUE, Y_PRED, WEIGHT), total, rtol=1e-6)


def test_list_composite_names_components_by_each_loss_name():
    loss = kerasloss.CompositeLoss([kerasloss.MeanSquaredError(), kerasloss.MeanAbsoluteError()], [1.0, 0.1])
    assert loss.component_weights == {"mean_squared_error": 1.0, "mean_absolute_error": 0.1}


def test_list_composite_weights_default_to_one():
    loss = kerasloss.CompositeLoss([kerasloss.MeanSquaredError(), kerasloss.MeanAbsoluteError()])
    assert loss.component_weights == {"mean_squared_error": 1.0, "mean_absolute_error": 1.0}


def test_list_composite_suffixes_repeated_names():
    loss = kerasloss.CompositeLoss([kerasloss.MeanSquaredError(), kerasloss.MeanSquaredError()], [1.0, 2.0])
    assert loss.component_weights == {"mean_squared_error": 1.0, "mean_squared_error_1": 2.0}


def test_sum_of_two_losses_is_a_composite_with_unit_weights():
    loss = kerasloss.MeanSquaredError() + kerasloss.MeanAbsoluteError()
    assert isinstance(loss, kerasloss.CompositeLoss)
    np.testing.assert_allclose(loss(Y_TRUE, Y_PRED, WEIGHT), _mse() + _mae(), rtol=1e-5)


@pytest.mark.parametrize("side", ["left", "right"])
def test_scalar_times_loss_is_a_one_part_composite(side):
    mse = kerasloss.MeanSquaredError()
    loss = 0.25 * mse if side == "left" else mse * 0.25
    assert isinstance(loss, kerasloss.CompositeLoss)
    assert loss.component_weights == {"mean_squared_error": 0.25}
    np.testing.assert_allclose(loss(Y_TRUE, Y_PRED, WEIGHT), 0.25 * _mse(), rtol=1e-5)


def test_algebra_flattens_nested_composites():
    mse, mae = kerasloss.MeanSquaredError(), kerasloss.MeanAbsoluteError()
    loss = 2.0 * (mse + 0.5 * mae)
    assert loss.component_weights == {"mean_squared_error": 2.0, "mean_absolute_error": 1.0}
    assert not any(isinstance(part, kerasloss.CompositeLoss) for part, _ in loss.parts.values())


def test_adding_a_loss_to_a_composite_already_holding_it_keeps_every_part():
    mse = kerasloss.MeanSquaredError()
    loss = (mse + mse) + mse
    assert len(loss.component_weights) == 3
    np.testing.assert_allclose(loss(Y_TRUE, Y_PRED, WEIGHT), 3 * _mse(), rtol=1e-5)


def test_python_sum_of_losses_builds_a_composite():
    loss = sum([kerasloss.MeanSquaredError(), kerasloss.MeanAbsoluteError(), kerasloss.MeanSquaredError()])
    np.testing.assert_allclose(loss(Y_TRUE, Y_PRED, WEIGHT), 2 * _mse() + _mae(), rtol=1e-5)


def test_composite_components_are_part_totals_not_their_subcomponents():
    logits = RNG.normal(size=(6, 3)).astype(np.float32)
    smoothed = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    plain = kerasloss.SparseCategoricalCrossentropy(from_logits=True, z_loss=0.01)
    components = kerasloss.CompositeLoss({"smoothed": smoothed, "plain": plain}).components(LABELS, logits)
    assert set(components) == {"smoothed", "plain"}
    np.testing.assert_allclose(components["smoothed"], smoothed(LABELS, logits), rtol=1e-6)
    np.testing.assert_allclose(components["plain"], plain(LABELS, logits), rtol=1e-6)


def test_composite_takes_the_shared_reduction_of_its_parts():
    loss = kerasloss.MeanSquaredError(reduction="sum") + kerasloss.MeanAbsoluteError(reduction="sum")
    assert loss.reduction == "sum"
    np.testing.assert_allclose(
        loss(Y_TRUE, Y_PRED),
        ref.reduce(ref.squared_error(Y_TRUE, Y_PRED)[0]["squared_error"], reduction="sum")
        + ref.reduce(ref.absolute_error(Y_TRUE, Y_PRED)[0]["absolute_error"], reduction="sum"),
        rtol=1e-5,
    )


def test_composite_with_reduction_none_returns_per_example_sums():
    loss = kerasloss.MeanSquaredError(reduction=None) + 2.0 * kerasloss.MeanAbsoluteError(reduction=None)
    expected = (
        ref.squared_error(Y_TRUE, Y_PRED)[0]["squared_error"]
        + 2.0 * ref.absolute_error(Y_TRUE, Y_PRED)[0]["absolute_error"]
    )
    np.testing.assert_allclose(loss(Y_TRUE, Y_PRED), expected, rtol=1e-5)


@pytest.mark.tensorflow_only
def test_composite_compiled_with_xla_equals_eager():
    loss = kerasloss.MeanSquaredError() + 0.5 * kerasloss.RootMeanSquaredError()
    compiled = tf.function(lambda t, p, w: loss(t, p, w), jit_compile=True)
    np.testing.assert_allclose(compiled(Y_TRUE, Y_PRED, WEIGHT), loss(Y_TRUE, Y_PRED, WEIGHT), rtol=1e-5)


@pytest.mark.tensorflow_only
def test_composite_gradient_is_the_weighted_sum_of_part_gradients():
    mse, mae = kerasloss.MeanSquaredError(), kerasloss.MeanAbsoluteError()
    y_pred = tf.constant(Y_PRED)

    def grad(loss):
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            value = loss(Y_TRUE, y_pred, WEIGHT)
        return tape.gradient(value, y_pred).numpy()

    np.testing.assert_allclose(grad(mse + 3.0 * mae), grad(mse) + 3.0 * grad(mae), rtol=1e-5, atol=1e-7)


# Terms.total: a loss that reduces its whole per-element total (pinball, GaussianNLL) returns, and
# differentiates, the weighted sum of its components

def _fused_cases():
    rng = np.random.default_rng(4)
    targets, means = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 3)).astype(np.float32)
    mean_variance = np.stack([means, rng.uniform(1e-7, 2.0, (8, 3)).astype(np.float32)], axis=-1)
    return [
        ("pinball τ=0.3", lambda **kw: kerasloss.PinballLoss(0.3, **kw), targets, means),
        ("pinball τ list", lambda **kw: kerasloss.PinballLoss([0.1, 0.5, 0.9], **kw), targets[:, :1], means),
        ("gaussian", lambda **kw: kerasloss.GaussianNLL(**kw), targets, mean_variance),
        ("gaussian full", lambda **kw: kerasloss.GaussianNLL(full=True, **kw), targets, mean_variance),
    ]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None])
@pytest.mark.parametrize("case", _fused_cases(), ids=lambda case: case[0])
def test_a_loss_reducing_its_total_whole_gives_its_weighted_components_value_and_gradient(case, reduction):
    from keras import ops

    from tests.helpers.backend_gradients import value_and_gradient

    _, make, y_true, y_pred = case
    loss = make(reduction=reduction)
    weight = WEIGHT[:1].repeat(8) if reduction is None else np.linspace(0.0, 2.0, 8).astype(np.float32)
    with_components = loss + 0.0 * kerasloss.MeanSquaredError(reduction=reduction)  # a composite reads part totals
    for fn in (loss, with_components):
        value, grad = value_and_gradient(lambda p: ops.sum(fn(y_true, p, weight)), y_pred)
        parts, parts_grad = value_and_gradient(
            lambda p: ops.sum(loss.combine(loss.components(y_true, p, weight))), y_pred)
        np.testing.assert_allclose(value, parts, rtol=1e-5)
        np.testing.assert_allclose(grad, parts_grad, rtol=1e-5, atol=1e-7)
