"""Forward + backward time of the losses beyond keras.losses (issue 21) against their references.

Reference per loss: keras-rs 0.4 itself for the ranking losses, `torch.nn.GaussianNLLLoss` for
GaussianNLL on PyTorch; elsewhere (no reference runs on that backend, or none exists) the plain
`keras.ops` formula of the same loss, without components or diagnostics, compiled the same way.
Ours twice: the loss as `compile(loss=...)` runs it (its value and gradient: what the issue's
targets compare), and as a logged training step computes it (`bench_catalogue`'s timing: also every
reduced component and every diagnostic's sums, which the references do not compute). Compile
modes, interleaving (the three in one loop, the order reversed every other round) as in
`bench_catalogue`.

Run: `python benchmarks/bench_beyond.py [--backend jax] [--repeats 15 --rounds 5] [--only Pinball]`
"""

import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _args import loss_timing_parser  # noqa: E402


def parse_args(argv=None):
    return loss_timing_parser(__doc__.splitlines()[0]).parse_args(argv)


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = parse_args().backend

import keras  # noqa: E402
import keras_rs  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import kerasloss  # noqa: E402
from bench_catalogue import compiled_gradient_step, logged_total_and_by_products, ratios, time_steps  # noqa: E402

TAU = 0.3


def pinball_formula(y_true, y_pred):
    error = y_true - y_pred
    return ops.mean(ops.mean(ops.maximum(TAU * error, (TAU - 1.0) * error), axis=-1))


def gaussian_nll_formula(y_true, y_pred):
    variance = ops.maximum(y_pred[..., 1], 1e-6)
    return ops.mean(0.5 * (ops.log(variance) + ops.square(y_true - y_pred[..., 0]) / variance))


def torch_gaussian_nll():
    import torch

    loss = torch.nn.GaussianNLLLoss()
    return lambda y_true, y_pred: loss(y_pred[..., 0], y_true, y_pred[..., 1])


def contrastive_formula(y_true, y_pred):
    return ops.mean(y_true * ops.square(y_pred) + (1.0 - y_true) * ops.square(ops.relu(1.0 - y_pred)))


def triplet_semihard_formula(y_true, y_pred):
    """TensorFlow Addons' triplet_semihard_loss in keras.ops (L2, margin 1)."""
    labels = ops.cast(y_true, "int32")
    norms = ops.sum(ops.square(y_pred), axis=1)
    squared = ops.relu(norms[:, None] + norms[None, :] - 2.0 * ops.matmul(y_pred, ops.transpose(y_pred)))
    zero = ops.less_equal(squared, 0.0)
    distance = ops.sqrt(squared + ops.cast(zero, squared.dtype) * 1e-16) * ops.cast(~zero, squared.dtype)
    eye = ops.eye(ops.shape(y_pred)[0])
    distance = distance * (1.0 - eye)
    same = ops.equal(labels[:, None], labels[None, :])
    negative = ops.cast(~same, distance.dtype)
    farther = negative[:, None, :] * ops.cast(distance[:, None, :] > distance[:, :, None], distance.dtype)
    row_max = ops.max(distance, axis=1, keepdims=True)
    outside = ops.min((distance[:, None, :] - row_max[:, :, None]) * farther, axis=2) + row_max
    row_min = ops.min(distance, axis=1, keepdims=True)
    inside = ops.max((distance - row_min) * negative, axis=1, keepdims=True) + row_min
    semi = ops.where(ops.sum(farther, axis=2) > 0, outside, inside)
    positive = ops.cast(same, distance.dtype) - eye
    return ops.sum(ops.relu((1.0 + distance - semi) * positive)) / ops.sum(positive)


def supervised_contrastive_formula(y_true, y_pred, temperature=0.1):
    labels = ops.cast(y_true, "int32")
    unit = y_pred / ops.norm(y_pred, axis=1, keepdims=True)
    logits = ops.matmul(unit, ops.transpose(unit)) / temperature
    others = 1.0 - ops.eye(ops.shape(unit)[0])
    positive = ops.cast(ops.equal(labels[:, None], labels[None, :]), logits.dtype) * others
    log_prob = logits - ops.log(ops.sum(ops.exp(logits) * others, axis=1, keepdims=True))
    count = ops.sum(positive, axis=1)
    per_anchor = -ops.sum(positive * log_prob, axis=1) / ops.maximum(count, 1.0)
    has = ops.cast(count > 0, logits.dtype)
    return ops.sum(per_anchor * has) / ops.sum(has)


