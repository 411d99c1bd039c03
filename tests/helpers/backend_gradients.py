"""A loss value and its gradient wrt y_pred through the active Keras backend's own autodiff, so
that one test runs on every backend (KERAS_BACKEND=tensorflow, jax, torch).

Modes: "eager"; "graph" (tf.function, TensorFlow only); "xla" (tf.function(jit_compile=True) on
TensorFlow, jax.jit on JAX). A mode the active backend lacks skips the test.
"""

import keras
import pytest


def value_and_gradient(fn, y_pred, mode="eager"):
    """(fn(y_pred), d fn / d y_pred) as NumPy arrays: tf.GradientTape, jax.value_and_grad or
    torch.autograd. y_pred: an array or tensor (its dtype is kept, 16-bit included)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def taped(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = fn(x)
            return value, tape.gradient(value, x)

        compile_as = {"eager": None, "graph": tf.function, "xla": lambda f: tf.function(f, jit_compile=True)}
        run = taped if compile_as[mode] is None else compile_as[mode](taped)
        value, grad = run(keras.ops.convert_to_tensor(y_pred))
    elif backend == "jax" and mode in ("eager", "xla"):
        import jax

        run = jax.value_and_grad(fn)
        value, grad = (jax.jit(run) if mode == "xla" else run)(keras.ops.convert_to_tensor(y_pred))
    elif backend == "torch" and mode == "eager":
        import torch

        x = keras.ops.convert_to_tensor(y_pred).detach().clone().requires_grad_(True)
        value = fn(x)
        (grad,) = torch.autograd.grad(value, x)
        value = value.detach()
    else:
        pytest.skip(f"mode {mode!r} does not exist on backend {backend}")
    return keras.ops.convert_to_numpy(value), keras.ops.convert_to_numpy(grad)

