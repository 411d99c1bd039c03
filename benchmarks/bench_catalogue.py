"""Forward + backward time of every kerasloss loss against its `keras.losses` namesake (issue 11).

One row per loss: (label, our loss, the Keras loss, an input maker (rng, shape) -> (y_true, y_pred)).
Ours is timed with everything a logged training step computes: the total and its gradient with
respect to y_pred, every reduced component and every diagnostic's sums (returned, so TensorFlow
cannot prune them); Keras' loss with its gradient. Compiled as `fit` runs a step on the chosen
backend (`--backend`: TensorFlow graph mode by default, traced with the batch size unknown as
`fit` traces it on a dataset; `jax.jit`; PyTorch eager), on [4096, 256] float32 by default. Each
round times the two interleaved (which goes first alternates between rounds) and takes medians;
the table gives the median ratio over rounds and its range (the machine may be shared: read the
range).

Run: `python benchmarks/bench_catalogue.py [--backend jax] [--rows 4096 --cols 256 --repeats 15
--rounds 5] [--only Huber Dice]`; `bench_losses.py [--backend ...]` (`make bench`) prints the same
table after its own.
Append rows to ROWS for more losses.
"""

import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _args import loss_timing_parser  # noqa: E402


def parse_args(argv=None):
    parser = loss_timing_parser(__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=256)
    return parser.parse_args(argv)


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = parse_args().backend

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasloss  # noqa: E402
from _timing import compiled_gradient_step, interleaved_medians  # noqa: E402


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


def binary_probabilities(rng, shape):
    return rng.integers(0, 2, shape), rng.uniform(0.01, 0.99, shape)


def sparse_labels(rng, shape):
    return rng.integers(0, shape[-1], shape[:-1]), rng.normal(size=shape)


def one_hot_probabilities(rng, shape):
    return one_hot(rng, shape)[0], distributions(rng, shape)[1]


def sparse_probabilities(rng, shape):
    return rng.integers(0, shape[-1], shape[:-1]), distributions(rng, shape)[1]


def ctc_sequences(rng, shape):
    """[rows/64, 32] labels (blank-padded) and [rows/64, 128, cols/8] logits: the same element count / 8."""
    batch, classes = shape[0] // 64, shape[1] // 8
    labels = rng.integers(1, classes, (batch, 32)) * (rng.uniform(size=(batch, 32)) < 0.7)
    return labels, rng.normal(size=(batch, 128, classes))


def embeddings(rng, shape):
    """[rows/4] labels of 64 classes and their unit-norm [rows/4, cols/2] embeddings."""
    x = rng.normal(size=(shape[0] // 4, shape[1] // 2))
    return rng.integers(0, 64, shape[0] // 4), x / np.linalg.norm(x, axis=1, keepdims=True)


SMOOTHING = 0.1
# (label, our loss, Keras loss, input maker)
ROWS = [
    ("MeanSquaredError", kerasloss.MeanSquaredError(), keras.losses.MeanSquaredError(), normal),
    ("MeanAbsoluteError", kerasloss.MeanAbsoluteError(), keras.losses.MeanAbsoluteError(), normal),
    ("CategoricalCrossentropy logits smoothed", kerasloss.CategoricalCrossentropy(
        from_logits=True, label_smoothing=SMOOTHING),
     keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=SMOOTHING), distributions),
    ("SparseCategoricalCrossentropy logits", kerasloss.SparseCategoricalCrossentropy(from_logits=True),
     keras.losses.SparseCategoricalCrossentropy(from_logits=True), sparse_labels),
    ("BinaryCrossentropy logits smoothed", kerasloss.BinaryCrossentropy(
        from_logits=True, label_smoothing=SMOOTHING),
     keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=SMOOTHING), binary_labels),
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
    ("BinaryFocalCrossentropy", kerasloss.BinaryFocalCrossentropy(),
     keras.losses.BinaryFocalCrossentropy(), binary_probabilities),
    ("BinaryFocalCrossentropy logits smoothed", kerasloss.BinaryFocalCrossentropy(
        apply_class_balancing=True, from_logits=True, label_smoothing=0.1),
     keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, from_logits=True, label_smoothing=0.1),
     binary_labels),
    ("CategoricalFocalCrossentropy", kerasloss.CategoricalFocalCrossentropy(),
     keras.losses.CategoricalFocalCrossentropy(), one_hot_probabilities),
    ("CategoricalFocalCrossentropy logits smoothed", kerasloss.CategoricalFocalCrossentropy(
        from_logits=True, label_smoothing=0.1),
     keras.losses.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1), one_hot),
    ("CategoricalGeneralizedCrossEntropy", kerasloss.CategoricalGeneralizedCrossEntropy(),
     keras.losses.CategoricalGeneralizedCrossEntropy(), sparse_probabilities),
    # Keras' has no label smoothing: against its plain loss, the price of the uniform term
    ("CategoricalGeneralizedCrossEntropy smoothed", kerasloss.CategoricalGeneralizedCrossEntropy(
        label_smoothing=SMOOTHING), keras.losses.CategoricalGeneralizedCrossEntropy(), sparse_probabilities),
    ("Dice", kerasloss.Dice(), keras.losses.Dice(), binary_probabilities),
    # Keras 3.15 swaps Tversky's alpha and beta (see kerasloss.losses.overlap): the same formula
    ("Tversky axis=1", kerasloss.Tversky(alpha=0.3, beta=0.7, axis=1),
     keras.losses.Tversky(alpha=0.7, beta=0.3, axis=1), binary_probabilities),
    ("CTC", kerasloss.CTC(), keras.losses.CTC(), ctc_sequences),
    ("Circle", kerasloss.Circle(), keras.losses.Circle(), embeddings),
]


