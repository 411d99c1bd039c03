"""Forward + backward time of each catalogue loss against its `keras.losses` namesake (issue 11).

One row per loss: (label, our loss, the Keras loss, an input maker (rng, shape) -> (y_true, y_pred)).
Ours is timed with everything a logged training step computes: the total and its gradient with
respect to y_pred, every reduced component and every diagnostic's sums (returned, so TensorFlow
cannot prune them); Keras' loss with its gradient. Inside `tf.function` (TF graph mode), on
[4096, 256] float32 by default. Each round times the two interleaved and takes medians; the table
gives the median ratio over rounds and its range (the machine may be shared: read the range).

Run: `python benchmarks/bench_catalogue.py [--rows 4096 --cols 256 --repeats 15 --rounds 5]`.
Append rows to ROWS for more losses.
"""

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasloss  # noqa: E402
from bench_losses import interleaved_medians, loss_and_gradient  # noqa: E402


def normal(rng, shape):
    return rng.normal(size=shape), rng.normal(size=shape)


def positive(rng, shape):
    return np.abs(rng.normal(size=shape)), np.abs(rng.normal(size=shape))


def binary_labels(rng, shape):
    return rng.integers(0, 2, shape), rng.normal(size=shape)


def one_hot(rng, shape):
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])], rng.normal(size=shape)


def distributions(rng, shape):
    return rng.dirichlet(np.ones(shape[-1]), shape[:-1]), rng.dirichlet(np.ones(shape[-1]), shape[:-1])


def counts(rng, shape):
    return rng.poisson(2.0, shape), rng.uniform(0.01, 5.0, shape)


# (label, our loss, Keras loss, input maker)
ROWS = [
    ("Huber", kerasloss.Huber(), keras.losses.Huber(), normal),
    ("LogCosh", kerasloss.LogCosh(), keras.losses.LogCosh(), normal),
    ("MeanAbsolutePercentageError", kerasloss.MeanAbsolutePercentageError(),
     keras.losses.MeanAbsolutePercentageError(), normal),
    ("MeanSquaredLogarithmicError", kerasloss.MeanSquaredLogarithmicError(),
     keras.losses.MeanSquaredLogarithmicError(), positive),
    ("CosineSimilarity", kerasloss.CosineSimilarity(), keras.losses.CosineSimilarity(), normal),
    ("Hinge", kerasloss.Hinge(), keras.losses.Hinge(), binary_labels),
    ("SquaredHinge", kerasloss.SquaredHinge(), keras.losses.SquaredHinge(), binary_labels),
    ("CategoricalHinge", kerasloss.CategoricalHinge(), keras.losses.CategoricalHinge(), one_hot),
    ("KLDivergence", kerasloss.KLDivergence(), keras.losses.KLDivergence(), distributions),
    ("Poisson", kerasloss.Poisson(), keras.losses.Poisson(), counts),
]


def logged_step(loss):
    """(y_true, y_pred) -> (total, gradient wrt y_pred, components, diagnostic sums) of our loss."""

    def fn(y_true, y_pred):
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            result = loss.evaluate(y_true, y_pred)
            total = loss.total_from_components(result.reduced)
        by_products = list(result.reduced.values())
        for weighted_sum, weight in (result.diagnostics or {}).values():
            by_products += [weighted_sum, weight]
        return [total, tape.gradient(total, y_pred), *by_products]

    return fn


def time_row(ours, theirs, make, shape, repeats, rounds, seed=0):
    """(ours ms, keras ms, [ratio per round]): medians of interleaved repeats, per round."""
    y_true, y_pred = (tf.constant(np.asarray(x, np.float32)) for x in make(np.random.default_rng(seed), shape))
    functions = {"ours": tf.function(logged_step(ours)), "keras": tf.function(loss_and_gradient(theirs))}
    times = [interleaved_medians(functions, (y_true, y_pred), repeats) for _ in range(rounds)]
    ours_ms = statistics.median(t["ours"] for t in times)
    keras_ms = statistics.median(t["keras"] for t in times)
    return ours_ms, keras_ms, [t["ours"] / t["keras"] for t in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="labels of the rows to run (default: all)")
    args = parser.parse_args(argv)
    shape = (args.rows, args.cols)
    print(f"forward + backward, TF graph mode, {list(shape)} float32, "
          f"{args.rounds} rounds x {args.repeats} interleaved repeats\n")
    print("| loss | ours ms | keras ms | ours / keras (median, range over rounds) |")
    print("|---|---|---|---|")
    for label, ours, theirs, make in ROWS:
        if args.only and label not in args.only:
            continue
        ours_ms, keras_ms, ratios = time_row(ours, theirs, make, shape, args.repeats, args.rounds)
        print(f"| {label} | {ours_ms:.2f} | {keras_ms:.2f} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |", flush=True)


if __name__ == "__main__":
    main()
