"""Which process writes the logs: `is_chief`, asked by `summaries` before every write.

Exported as `kerasloss.distribute.is_chief`.
"""

import keras


def is_chief(strategy=None):
    """True in the one process that writes logs (True on a single process, on every backend).

    - `strategy` given, or the TensorFlow backend: `strategy.extended.should_save_summary` of that
      strategy (default: the `tf.distribute` strategy in scope now); under
      `MultiWorkerMirroredStrategy` that is worker 0 when the cluster has no `chief` task.
    - JAX backend: process 0 (`jax.process_index() == 0`) once `keras.distribution.initialize` or
      `jax.distributed.initialize` joined several processes; True before that (one process), without
      starting JAX's backend, so that `initialize` may still follow.
    - PyTorch backend: True (Keras runs `fit` in one process there).
    """
    backend = keras.backend.backend()
    if strategy is not None or backend == "tensorflow":
        import tensorflow as tf

        strategy = strategy or tf.distribute.get_strategy()
        return bool(strategy.extended.should_save_summary)
    if backend == "jax":
        import jax

        return not jax.distributed.is_initialized() or jax.process_index() == 0
    return True
