"""The few private Keras and TensorFlow helpers we rely on, imported in one place.

Keras keeps the mask attribute and the `tf.distribute` loss scaling private; we reuse them so that
our losses reduce exactly as `keras.losses` do under masks and distribution strategies, and
`LossFunctionWrapper` so that a wrapped loss function saves as Keras saves it. TensorFlow
keeps private whether ops are being built for an XLA cluster (`in_xla_context`). JAX keeps private
the primal value under an autodiff tracer (`autodiff_primal`). Keras resolves metric names
(`compile(metrics=["ece"])`) in a private table with no registration hook (`register_metric_name`),
and a `compile(loss=...)` name or function into its loss object privately too (`get_loss`).
"""

import keras
from keras.src.backend.common.masking import get_keras_mask
from keras.src.losses.loss import (
    scale_loss_for_distribution,
    unscale_loss_for_distribution,
)
from keras.src.losses.losses import LossFunctionWrapper
from keras.src.trainers.compile_utils import get_loss


def in_xla_context():
    """True while TensorFlow ops are being built for XLA (inside a `jit_compile=True` function).

    TensorFlow backend only (imports TensorFlow)."""
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.ops import control_flow_util

    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


def autodiff_primal(x):
    """The value under a JAX autodiff tracer (JVP or linearize), or None for anything else.

    Keras' JAX trainer computes the loss inside `jax.value_and_grad` and the metrics outside it,
    on the primal of the same `y_pred`: results keyed by that primal reach the metrics.
    """
    primal = None
    while type(x).__name__ in ("JVPTracer", "LinearizeTracer") and hasattr(x, "primal"):
        primal = x = x.primal
    return primal


def output_losses_weighted_by_batch_size():
    """Whether Keras' per-output losses of a multi-output model (`<output>_loss` in the fit logs)
    weigh each batch by its size, as its `loss` does. Not on TensorFlow: `CompileLoss` weighs them
    by the batch's static size, which a `tf.function` step does not know, so every batch counts
    once there and, with a partial last batch, Σ loss_weight · <output>_loss misses `loss`."""
    return keras.backend.backend() != "tensorflow"


def register_metric_name(name, factory):
    """Let `keras.metrics.get(name)` (and so `compile(metrics=[name])`) build `factory()`.

    Keras looks names up in `keras.src.metrics.ALL_OBJECTS_DICT` and calls a class found there
    with no argument; `factory` must be such a class. A name Keras already knows is left alone.
    """
    from keras.src.metrics import ALL_OBJECTS_DICT

    ALL_OBJECTS_DICT.setdefault(name, factory)


__all__ = [
    "autodiff_primal", "get_loss", "output_losses_weighted_by_batch_size", "register_metric_name", "in_xla_context",
    "get_keras_mask", "LossFunctionWrapper", "scale_loss_for_distribution", "unscale_loss_for_distribution",
]
