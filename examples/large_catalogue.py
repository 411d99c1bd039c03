"""Next-item prediction over a 100,000-item catalogue: sparse label smoothing and z-loss at scale.

    logits = Dense(n_items)(relu(Dense(dim)(mean(Embedding(n_items, dim)(last `context` items)))))
    loss   = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=e, z_loss=z)
           = (1-e)·(lse - z_y) + e·(lse - mean z) + z·lse²

With integer labels and label smoothing, Keras' only route is a one-hot target: a [batch, n_items]
float tensor, the largest in the step (as large as the logits). kerasloss smooths without it, in
one log-sum-exp pass with a fused gradient. The script prints the peak resident memory of the
process and the median training step time at the end.

Synthetic sessions: items are grouped into topics; a session stays in one topic and draws items by
a Zipf popularity within it, so the context tells the model where the next item comes from. Run
`train` of `--logdir` gets the loss components every epoch and every `--log-every` steps, run
`validation` the held-out prediction entropy, run `posthoc` the held-out top-10 accuracy. Two short
epochs show what a step costs, not a converged recommender (most items are still unseen).

Examples:
    python examples/large_catalogue.py
    python examples/large_catalogue.py --keras-baseline      # the same model with Keras' one-hot route
    python examples/large_catalogue.py --items 1000 --steps-per-epoch 3     # a quick look
"""

import os
import resource
import time

import _common
import numpy as np


