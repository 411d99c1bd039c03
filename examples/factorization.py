"""Explicit-feedback matrix factorization, trained with a kerasloss regression loss, seen in TensorBoard.

    prediction(u, i) = μ + b_u + b_i + p_u · q_i          (p, q: L2-regularized embeddings)

Trained with MSE, RMSE, MAE or Huber (`--loss`) on a MovieLens-shaped rating set: the built-in synthetic
one (deterministic, with a few outlier ratings; see `movielens.py`) or a real MovieLens file
(`--ratings u.data` or `--ratings ratings.csv`). During training, run `train` (and `validation`, on
the held-out ratings) of `--logdir` receive the loss, its component and the L2 regularization term
that went into it; after every epoch, run `posthoc` receives RMSE and MAE on the held-out ratings,
whichever loss was trained, and on synthetic data also `rmse_inliers` and `mae_inliers`, the same
without the outlier ratings: there MAE's robustness shows (`--loss mae` fits the inliers better).
The script ends with those figures and the command that opens the dashboards.

Examples:
    python examples/factorization.py                       # what `make demo` runs
    python examples/factorization.py --loss mae --logdir runs/factorization_mae
    python examples/factorization.py --loss huber --logdir runs/factorization_huber
    python examples/factorization.py --ratings ml-100k/u.data --epochs 20
"""

import os
import time

import _common

LOSSES = {"mse": "MeanSquaredError", "rmse": "RootMeanSquaredError", "mae": "MeanAbsoluteError",
          "huber": "Huber"}


def parse_args(argv=None):
    parser = _common.argument_parser(__doc__)
    parser.add_argument("--logdir", default="runs/factorization",
                        help="TensorBoard log dir; its train/validation/posthoc runs are replaced")
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    parser.add_argument("--loss", choices=sorted(LOSSES), default="mse",
                        help="kerasloss.MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError "
                             "or Huber (its diagnostic linear_fraction: the share of ratings "
                             "treated as outliers)")
    parser.add_argument("--ratings", metavar="PATH",
                        help="a MovieLens u.data (tab-separated) or ratings.csv, "
                             "instead of the synthetic set")
    parser.add_argument("--users", type=int, default=943, help="synthetic data: number of users")
    parser.add_argument("--items", type=int, default=1682, help="synthetic data: number of items")
    parser.add_argument("--num-ratings", type=int, default=100_000,
                        help="synthetic data: number of ratings")
    parser.add_argument("--outlier-share", type=float, default=0.05,
                        help="synthetic data: share of ratings flipped to the other end of the scale")
    parser.add_argument("--held-out", type=float, default=0.1,
                        help="share of ratings held out for validation and post-hoc metrics")
    parser.add_argument("--dim", type=int, default=8, help="embedding size")
    parser.add_argument("--l2", type=float, default=2e-5, help="L2 weight on both embedding tables")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="Keras fit verbosity (1: progress bar)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    return args


def load_data(args):
    import movielens

    if args.ratings:
        data = movielens.load_ratings(args.ratings)
        source = f"{args.ratings}"
    else:
        data = movielens.synthetic_ratings(
            args.users, args.items, args.num_ratings, outlier_share=args.outlier_share,
            seed=args.seed,
        )
        source = f"synthetic, {data.outlier.mean():.1%} outliers"
    train, held_out = data.split(args.held_out, seed=args.seed)
    print(
        f"Ratings: {len(data):,} ({source}); {data.n_users:,} users × {data.n_items:,} items; "
        f"{len(train):,} train, {len(held_out):,} held out"
    )
    return train, held_out


def build_model(n_users, n_items, dim, l2, global_mean):
    """(user, item) int pairs [B, 2] -> predicted rating [B, 1]."""
    import keras

    pairs = keras.Input(shape=(2,), dtype="int32", name="user_item")
    user, item = pairs[:, 0], pairs[:, 1]
    regularizer = keras.regularizers.L2(l2)
    p = keras.layers.Embedding(n_users, dim, embeddings_regularizer=regularizer, name="user_factors")(user)
    q = keras.layers.Embedding(n_items, dim, embeddings_regularizer=regularizer, name="item_factors")(item)
    b_user = keras.layers.Embedding(n_users, 1, embeddings_initializer="zeros", name="user_bias")(user)
    b_item = keras.layers.Embedding(n_items, 1, embeddings_initializer="zeros", name="item_bias")(item)
    dot = keras.ops.sum(p * q, axis=-1, keepdims=True)
    rating = keras.layers.Add(name="rating")([dot, b_user, b_item])
    rating = keras.layers.Rescaling(1.0, offset=global_mean, name="global_mean")(rating)
    return keras.Model(pairs, rating, name="matrix_factorization")


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    keras = _common.start_keras()

    import kerasloss
    from kerasloss.callbacks import LossComponentLogger, PostHocMetrics

    keras.utils.set_random_seed(args.seed)
    train, held_out = load_data(args)
    x_train, y_train = train.pairs, train.ratings[:, None]
    x_held, y_held = held_out.pairs, held_out.ratings[:, None]

    loss = getattr(kerasloss, LOSSES[args.loss])()
    model = build_model(train.n_users, train.n_items, args.dim, args.l2, float(y_train.mean()))
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=loss,
        metrics=kerasloss.metrics.loss_components(loss, diagnostics=True),
    )
    _common.fresh_runs(args.logdir)
    posthoc = [
        PostHocMetrics(
            args.logdir,
            (x_held, y_held),
            [keras.metrics.RootMeanSquaredError(name="rmse"), keras.metrics.MeanAbsoluteError(name="mae")],
        )
    ]
    if held_out.outlier.any():
        # The same held-out ratings without the synthetic outliers: what the model should predict.
        inliers = ~held_out.outlier
        posthoc.append(
            PostHocMetrics(
                args.logdir,
                (x_held[inliers], y_held[inliers]),
                [
                    keras.metrics.RootMeanSquaredError(name="rmse_inliers"),
                    keras.metrics.MeanAbsoluteError(name="mae_inliers"),
                ],
            )
        )
    model.fit(
        x_train, y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_held, y_held),
        callbacks=[LossComponentLogger(args.logdir), *posthoc],
        verbose=args.verbose,
    )
    elapsed = time.perf_counter() - started

    print()
    epochs = f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    print(f"Trained {model.name} with kerasloss.{type(loss).__name__} for {epochs} in {elapsed:.1f} s.")
    logged = _common.last_scalars(os.path.join(args.logdir, "train"))
    results = {name: float(value) for callback in posthoc for name, value in callback.results.items()}
    _common.print_table(
        "Final train loss components (epoch means, as logged in run 'train'):",
        _common.loss_tags_in_order(logged),
    )
    title = f"Post-hoc metrics on the {len(held_out):,} held-out ratings (run 'posthoc')"
    if held_out.outlier.any():
        title += f"; *_inliers: the {int((~held_out.outlier).sum()):,} that are not outliers"
    _common.print_table(title + ":", results)
    make, direct = _common.dashboard_command(os.path.dirname(os.path.normpath(args.logdir)) or ".")
    print(f"TensorBoard logs: {args.logdir}/{{{','.join(_common.RUNS)}}}")
    print(f"TensorBoard without make: {direct}")
    print(f"Open the dashboards (http://127.0.0.1:6006):  {make}")
    return {"logged": logged, "posthoc": results, "seconds": elapsed}


if __name__ == "__main__":
    main()
