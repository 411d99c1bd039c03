"""Explicit-feedback matrix factorization, trained with a kerasloss regression loss, seen in TensorBoard.

    prediction(u, i) = μ + b_u + b_i + p_u · q_i          (p, q: L2-regularized embeddings)

Trained with MSE, RMSE, MAE, Huber or the pinball loss of a quantile `--tau` (`--loss`; pinball logs
`coverage`, the share of ratings at or below the prediction, which approaches τ) on a MovieLens-shaped
rating set: the built-in synthetic
one (deterministic, with a few outlier ratings; see `movielens.py`) or a real MovieLens file
(`--ratings u.data` or `--ratings ratings.csv`). During training, run `train` (and `validation`, on
the held-out ratings) of `--logdir` receive the loss, its component and the L2 regularization term
that went into it; after every epoch, run `posthoc` receives RMSE and MAE on the held-out ratings,
whichever loss was trained, and on synthetic data also `rmse_inliers` and `mae_inliers`, the same
without the outlier ratings: there MAE's robustness shows (`--loss mae` fits the inliers better).
The script ends with those figures and the command that opens the dashboards.

The ranking variant (`--loss pairwise_logistic`, `pairwise_hinge` or `list_mle`, keras-rs' losses)
treats every rating as implicit feedback: each list holds one rated item (label 1) and
`--list-size` − 1 items the user did not rate (label 0), scored p_u · q_i + b_i. Its diagnostic
`misordered_pairs`, logged for `train` and `validation` (lists of the held-out ratings), is the
share of unrated items scored above the rated one: 1 − AUC, ½ for random scores.

Examples:
    python examples/factorization.py                       # what `make demo` runs
    python examples/factorization.py --loss mae --logdir runs/factorization_mae
    python examples/factorization.py --loss huber --logdir runs/factorization_huber
    python examples/factorization.py --loss pinball --tau 0.9 --logdir runs/factorization_p90
    python examples/factorization.py --loss pairwise_logistic --logdir runs/factorization_ranking
    python examples/factorization.py --ratings ml-100k/u.data --epochs 20
"""

import os
import time

import _common
import numpy as np

LOSSES = {"mse": "MeanSquaredError", "rmse": "RootMeanSquaredError", "mae": "MeanAbsoluteError",
          "huber": "Huber", "pinball": "PinballLoss"}
RANKING_LOSSES = {"pairwise_logistic": "PairwiseLogisticLoss", "pairwise_hinge": "PairwiseHingeLoss",
                  "list_mle": "ListMLELoss"}


def parse_args(argv=None):
    parser = _common.argument_parser(__doc__)
    parser.add_argument("--logdir", default="runs/factorization",
                        help="TensorBoard log dir; its train/validation/posthoc runs are replaced")
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    parser.add_argument("--loss", choices=sorted(LOSSES) + sorted(RANKING_LOSSES), default="mse",
                        help="kerasloss.MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, "
                             "Huber (its diagnostic linear_fraction: the share of ratings treated "
                             "as outliers) or PinballLoss; or a ranking loss on implicit feedback")
    parser.add_argument("--tau", type=float, default=0.5, help="--loss pinball: the quantile level")
    parser.add_argument("--list-size", type=int, default=8,
                        help="ranking losses: items per list (one rated, the others sampled unrated)")
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
    if args.list_size < 2:
        parser.error(f"--list-size must be at least 2 (a rated item and an unrated one), got {args.list_size}")
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


def implicit_lists(ratings, rated, list_size, rng):
    """([n, 1 + list_size] int32 rows (user, rated item, list_size − 1 unrated items), labels
    [n, list_size] = [1, 0, ..., 0]); `rated` holds user · n_items + item of every rating."""
    n = len(ratings)
    unrated = rng.integers(0, ratings.n_items, (n, list_size - 1))
    for _ in range(10):  # redraw the few samples that hit a rated item
        hit = np.isin(ratings.users[:, None].astype(np.int64) * ratings.n_items + unrated, rated)
        if not hit.any():
            break
        unrated[hit] = rng.integers(0, ratings.n_items, int(hit.sum()))
    rows = np.concatenate([ratings.users[:, None], ratings.items[:, None], unrated], axis=1)
    labels = np.zeros((n, list_size), np.float32)
    labels[:, 0] = 1.0
    return rows.astype(np.int32), labels