def parse_args(argv=None):
    parser = _common.argument_parser(__doc__)
    parser.add_argument("--logdir",
                        help="TensorBoard log dir; its train/validation/posthoc runs are replaced "
                             "(default: runs/large_catalogue, with --keras-baseline "
                             "runs/large_catalogue_keras_baseline)")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs")
    parser.add_argument("--items", type=int, default=100_000, help="catalogue size (softmax classes)")
    parser.add_argument("--topic-size", type=int, default=100, help="items per topic")
    parser.add_argument("--context", type=int, default=4, help="previous items the model sees")
    parser.add_argument("--session-length", type=int, default=8)
    parser.add_argument("--steps-per-epoch", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--held-out", type=int, default=1024, help="held-out examples")
    parser.add_argument("--dim", type=int, default=32, help="embedding size")
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--z-loss", type=float, default=1e-4)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--log-every", type=int, default=5,
                        help="also log batch/loss/... every N steps (update_freq)")
    parser.add_argument("--keras-baseline", action="store_true",
                        help="train with Keras' CategoricalCrossentropy on a one-hot target instead "
                             "(no z-loss, no loss components), to compare step time and peak memory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="Keras fit verbosity (1: progress bar)")
    args = parser.parse_args(argv)
    if args.logdir is None:
        args.logdir = "runs/large_catalogue" + ("_keras_baseline" if args.keras_baseline else "")
    if args.epochs < 1 or args.steps_per_epoch < 1:
        parser.error("--epochs and --steps-per-epoch must be at least 1")
    if args.session_length <= args.context:
        parser.error(f"--session-length must exceed --context ({args.context}), got {args.session_length}")
    if not 1 <= args.topic_size <= args.items:
        parser.error(f"--topic-size must be in [1, --items], got {args.topic_size}")
    return args


def synthetic_sessions(n_examples, n_items, topic_size, context, session_length, seed):
    """(contexts int32 [n, context], next items int32 [n]) cut from topic-bound sessions."""
    rng = np.random.default_rng(seed)
    n_topics = n_items // topic_size
    per_session = session_length - context
    n_sessions = -(-n_examples // per_session)
    popularity = 1.0 / np.arange(1, topic_size + 1)
    popularity /= popularity.sum()
    # A fixed random assignment of catalogue ids to (topic, popularity rank).
    catalogue = np.random.default_rng(1_000_003).permutation(n_topics * topic_size).reshape(n_topics, topic_size)
    topics = rng.integers(0, n_topics, n_sessions)
    ranks = rng.choice(topic_size, (n_sessions, session_length), p=popularity)
    sessions = catalogue[topics[:, None], ranks]
    windows = np.lib.stride_tricks.sliding_window_view(sessions, context + 1, axis=1)
    windows = windows.reshape(-1, context + 1)[:n_examples]
    return windows[:, :context].astype(np.int32), windows[:, context].astype(np.int32)


def build_model(n_items, dim, context):
    import keras

    items = keras.Input(shape=(context,), dtype="int32", name="previous_items")
    h = keras.layers.Embedding(n_items, dim, name="item_embedding")(items)
    h = keras.layers.GlobalAveragePooling1D(name="mean_of_context")(h)
    h = keras.layers.Dense(dim, activation="relu", name="session")(h)
    logits = keras.layers.Dense(n_items, name="next_item_logits")(h)
    return keras.Model(items, logits, name="next_item")


def step_timer():
    """A Keras callback timing each training step (wall clock); `.median_ms()` after fit."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.durations = []
            self._start = None

        def on_train_batch_begin(self, batch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.durations.append(time.perf_counter() - self._start)

        def median_ms(self, skip=3):
            # The first steps trace and compile the step function.
            kept = self.durations[skip:] if len(self.durations) > skip else self.durations
            return 1000.0 * float(np.median(kept))

    return StepTimer()


def one_hot_keras_loss(n_items, label_smoothing):
    """Keras' only route to label smoothing with integer labels: one-hot them inside the loss."""
    import keras
    from keras import ops

    def one_hot_smoothed_crossentropy(y_true, y_pred):
        target = ops.one_hot(ops.reshape(ops.cast(y_true, "int32"), (-1,)), n_items)
        return keras.losses.categorical_crossentropy(
            target, y_pred, from_logits=True, label_smoothing=label_smoothing
        )

    return one_hot_smoothed_crossentropy


def current_rss_mib():
    """Resident set size now (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def peak_rss_mib():
    """Peak resident set size of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if os.uname().sysname == "Darwin" else peak / 1024.0


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    keras = _common.start_keras()

    import kerasloss
    from kerasloss.callbacks import LossComponentLogger, PostHocMetrics, PredictionEntropyLogger

    keras.utils.set_random_seed(args.seed)
    n_train = args.steps_per_epoch * args.batch_size
    x, y = synthetic_sessions(
        n_train + args.held_out, args.items, args.topic_size, args.context, args.session_length,
        args.seed,
    )
    x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    print(
        f"Sessions: {n_train:,} training and {len(x_test):,} held-out next-item examples over "
        f"{args.items:,} items ({args.items // args.topic_size:,} topics)"
    )

    model = build_model(args.items, args.dim, args.context)
    optimizer = keras.optimizers.Adam(args.learning_rate)
    timer = step_timer()
    if args.keras_baseline:
        model.compile(optimizer=optimizer, loss=one_hot_keras_loss(args.items, args.label_smoothing))
    else:
        loss = kerasloss.SparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=args.label_smoothing, z_loss=args.z_loss
        )
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=kerasloss.metrics.loss_components(loss, entropy=True),
        )
    _common.fresh_runs(args.logdir)
    posthoc = PostHocMetrics(
        args.logdir, (x_test, y_test),
        [keras.metrics.SparseTopKCategoricalAccuracy(k=10, name="top10_accuracy")],
    )
    # The baseline gets the same held-out callbacks; only the loss and its component logging differ.
    callbacks = [timer, PredictionEntropyLogger(args.logdir, x_test, from_logits=True), posthoc]
    if not args.keras_baseline:
        callbacks.append(LossComponentLogger(args.logdir, update_freq=args.log_every))
    rss_before = current_rss_mib()
    model.fit(
        x_train, y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        callbacks=callbacks,
        verbose=args.verbose,
    )
    elapsed = time.perf_counter() - started

    print()
    logged = {}
    if not args.keras_baseline:
        logged = _common.last_scalars(os.path.join(args.logdir, "train"))
        _common.print_table(
            "Final train loss components (epoch means, run 'train'):",
            _common.loss_tags_in_order(logged),
        )
    held_out = _common.last_scalars(os.path.join(args.logdir, "validation"))
    results = {name: float(value) for name, value in posthoc.results.items()}
    _common.print_table(
        "Held-out (runs 'validation' and 'posthoc'):",
        {
            "entropy/normalized": held_out.get("entropy/normalized", float("nan")),
            **{f"metrics/{name}": value for name, value in results.items()},
        },
    )
    one_hot_mib = args.batch_size * args.items * 4 / 2**20
    step_ms, peak_mib = timer.median_ms(), peak_rss_mib()
    route = ("Keras' CategoricalCrossentropy on a one-hot target built in the step"
             if args.keras_baseline else "kerasloss, no one-hot")
    print(f"Catalogue {args.items:,} items, batch {args.batch_size}: the logits and a one-hot target "
          f"would each be {one_hot_mib:.1f} MiB (float32). Loss: {route}.")
    print(f"Median training step time: {step_ms:.1f} ms (of {len(timer.durations)} steps)")
    before = f"; {rss_before:.0f} MiB before fit" if rss_before else ""
    print(f"Peak memory (resident, ru_maxrss): {peak_mib:.0f} MiB{before}")
    print(f"Total wall time: {elapsed:.1f} s")
    make, _ = _common.dashboard_command(os.path.dirname(os.path.normpath(args.logdir)) or ".")
    print(f"Open the dashboards (http://127.0.0.1:6006):  {make}")
    return {
        "logged": logged, "posthoc": results, "step_ms": step_ms, "rss_before_mib": rss_before,
        "peak_rss_mib": peak_mib, "seconds": elapsed,
    }


if __name__ == "__main__":
    main()