def regression(rng):
    return rng.normal(size=(4096, 256)), rng.normal(size=(4096, 256))


def mean_and_variance(rng):
    return rng.normal(size=(4096, 256)), np.stack(
        [rng.normal(size=(4096, 256)), rng.uniform(0.1, 2.0, (4096, 256))], axis=-1
    )


def pair_distances(rng):
    return rng.integers(0, 2, (4096, 256)), np.abs(rng.normal(size=(4096, 256)))


def embeddings(rng, batch, dim):
    x = rng.normal(size=(batch, dim))
    return rng.integers(0, batch // 8, batch), x / np.linalg.norm(x, axis=1, keepdims=True)


def lists(rng):
    """[1024, 32] graded relevance (0-3, a quarter padded with −1) and scores."""
    labels = rng.integers(0, 4, (1024, 32)) * 1.0
    labels[rng.uniform(size=labels.shape) < 0.25] = -1.0
    return labels, rng.normal(size=labels.shape)


def rows():
    """(label, our loss, reference callable, reference name, input maker)."""
    torch_backend = keras.backend.backend() == "torch"
    table = [
        ("PinballLoss τ=0.3", kerasloss.PinballLoss(tau=TAU), pinball_formula, "formula", regression),
        ("GaussianNLL", kerasloss.GaussianNLL(),
         torch_gaussian_nll() if torch_backend else gaussian_nll_formula,
         "torch" if torch_backend else "formula", mean_and_variance),
        ("ContrastiveLoss", kerasloss.ContrastiveLoss(), contrastive_formula, "formula", pair_distances),
        ("TripletSemiHardLoss [256, 64]", kerasloss.TripletSemiHardLoss(), triplet_semihard_formula,
         "formula", lambda rng: embeddings(rng, 256, 64)),
        ("SupervisedContrastive [1024, 128]", kerasloss.SupervisedContrastive(),
         supervised_contrastive_formula, "formula", lambda rng: embeddings(rng, 1024, 128)),
    ]
    for name in ("PairwiseLogisticLoss", "PairwiseHingeLoss", "PairwiseSoftZeroOneLoss",
                 "PairwiseMeanSquaredError", "ListMLELoss"):
        table.append((f"{name} [1024, 32]", getattr(kerasloss, name)(),
                      getattr(keras_rs.losses, name)(), "keras-rs", lists))
    return table


def _range(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main(argv=None):
    args = parse_args(argv)
    modes = {"tensorflow": "TF graph mode (batch size unknown while tracing)", "jax": "jax.jit",
             "torch": "PyTorch eager"}
    print(f"forward + backward, {modes[keras.backend.backend()]}, float32, "
          f"{args.rounds} rounds x {args.repeats} interleaved repeats\n")
    print("| loss | reference | reference ms | ours: the loss ms | / reference | ours logged ms | / reference |")
    print("|---|---|---|---|---|---|---|")
    for label, ours, reference, reference_name, make in rows():
        if args.only and not any(label.startswith(o) for o in args.only):
            continue
        y_true, y_pred = (keras.ops.convert_to_tensor(np.asarray(x, np.float32))
                          for x in make(np.random.default_rng(0)))
        times = time_steps({
            "reference": compiled_gradient_step(lambda y, p: (reference(y, p), []), y_true, y_pred),
            "loss": compiled_gradient_step(lambda y, p: (ours(y, p), []), y_true, y_pred),
            "logged": compiled_gradient_step(logged_total_and_by_products(ours), y_true, y_pred),
        }, y_true, y_pred, args.repeats, args.rounds)
        print(f"| {label} | {reference_name} | {times['reference'][0]:.2f} | {times['loss'][0]:.2f} | "
              f"{_range(ratios(times, 'loss', 'reference'))} | {times['logged'][0]:.2f} | "
              f"{_range(ratios(times, 'logged', 'reference'))} |", flush=True)


if __name__ == "__main__":
    main()