def build_ranking_model(n_users, n_items, dim, l2):
    """(user, item_1, ..., item_L) int rows [B, 1 + L] -> scores [B, L] = p_u · q_i + b_i."""
    import keras

    rows = keras.Input(shape=(None,), dtype="int32", name="user_items")
    user, items = rows[:, 0], rows[:, 1:]
    regularizer = keras.regularizers.L2(l2)
    p = keras.layers.Embedding(n_users, dim, embeddings_regularizer=regularizer, name="user_factors")(user)
    q = keras.layers.Embedding(n_items, dim, embeddings_regularizer=regularizer, name="item_factors")(items)
    b_item = keras.layers.Embedding(n_items, 1, embeddings_initializer="zeros", name="item_bias")(items)
    scores = keras.ops.sum(q * p[:, None, :], axis=-1) + b_item[..., 0]
    return keras.Model(rows, scores, name="implicit_factorization")


def main_ranking(args, keras, started):
    """The ranking variant: implicit feedback, one of keras-rs' losses, misordered_pairs logged."""
    import kerasloss
    from kerasloss.callbacks import LossComponentLogger

    train, held_out = load_data(args)
    rated = np.concatenate([train.users, held_out.users]).astype(np.int64) * train.n_items + np.concatenate(
        [train.items, held_out.items])
    rng = np.random.default_rng(args.seed)
    x_train, y_train = implicit_lists(train, rated, args.list_size, rng)
    x_held, y_held = implicit_lists(held_out, rated, args.list_size, rng)
    loss = getattr(kerasloss, RANKING_LOSSES[args.loss])()
    model = build_ranking_model(train.n_users, train.n_items, args.dim, args.l2)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss=loss,
                  metrics=kerasloss.metrics.loss_components(loss, diagnostics=True))
    _common.fresh_runs(args.logdir)
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        validation_data=(x_held, y_held), callbacks=[LossComponentLogger(args.logdir)],
                        verbose=args.verbose).history
    elapsed = time.perf_counter() - started
    print(f"\nTrained {model.name} with kerasloss.{type(loss).__name__} for {args.epochs} epoch(s) "
          f"in {elapsed:.1f} s.")
    misordered = {run: history[f"{prefix}diagnostics/misordered_pairs"][-1]
                  for run, prefix in (("train", ""), ("validation", "val_"))}
    _common.print_table("Misordered pairs (1 − AUC of the rated item against the unrated ones), "
                        "last epoch:", misordered)
    make, direct = _common.dashboard_command(os.path.dirname(os.path.normpath(args.logdir)) or ".")
    print(f"TensorBoard logs: {args.logdir}/{{train,validation}}")
    print(f"TensorBoard without make: {direct}")
    print(f"Open the dashboards (http://127.0.0.1:6006):  {make}")
    return {"logged": _common.last_scalars(os.path.join(args.logdir, "train")),
            "misordered_pairs": misordered, "seconds": elapsed}


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    keras = _common.start_keras()

    import kerasloss
    from kerasloss.callbacks import LossComponentLogger, PostHocMetrics

    keras.utils.set_random_seed(args.seed)
    if args.loss in RANKING_LOSSES:
        return main_ranking(args, keras, started)
    train, held_out = load_data(args)
    x_train, y_train = train.pairs, train.ratings[:, None]
    x_held, y_held = held_out.pairs, held_out.ratings[:, None]

    loss = getattr(kerasloss, LOSSES[args.loss])(**({"tau": args.tau} if args.loss == "pinball" else {}))
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
    diagnostics = {tag: value for tag, value in logged.items() if tag.startswith("diagnostics/")}
    if diagnostics:
        _common.print_table("Diagnostics (epoch means; pinball's coverage approaches τ):", diagnostics)
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
