"""MovieLens-shaped ratings: a deterministic synthetic generator and a loader for the real files.

The synthetic set has MovieLens-100K's shape by default (943 users, 1,682 items, 100,000 ratings
on a 1-5 scale, long-tailed user activity and item popularity) and is built to make the losses
differ on it:

    rating = clip(round(3.5 + b_user + b_item + u·v + noise), 1, 5)     (u, v: rank-`rank` factors)

and a small share (`outlier_share`, 5%) of ratings replaced by the opposite end of the scale (a
rating the model should place at 3 or above becomes a 1, one below 3 becomes a 5): the kind of
rating a squared error chases and an absolute error shrugs off.

`load_ratings(path)` reads a real MovieLens file, with the format taken from its contents:
    u.data       tab-separated `user item rating timestamp`, no header (MovieLens 100K)
    ratings.csv  comma-separated with the header `userId,movieId,rating,timestamp` (ml-latest, 25M)
    ratings.dat  `user::item::rating::timestamp` (MovieLens 1M, 10M)
User and item ids are renumbered 0..n-1 in increasing order of the file's ids.
"""

import dataclasses
import os

import numpy as np

RATING_MIN, RATING_MAX = 1.0, 5.0


@dataclasses.dataclass(frozen=True)
class Ratings:
    """One rating per row: `users[i]` gave `items[i]` the rating `ratings[i]`.

    `outlier` marks the ratings the synthetic generator corrupted (all False for loaded files).
    """

    users: np.ndarray      # int32 [n], in [0, n_users)
    items: np.ndarray      # int32 [n], in [0, n_items)
    ratings: np.ndarray    # float32 [n]
    n_users: int
    n_items: int
    outlier: np.ndarray    # bool [n]

    def __len__(self):
        return len(self.ratings)

    @property
    def pairs(self):
        """The model input: int32 [n, 2] of (user, item)."""
        return np.stack([self.users, self.items], axis=1)

    def take(self, index):
        """The ratings at `index` (same id space, so a split's ids stay valid for the model)."""
        return dataclasses.replace(
            self,
            users=self.users[index],
            items=self.items[index],
            ratings=self.ratings[index],
            outlier=self.outlier[index],
        )

    def split(self, held_out=0.1, seed=0):
        """(train, held_out): a seeded random split of the ratings."""
        if not 0.0 < held_out < 1.0:
            raise ValueError(f"held_out must be in (0, 1), got {held_out}")
        order = np.random.default_rng(seed).permutation(len(self))
        n_held_out = max(1, int(round(held_out * len(self))))
        return self.take(np.sort(order[n_held_out:])), self.take(np.sort(order[:n_held_out]))


def synthetic_ratings(
    n_users=943, n_items=1682, n_ratings=100_000, rank=8, noise=0.4, outlier_share=0.05, seed=0
):
    """A deterministic MovieLens-shaped rating set (see the module docstring).

    Args:
        n_users, n_items, n_ratings: its size; (user, item) pairs are distinct, so n_ratings must
            be at most n_users · n_items / 2.
        rank: rank of the user-item interaction.
        noise: standard deviation of the Gaussian noise before rounding.
        outlier_share: fraction of ratings flipped to the other end of the scale.
        seed: the same seed gives the same ratings, on every machine.
    """
    if n_ratings > n_users * n_items // 2:
        raise ValueError(
            f"n_ratings must be at most n_users * n_items / 2 = {n_users * n_items // 2}, "
            f"got {n_ratings}"
        )
    if not 0.0 <= outlier_share < 0.5:
        raise ValueError(f"outlier_share must be in [0, 0.5), got {outlier_share}")
    rng = np.random.default_rng(seed)
    # Long tails like MovieLens: a few users rate a lot, a few items get most ratings.
    user_p = _zipf_weights(n_users, 0.5, rng)
    item_p = _zipf_weights(n_items, 0.8, rng)
    codes = np.empty(0, np.int64)
    while len(codes) < n_ratings:
        need = 2 * (n_ratings - len(codes)) + 16
        drawn = rng.choice(n_users, need, p=user_p) * n_items + rng.choice(n_items, need, p=item_p)
        codes = np.concatenate([codes, drawn])
        _, first = np.unique(codes, return_index=True)
        codes = codes[np.sort(first)]
    codes = codes[:n_ratings]
    users, items = (codes // n_items).astype(np.int32), (codes % n_items).astype(np.int32)

    user_bias = rng.normal(0.0, 0.35, n_users)
    item_bias = rng.normal(0.0, 0.5, n_items)
    u = rng.normal(0.0, 1.0, (n_users, rank)) / rank ** 0.25
    v = rng.normal(0.0, 1.0, (n_items, rank)) / rank ** 0.25
    clean = 3.5 + user_bias[users] + item_bias[items] + np.einsum("nr,nr->n", u[users], v[items])
    ratings = np.clip(np.round(clean + rng.normal(0.0, noise, n_ratings)), RATING_MIN, RATING_MAX)

    outlier = rng.random(n_ratings) < outlier_share
    ratings[outlier] = np.where(clean[outlier] >= 3.0, RATING_MIN, RATING_MAX)
    return Ratings(users, items, ratings.astype(np.float32), n_users, n_items, outlier)


def _zipf_weights(n, exponent, rng):
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.permutation(weights / weights.sum())


def load_ratings(path):
    """Read a MovieLens ratings file (`u.data`, `ratings.csv` or `ratings.dat`) into `Ratings`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ratings file not found: {path}")
    with open(path, encoding="latin-1") as f:
        first = f.readline()
    if "::" in first:
        delimiter, skip = "::", 0
    elif "\t" in first:
        delimiter, skip = "\t", 0
    elif "," in first:
        delimiter, skip = ",", 1 if not first.split(",")[0].strip().isdigit() else 0
    else:
        raise ValueError(
            f"{path}: not a MovieLens ratings file (expected `user<TAB>item<TAB>rating<TAB>time` "
            f"as in u.data, or `userId,movieId,rating,timestamp` as in ratings.csv), "
            f"first line {first[:80]!r}"
        )
    table = _read_columns(path, delimiter, skip)
    if table.shape[1] < 3 or len(table) == 0:
        raise ValueError(f"{path}: expected rows of user, item, rating[, timestamp]")
    user_ids, users = np.unique(table[:, 0], return_inverse=True)
    item_ids, items = np.unique(table[:, 1], return_inverse=True)
    ratings = table[:, 2].astype(np.float32)
    return Ratings(
        users.astype(np.int32), items.astype(np.int32), ratings,
        len(user_ids), len(item_ids), np.zeros(len(ratings), bool),
    )


def _read_columns(path, delimiter, skip):
    if len(delimiter) == 1:
        return np.loadtxt(
            path, delimiter=delimiter, skiprows=skip, usecols=(0, 1, 2), dtype=np.float64, ndmin=2,
            encoding="latin-1",
        )
    with open(path, encoding="latin-1") as f:
        rows = [line.split(delimiter)[:3] for line in f.read().splitlines()[skip:] if line.strip()]
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)
