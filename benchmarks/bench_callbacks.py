"""Cost of monitoring (issue 3 "Speed"): kerasloss metrics + callbacks against Keras' TensorBoard.

A softmax-over-items recommender (user embedding -> Dense(items) logits, integer labels, batch 512):

    keras@epoch  keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                 + keras.callbacks.TensorBoard(update_freq="epoch")
    ours@epoch   kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
                 + loss_components(loss, entropy=True)
                 + LossComponentLogger(update_freq="epoch"), PredictionEntropyLogger (held-out
                   sample, every epoch), PostHocMetrics (every_n_epochs=0: train end only)
    keras@10 / ours@10   the same with update_freq=10

Time per training step = wall time of `fit` (epoch-end work included) / steps, median of interleaved
repetitions in one process, after one warm-up fit each; each configuration keeps its callback
instances across its fits, as a training script would. Also prints the cost of one PostHocMetrics
evaluation. Prints figures and ratios; never asserts on time (targets: ours/keras <= 1.10).

Run: `make bench`, or `python benchmarks/bench_callbacks.py --small` for a quick check.
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasloss  # noqa: E402
from kerasloss.callbacks import LossComponentLogger, PostHocMetrics, PredictionEntropyLogger  # noqa: E402
from kerasloss.metrics import loss_components  # noqa: E402

CONFIGS = ("keras@epoch", "ours@epoch", "keras@10", "ours@10")


def recommender(users, items, dim):
    inputs = keras.Input((), dtype="int32")
    hidden = keras.layers.Embedding(users, dim)(inputs)
    return keras.Model(inputs, keras.layers.Dense(items)(hidden))


def build(config, args, data, root):
    keras.utils.set_random_seed(0)
    model = recommender(args.users, args.items, args.dim)
    log_dir = tempfile.mkdtemp(prefix=config.replace("@", "_"), dir=root)
    update_freq = "epoch" if config.endswith("@epoch") else 10
    x, y, x_held, y_held = data
    if config.startswith("keras"):
        model.compile("adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        callbacks = [keras.callbacks.TensorBoard(log_dir, update_freq=update_freq)]
    else:
        loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
        model.compile("adam", loss=loss, metrics=loss_components(loss, entropy=True))
        callbacks = [
            LossComponentLogger(log_dir, update_freq=update_freq),
            PredictionEntropyLogger(log_dir, x_held, from_logits=True, batch_size=args.batch),
            PostHocMetrics(log_dir, (x_held, y_held), [keras.metrics.SparseTopKCategoricalAccuracy(k=10)],
                           every_n_epochs=0, batch_size=args.batch),
        ]

    def run():
        start = time.perf_counter()
        model.fit(x, y, batch_size=args.batch, epochs=args.epochs, verbose=0, callbacks=callbacks)
        return (time.perf_counter() - start) / (args.epochs * args.steps)

    return model, run, callbacks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=40, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--held-out", type=int, default=2048)
    parser.add_argument("--small", action="store_true", help="a quick check: 2000 items, 10 steps, 2 repeats")
    args = parser.parse_args()
    if args.small:
        args.items, args.users, args.steps, args.repeats, args.batch, args.held_out = 2000, 1000, 10, 2, 128, 256

    rng = np.random.default_rng(0)
    n = args.batch * args.steps
    data = (
        rng.integers(0, args.users, n).astype("int32"),
        rng.integers(0, args.items, n),
        rng.integers(0, args.users, args.held_out).astype("int32"),
        rng.integers(0, args.items, args.held_out),
    )
    times = {config: [] for config in CONFIGS}
    with tempfile.TemporaryDirectory() as root:
        runs = {}
        for config in CONFIGS:
            model, run, callbacks = build(config, args, data, root)
            run()  # warm-up: tracing, first event files
            runs[config] = (model, run, callbacks)
        for _ in range(args.repeats):
            for config in CONFIGS:
                times[config].append(runs[config][1]())
        posthoc = runs["ours@epoch"][2][2]  # already traced by the fits above
        start = time.perf_counter()
        posthoc.evaluate()
        posthoc_seconds = time.perf_counter() - start

    medians = {config: statistics.median(values) for config, values in times.items()}
    print(f"recommender: {args.users} users -> Dense({args.items}), batch {args.batch}, "
          f"{args.steps} steps x {args.epochs} epochs, {args.repeats} interleaved repeats")
    print(f"{'config':<14}{'ms/step (median)':>18}{'min':>10}{'max':>10}")
    for config in CONFIGS:
        values = [1000 * t for t in times[config]]
        print(f"{config:<14}{statistics.median(values):>18.2f}{min(values):>10.2f}{max(values):>10.2f}")
    print(f"ratio ours@epoch / keras@epoch = {medians['ours@epoch'] / medians['keras@epoch']:.3f}  (target <= 1.10)")
    print(f"ratio ours@10 / keras@10       = {medians['ours@10'] / medians['keras@10']:.3f}  (target <= 1.10)")
    print(f"PostHocMetrics: 0 work per step; one evaluation on {args.held_out} held-out rows = "
          f"{1000 * posthoc_seconds:.1f} ms")


if __name__ == "__main__":
    main()
