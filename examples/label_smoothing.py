"""Label smoothing 0.0 against 0.1 on scikit-learn's digits, compared in TensorBoard.

A small softmax classifier (64 pixels -> 64 ReLU -> 10 logits) is trained twice, from the same
initial weights, with `kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=e)`;
each training is one run of `--logdir` (`ls_0.0`, `ls_0.1`, each with `train`, `validation` and
`posthoc`):

    loss/cross_entropy          the hard-label cross-entropy           (weight 1 - e)
    loss/uniform_cross_entropy  cross-entropy against uniform 1/10     (weight e; absent for e = 0)
    entropy/mean                how spread the predicted distribution is (train: from the loss's own
                                pass; validation: on the held-out split, with a histogram)
    metrics/accuracy, f1_macro, precision_macro, recall_macro    post-hoc, on the held-out split
    metrics/ece                 expected calibration error on the held-out split (15 bins), logged
                                unasked for a classifier with a reliability record per bin, drawn in
                                the tab's Calibration section with the smoothed target 1 − e + e/10

The HParams dashboard lists both runs with their label_smoothing. The data ships with scikit-learn
(no download).

Examples:
    python examples/label_smoothing.py
    python examples/label_smoothing.py --label-smoothing 0.0 0.05 0.2 --epochs 60
"""

import os
import time

import _common


def parse_args(argv=None):
    parser = _common.argument_parser(__doc__)
    parser.add_argument("--logdir", default="runs/label_smoothing",
                        help="TensorBoard log dir; one run ls_<e> per smoothing value is replaced")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs")
    parser.add_argument("--label-smoothing", type=float, nargs="+", default=[0.0, 0.1],
                        metavar="E", help="one training per value")
    parser.add_argument("--held-out", type=float, default=0.3, help="share of digits held out")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2),
                        help="Keras fit verbosity (2: one line per epoch)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    for e in args.label_smoothing:
        if not 0.0 <= e <= 1.0:
            parser.error(f"--label-smoothing values must be in [0, 1], got {e}")
    return args


def load_digits(held_out, seed):
    """(x_train, y_train, x_test, y_test): 8x8 digits scaled to [0, 1], integer labels, stratified."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    return train_test_split(x, y, test_size=held_out, stratify=y, random_state=seed)


def macro_precision_recall():
    """Macro-averaged precision and recall from the per-class counts `keras.metrics.F1Score` keeps.

    Keras' `Precision` and `Recall` are binary (or micro, which for one label per example is just
    accuracy); F1Score already counts true/false positives and false negatives per class.
    """
    import keras
    from keras import ops

    class MacroRate(keras.metrics.F1Score):
        """mean over classes of tp / (tp + errors), errors = the counter named by `errors`."""

        errors, default_name = None, None

        def __init__(self, name=None, **kwargs):
            kwargs["average"] = "macro"  # also when rebuilt from a config that names it
            super().__init__(name=name or self.default_name, **kwargs)

        def result(self):
            tp = self.true_positives
            return ops.mean(ops.divide_no_nan(tp, tp + getattr(self, self.errors)))

    class MacroPrecision(MacroRate):
        errors, default_name = "false_positives", "precision_macro"

    class MacroRecall(MacroRate):
        errors, default_name = "false_negatives", "recall_macro"

    return MacroPrecision(), MacroRecall()


def run_name(label_smoothing):
    """The run of one smoothing value: ls_0.0, ls_0.1, ls_0.05, ls_1.0."""
    return f"ls_{label_smoothing:g}" if label_smoothing not in (0.0, 1.0) else f"ls_{label_smoothing:.1f}"


def train_one(args, label_smoothing, data):
    """One training with the given smoothing, logged to `<logdir>/ls_<e>`; returns its figures."""
    import keras

    import kerasloss
    from kerasloss.callbacks import LossComponentLogger, PostHocMetrics, PredictionEntropyLogger

    x_train, x_test, y_train, y_test = data
    run_dir = os.path.join(args.logdir, run_name(label_smoothing))
    _common.fresh_runs(run_dir)

    keras.utils.set_random_seed(args.seed)          # same initial weights for every smoothing
    model = keras.Sequential(
        [
            keras.Input(shape=(x_train.shape[1],)),
            keras.layers.Dense(args.hidden, activation="relu"),
            keras.layers.Dense(10, name="logits"),
        ],
        # PyTorch refuses "." in parameter names, which Keras derives from the model name
        name=f"digits_{run_name(label_smoothing)}".replace(".", "_"),
    )
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=loss,
        metrics=kerasloss.metrics.loss_components(loss, entropy=True),
    )
    # F1Score (and the macro precision/recall built on it) wants one-hot labels.
    y_test_onehot = keras.utils.to_categorical(y_test, 10).astype("float32")
    posthoc = PostHocMetrics(
        run_dir,
        (x_test, y_test_onehot),
        [
            keras.metrics.CategoricalAccuracy(name="accuracy"),
            keras.metrics.F1Score(average="macro", name="f1_macro"),
            *macro_precision_recall(),
        ],
    )
    callbacks = [
        LossComponentLogger(run_dir),
        PredictionEntropyLogger(run_dir, x_test, from_logits=True),
        posthoc,
    ]
    print(f"\n== label_smoothing={label_smoothing:g}: {run_dir}")
    model.fit(
        x_train, y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_test, y_test),
        callbacks=callbacks,
        verbose=args.verbose,
    )
    train = _common.last_scalars(os.path.join(run_dir, "train"))
    validation = _common.last_scalars(os.path.join(run_dir, "validation"))
    figures = {f"train {tag}": value for tag, value in _common.loss_tags_in_order(train).items()}
    figures["train entropy/mean"] = train.get("entropy/mean", float("nan"))
    figures["held-out entropy/mean"] = validation.get("entropy/mean", float("nan"))
    figures.update({f"post-hoc {name}": float(value) for name, value in posthoc.results.items()})
    return figures


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    _common.start_keras()
    data = load_digits(args.held_out, args.seed)
    print(f"Digits: {len(data[0])} train, {len(data[1])} held out, 10 classes")
    results = {run_name(e): train_one(args, e, data) for e in args.label_smoothing}
    elapsed = time.perf_counter() - started

    runs = list(results)
    union = list(dict.fromkeys(row for figures in results.values() for row in figures))
    loss_rows = {row.removeprefix("train "): row for row in union if row.startswith("train loss/")}
    rows = list(_common.loss_tags_in_order(loss_rows).values())
    rows += [row for row in union if row not in rows]
    width = max(len(row) for row in rows)
    print(f"\nLabel smoothing compared ({elapsed:.1f} s), last epoch:")
    print(f"  {'':<{width}}" + "".join(f"  {run:>10}" for run in runs))
    for row in rows:
        cells = "".join(
            f"  {results[run][row]:>10.4f}" if row in results[run] else f"  {'-':>10}" for run in runs
        )
        print(f"  {row:<{width}}{cells}")
    make, direct = _common.dashboard_command(args.logdir)
    print(f"TensorBoard logs: {args.logdir}/{{{','.join(runs)}}}/{{{','.join(_common.RUNS)}}}")
    print(f"TensorBoard without make: {direct}")
    print(f"Open the dashboards (http://127.0.0.1:6006, HParams compares the runs):  {make}")
    return {"runs": results, "seconds": elapsed}


if __name__ == "__main__":
    main()
