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
