"""Peak memory of sparse smoothed cross-entropy at catalogue scale: 1,000,000 classes x 256 rows.

Forward + backward (the loss and its gradient wrt the logits, inside `tf.function`, graph mode),
float32 logits [256, 1_000_000] (1.02 GB), integer labels, label_smoothing 0.1:

    ours     kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    one-hot  keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1) on
             one_hot(labels) built inside the function (Keras' only route to smoothing)

Each route runs in a fresh process: warm up on 8 rows, create the full logits, reset the peak
resident memory (`/proc/self/clear_refs` 5), run one call, and report the growth of the peak
(VmHWM) over the resident memory just before it. The gradient itself is one logits-sized tensor,
so 1x is the floor. Printed, never asserted (issue 5 asks for ours <= 2.5x the logits and below
the one-hot route). Run: `python benchmarks/bench_scale.py` (needs ~6 GB free memory).
"""

import argparse
import json
import os
import subprocess
import sys

ROWS = 256
CLASSES = 1_000_000
SMOOTHING = 0.1
ROUTES = ("ours", "one-hot")


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _loss_and_gradient(route, num_classes):
    import keras
    import tensorflow as tf

    import kerasloss

    if route == "ours":
        loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=SMOOTHING)
        target = lambda labels: labels  # noqa: E731
    else:
        loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=SMOOTHING)
        target = lambda labels: tf.one_hot(labels, num_classes)  # noqa: E731

    @tf.function
    def run(labels, logits):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            value = loss(target(labels), logits)
        gradient = tape.gradient(value, logits)
        # a scalar of the gradient: it must be computed in full, but is not copied out
        return value, tf.reduce_sum(tf.abs(gradient))

    return run


def measure(route, rows=ROWS, num_classes=CLASSES):
    """In this (fresh) process: peak resident growth of one call, in MiB, and the loss value."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    run = _loss_and_gradient(route, num_classes)
    warm_labels = tf.zeros((8,), tf.int32)
    [t.numpy() for t in run(warm_labels, tf.zeros((8, num_classes)))]
    # Made in NumPy, then copied: TF's own random ops leave ~2 logits' worth of freed temporaries
    # resident in its allocator, which the measured call would silently reuse.
    rng = np.random.default_rng(0)
    array = rng.standard_normal((rows, num_classes), dtype=np.float32)
    logits = tf.convert_to_tensor(array)
    del array
    labels = tf.constant(rng.integers(0, num_classes, size=rows, dtype=np.int32))
    logits_mib = rows * num_classes * 4 / 2**20
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    before = _status_kib("VmRSS")
    value, gradient_sum = [t.numpy() for t in run(labels, logits)]
    growth_mib = (_status_kib("VmHWM") - before) / 1024
    return {"route": route, "growth_mib": growth_mib, "logits_mib": logits_mib,
            "loss": float(value), "gradient_abs_sum": float(gradient_sum)}


def measure_in_fresh_process(route, rows, num_classes):
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", route, "--rows", str(rows),
         "--classes", str(num_classes)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"route {route} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--classes", type=int, default=CLASSES)
    parser.add_argument("--child", choices=ROUTES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.rows, args.classes)))
        return
    results = {route: measure_in_fresh_process(route, args.rows, args.classes) for route in ROUTES}
    logits_mib = results["ours"]["logits_mib"]
    print(f"Sparse smoothed cross-entropy, forward + backward, graph mode: {args.rows} rows x "
          f"{args.classes:,} classes, label_smoothing {SMOOTHING}; logits {logits_mib:,.0f} MiB")
    print(f"{'route':10s} {'peak growth MiB':>16s} {'x logits':>9s} {'loss':>10s}")
    for route, result in results.items():
        print(f"{route:10s} {result['growth_mib']:16,.0f} {result['growth_mib'] / logits_mib:9.2f} "
              f"{result['loss']:10.4f}")
    ours, one_hot = results["ours"]["growth_mib"], results["one-hot"]["growth_mib"]
    print(f"ours / logits size:   {ours / logits_mib:.2f}   (issue 5 target: <= 2.5)")
    print(f"ours / one-hot route: {ours / one_hot:.2f}   (issue 5 target: < 1)")
    print(f"loss values agree: {abs(results['ours']['loss'] - results['one-hot']['loss']) < 1e-3}")


if __name__ == "__main__":
    main()
