"""Timing helpers shared by the benchmarks: the function under test, and interleaved medians.

Imported after the benchmark has set KERAS_BACKEND (it imports Keras).
"""

import statistics
import time

import keras
import tensorflow as tf


def loss_and_gradient(loss, target=lambda y: y):
    """A function (y, predictions) -> (loss, gradient wrt the predictions); `target` maps y first."""

    def fn(y, predictions):
        with tf.GradientTape() as tape:
            tape.watch(predictions)
            value = loss(target(y), predictions)
        return value, tape.gradient(value, predictions)

    return fn


def compiled_gradient_step(value_and_extras, y_true, y_pred):
    """(y_true, y_pred) -> [value, gradient of value wrt y_pred, *extras], compiled as Keras' `fit`
    runs a step on the active backend: `tf.function` (graph) traced, like `fit`'s step on a
    dataset, with the batch size unknown (the other sizes of the example `y_true`, `y_pred`),
    `jax.jit`, or PyTorch eager.

    `value_and_extras(y_true, y_pred)` returns (a scalar, a list of tensors computed beside it).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":

        def tf_step(y_true, y_pred):
            with tf.GradientTape() as tape:
                tape.watch(y_pred)
                value, extras = value_and_extras(y_true, y_pred)
            return [value, tape.gradient(value, y_pred), *extras]

        signature = [tf.TensorSpec([None, *x.shape[1:]], x.dtype) for x in (y_true, y_pred)]
        return tf.function(tf_step, input_signature=signature)
    if backend == "jax":
        import jax

        def jax_step(y_true, y_pred):
            (value, extras), gradient = jax.value_and_grad(
                lambda p: value_and_extras(y_true, p), has_aux=True
            )(y_pred)
            return [value, gradient, *extras]

        return jax.jit(jax_step)
    import torch

    def torch_step(y_true, y_pred):
        y_pred = y_pred.detach().requires_grad_()
        value, extras = value_and_extras(y_true, y_pred)
        (gradient,) = torch.autograd.grad(value, y_pred)
        return [value, gradient, *extras]

    return torch_step


def interleaved_medians(functions, args, repeats):
    """{name: median ms} of each function called on `args`, interleaved, after two warm-up calls."""
    for fn in functions.values():
        for _ in range(2):
            wait_for(fn(*args))
    samples = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            wait_for(fn(*args))
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1e3 for name, values in samples.items()}


def wait_for(outputs):
    """Wait for every output: TensorFlow by synchronizing its devices, JAX by blocking on its
    asynchronous dispatch; PyTorch's CPU ops are done on return.

    The wait must cost the same whatever the number of outputs: reading one element of each output
    eagerly costs about 0.16 ms per output on this machine, which alone made a loss returning its
    components and diagnostic sums look 10-30 % slower than a Keras loss returning its value."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        jax.block_until_ready(outputs)
    elif backend == "tensorflow":
        tf.test.experimental.sync_devices()