def logged_total_and_by_products(loss):
    """(y_true, y_pred) -> (our total, [every reduced component, every diagnostic's two sums])."""

    def fn(y_true, y_pred):
        result = loss.evaluate(y_true, y_pred)
        by_products = list(result.reduced.values())
        for weighted_sum, weight in (result.diagnostics or {}).values():
            by_products += [weighted_sum, weight]
        return loss.total_from_components(result.reduced), by_products

    return fn


def time_steps(steps, y_true, y_pred, repeats, rounds):
    """{name: (median ms, [ms per round])} of compiled steps {name: fn(y_true, y_pred)}, interleaved;
    the order reverses every other round (whichever runs first in a repeat pays for a colder cache)."""
    names = list(steps)
    times = [
        interleaved_medians({name: steps[name] for name in (names if r % 2 == 0 else names[::-1])},
                            (y_true, y_pred), repeats)
        for r in range(rounds)
    ]
    return {name: (statistics.median(t[name] for t in times), [t[name] for t in times]) for name in names}


def ratios(times, name, reference):
    """[ratio per round] of `name` to `reference` in `time_steps`' result."""
    return [a / b for a, b in zip(times[name][1], times[reference][1])]


def time_row(ours, theirs, make, shape, repeats, rounds, seed=0):
    """(ours ms, keras ms, [ratio per round]): medians of interleaved repeats, per round."""
    y_true, y_pred = (
        keras.ops.convert_to_tensor(np.asarray(x, np.float32)) for x in make(np.random.default_rng(seed), shape)
    )
    times = time_steps({
        "ours": compiled_gradient_step(logged_total_and_by_products(ours), y_true, y_pred),
        "keras": compiled_gradient_step(lambda y, p: (theirs(y, p), []), y_true, y_pred),
    }, y_true, y_pred, repeats, rounds)
    return times["ours"][0], times["keras"][0], ratios(times, "ours", "keras")


def catalogue_table(shape=(4096, 256), repeats=15, rounds=5, only=None):
    """Print the markdown table: one row per loss of ROWS (those labelled in `only`, if given)."""
    modes = {"tensorflow": "TF graph mode (batch size unknown while tracing)", "jax": "jax.jit",
             "torch": "PyTorch eager"}
    mode = modes[keras.backend.backend()]
    print(f"forward + backward, {mode}, {list(shape)} float32, "
          f"{rounds} rounds x {repeats} interleaved repeats\n")
    print("| loss | ours ms | keras ms | ours / keras (median, range over rounds) |")
    print("|---|---|---|---|")
    for label, ours, theirs, make in ROWS:
        if only and label not in only:
            continue
        ours_ms, keras_ms, ratios = time_row(ours, theirs, make, shape, repeats, rounds)
        print(f"| {label} | {ours_ms:.2f} | {keras_ms:.2f} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |", flush=True)


def main(argv=None):
    args = parse_args(argv)
    catalogue_table((args.rows, args.cols), args.repeats, args.rounds, args.only)


if __name__ == "__main__":
    main()
