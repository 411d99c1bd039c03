"""`CalibrationError.update_state` against Keras' `SparseCategoricalAccuracy.update_state`.

[--batch, --classes] float32 softmax probabilities and integer labels (default [4096, 1000]),
already tensors of the backend. Two ways a metric is updated:

    eager      `metric.update_state(y, p)` called directly, as PostHocMetrics and LossMonitor call it
               (CalibrationError also checks its labels and the probability range then)
    compiled   as inside `fit`/`evaluate`: `tf.function` on TensorFlow, `jax.jit` of
               `stateless_update_state` on JAX, eager on PyTorch (its `fit` is eager too)

Interleaved: each repeat times one update of each metric back to back; the table prints the median
time of each and the median (min–max) of the per-repeat ratios. Never asserts (target: <= 1.2).

Then, on TensorFlow, the kernel of an update from logits (the held-out batches of
bench_callbacks.py: [256, 20000]): `top_probability_and_hits` (argmax only where a tie is possible)
against `hits_by_top_class` (argmax first), both inside one `tf.function` as an update runs them,
wall and process CPU time, on labels that make no hit, 10 / 30 / 100 % of the rows right with a top
probability <= 1/2 (the rows argmax must check) and 50 % right and sure.

    python benchmarks/bench_calibration.py [--backend jax] [--repeats 51]
"""

import argparse
import os
import statistics
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"))
parser.add_argument("--batch", type=int, default=4096)
parser.add_argument("--classes", type=int, default=1000)
parser.add_argument("--repeats", type=int, default=51)
args = parser.parse_args()
os.environ["KERAS_BACKEND"] = args.backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from _timing import wait_for  # noqa: E402
from kerasloss.metrics import CalibrationError  # noqa: E402


def compiled(metric):
    """One update of `metric` as a compiled train/test step runs it, on the active backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        update = tf.function(metric.update_state)
        return lambda y, p: (update(y, p), _values(metric))[1]
    if backend == "jax":
        import jax

        update = jax.jit(metric.stateless_update_state)
        state = [v.value for v in metric.variables]
        return lambda y, p: update(state, y, p)
    return eager(metric)


def eager(metric):
    return lambda y, p: (metric.update_state(y, p), _values(metric))[1]


def _values(metric):
    """The metric's state as backend arrays (what `wait_for` can wait on)."""
    return [v.value for v in metric.variables]


def main():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(args.batch, args.classes)).astype("float32") * 3
    probs = keras.ops.softmax(keras.ops.convert_to_tensor(logits))
    labels = keras.ops.convert_to_tensor(rng.integers(0, args.classes, args.batch).astype("int32"))
    print(f"{keras.backend.backend()}: update_state on [{args.batch}, {args.classes}] probabilities, "
          f"{args.repeats} interleaved repeats (medians; ratio = median of per-repeat ratios, min–max)\n")
    print("| update | SparseCategoricalAccuracy ms | CalibrationError ms | ratio |")
    print("|---|---|---|---|")
    for mode, wrap in (("eager", eager), ("compiled", compiled)):
        fns = {"keras": wrap(keras.metrics.SparseCategoricalAccuracy()), "ours": wrap(CalibrationError())}
        for fn in fns.values():
            for _ in range(3):
                wait_for(fn(labels, probs))
        times = {name: [] for name in fns}
        for _ in range(args.repeats):
            for name, fn in fns.items():
                start = time.perf_counter()
                wait_for(fn(labels, probs))
                times[name].append(time.perf_counter() - start)
        ratios = [a / b for a, b in zip(times["ours"], times["keras"])]
        print(f"| {mode} | {1e3 * statistics.median(times['keras']):.3f} | {1e3 * statistics.median(times['ours']):.3f} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |")


def logits_with_hits(rng, right_unsure, right_sure, rows=256, classes=20000):
    """[rows, classes] logits and labels: the first `right_unsure` share of the rows right with a top
    probability <= 1/2, the next `right_sure` share right and sure, the rest random (no hit)."""
    logits = rng.normal(size=(rows, classes)).astype("float32") * 3
    labels = rng.integers(0, classes, rows)
    unsure, sure = int(right_unsure * rows), int(right_sure * rows)
    top = logits.max(-1)
    logits[np.arange(unsure), labels[:unsure]] = top[:unsure] + 0.5
    logits[np.arange(unsure, unsure + sure), labels[unsure:unsure + sure]] = top[unsure:unsure + sure] + 30.0
    return keras.ops.convert_to_tensor(logits), keras.ops.convert_to_tensor(labels.astype("int32"))


def logit_kernels():
    import tensorflow as tf

    from kerasloss._calibration_kernels import hits_by_top_class, top_probability_and_hits

    kernels = {"argmax first": tf.function(hits_by_top_class), "argmax where tied": tf.function(top_probability_and_hits)}
    rng = np.random.default_rng(1)
    print(f"\ntensorflow: top probability and hits from [256, 20000] logits, {args.repeats} interleaved repeats, "
          "medians (ratio: median of per-repeat ratios, min–max)\n")
    print("| labels | argmax first ms (CPU ms) | argmax where tied ms (CPU ms) | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|")
    for name, shares in (("no hit", (0, 0)), ("10 % right, unsure", (0.1, 0)), ("30 % right, unsure", (0.3, 0)),
                         ("100 % right, unsure", (1.0, 0)), ("50 % right, sure", (0, 0.5))):
        logits, labels = logits_with_hits(rng, *shares)
        wall, cpu = ({kernel: [] for kernel in kernels} for _ in range(2))
        for kernel in kernels.values():
            wait_for(kernel(logits, labels))
        for _ in range(args.repeats):
            for kernel_name, kernel in kernels.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                wait_for(kernel(logits, labels))
                wall[kernel_name].append(time.perf_counter() - start)
                cpu[kernel_name].append(time.process_time() - start_cpu)
        cells = [f"{1e3 * statistics.median(wall[k]):.2f} ({1e3 * statistics.median(cpu[k]):.2f})" for k in kernels]
        ratios = [[b / a for a, b in zip(*clock.values())] for clock in (wall, cpu)]
        print(f"| {name} | {cells[0]} | {cells[1]} | " + " | ".join(
            f"{statistics.median(r):.2f} ({min(r):.2f}–{max(r):.2f})" for r in ratios) + " |")


if __name__ == "__main__":
    main()
    if keras.backend.backend() == "tensorflow":
        logit_kernels()
