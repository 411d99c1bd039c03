"""The statistics behind `ExampleLedger`: per-example signals of one batch, running statistics over
the evaluated epochs in O(N) memory, the trajectories of the current top_k, the rows of its table,
and the automatic cut.

Per example i and evaluated epoch e (z = logits, or log-probabilities when the model outputs
probabilities; y_i the assigned label):

    margin_ie      = z_iy - max_{j != y} z_ij            categorical (Pleiss et al., 2020)
                   = (2 y_i - 1) · s_i                    binary, s the logit
    confidence_ie  = softmax(z_i)_y  (sigmoid(margin) for binary)
    correct_ie     = [argmax_j z_ij == y_i]  ([s_i > 0] == y_i for binary); NaN, and predicted -1,
                     where the margin is NaN (outputs that are not numbers)
    loss_ie        = the compiled loss's per-element values (`loss.call`), averaged over non-batch axes

Over the E evaluated epochs (Swayamdipta et al., 2020 for the last three):

    aum_i          = (1/E) Σ_e margin_ie
    mean_loss_i    = (1/E) Σ_e loss_ie
    confidence_i   = (1/E) Σ_e confidence_ie
    variability_i  = sqrt((1/E) Σ_e confidence_ie² - confidence_i²)
    correctness_i  = (1/E) Σ_e correct_ie

The sums are float64 of the float32 signals, all added in one vectorised addition per pass. The
confidence's square comes from the compiled signals as three float32 parts whose sum is exact
(`exact_square_parts`), so Σ confidence² is as exact as if squared in float64: the variance is off
by at most about 4E float64 ulps of 1 (4.4e-16·E), the variability by at most 2e-8·sqrt(E) where
the confidence barely moves across epochs and far less elsewhere.
"""

import keras
import numpy as np
from keras import ops

from kerasloss.callbacks._heldout import to_numpy

FIELDS = ("label", "predicted", "aum", "mean_loss", "confidence", "variability", "correctness")
# the rows of `batch_signals`' output: all but the last are summed as they come (the squares: the
# three `exact_square_parts` of the confidence's square)
SIGNALS = ("loss", "margin", "confidence", "correct", "square_high", "square_middle", "square_low", "predicted")
_SUMMED = len(SIGNALS) - 1
_SAVED_SUMS = 5  # a save's sums: Σ loss, margin, confidence, correct, then Σ confidence² in one row


class RunningStats:
    """Per-example sums over the evaluated epochs (O(N) memory) and the top_k's trajectories.

    Args:
        size: the number of examples N.
        labels: (N,) int assigned labels, or None for a non-classification loss (ranked by loss).
        top_k: how many of the hardest examples keep their per-epoch loss and margin.
    """

    def __init__(self, size, labels, top_k):
        self.size = size
        self.classifier = labels is not None
        self.labels = labels
        self.top_k = top_k
        self.epochs = []  # the evaluated epochs' TensorBoard steps
        self.top = np.zeros((0,), np.int64)  # indices of the current top_k, hardest first
        # per evaluated epoch: its top_k's indices (k,), and their loss [0] and margin [1] then (2, k)
        self._top_history, self._value_history = [], []
        self._sums = np.zeros((_SUMMED, size))  # Σ of each summed row of `SIGNALS`
        self._predicted = np.full(size, -1, np.float32)  # the last epoch's, as the signals give it

    def update(self, epoch, signals):
        """Add one evaluated epoch: `signals` (S, N) float32, row s the signal `SIGNALS[s]` of every
        example in data order (the loss alone, S = 1, without classes). In place, in float64: one
        vectorised addition."""
        if self.classifier:
            self._sums += signals[:_SUMMED]
            self._predicted = signals[_SUMMED].copy()  # not a view: the pass's (S, N) rows are let go
        else:
            self._sums[0] += signals[0]
        self.epochs.append(int(epoch))
        self._track(signals)

    def _track(self, signals):
        """Select this epoch's top_k and keep their loss and margin (NaN without margins): O(k) per
        epoch; the trajectories of whichever examples are the top_k later are read back from these."""
        self.top = hardest(self._ranking_sum(), self.top_k, candidates=self.top)
        if self.classifier:
            values = signals[:2].take(self.top, axis=1)
        else:
            values = np.full((2, len(self.top)), np.nan, np.float32)
            values[0] = signals[0, self.top]
        self._top_history.append(self.top)
        self._value_history.append(values)

    def _ranking_sum(self):
        """Lower is harder, in the order of the AUM for a classifier (E times it: its margins' sums),
        else of minus the mean loss (minus the losses' sums)."""
        return self._sums[1] if self.classifier else -self._sums[0]

    def _count(self):
        if not self.epochs:
            raise ValueError("the ledger has no evaluated epoch yet: fit the model with it first")
        return len(self.epochs)

    def aum(self):
        return self._sums[1] / self._count() if self.classifier else np.full(self.size, np.nan)

    def mean_loss(self):
        return self._sums[0] / self._count()

    def fields(self):
        """{field: (N,) array} of every field of `FIELDS`."""
        count = self._count()
        nan = np.full(self.size, np.nan)
        if not self.classifier:
            return {"label": np.full(self.size, -1), "predicted": np.full(self.size, -1), "aum": nan,
                    "mean_loss": self.mean_loss(), "confidence": nan, "variability": nan, "correctness": nan}
        confidence = self._sums[2] / count
        return {
            "label": self.labels,
            "predicted": self._predicted.astype(np.int64),
            "aum": self.aum(),
            "mean_loss": self.mean_loss(),
            "confidence": confidence,
            "variability": np.sqrt(np.maximum(self._squares() / count - confidence**2, 0.0)),
            "correctness": self._sums[3] / count,
        }

    def _squares(self):
        """Σ confidence² (N,), from the sums of its three exact parts."""
        return self._sums[4] + self._sums[5] + self._sums[6]

    def held_bytes(self):
        """Bytes these statistics hold: the per-example sums and predictions, the top_k's history."""
        history = sum(array.nbytes for array in self._top_history + self._value_history)
        return self._sums.nbytes + self._predicted.nbytes + history

    def trajectories(self):
        """{"loss": (top_k, E), "margin": (top_k, E)}: the per-epoch values of the current top_k,
        row r for example `top[r]`, column e for `epochs[e]` (NaN: not in the top_k then, or no margin).

        Each epoch's top_k indices are sorted once and offset by e·N, so that one binary search over
        all epochs finds every current example in every earlier top_k: O(E k log k)."""
        epochs, k = len(self._top_history), len(self.top)
        if not epochs:
            return {"loss": np.zeros((k, 0)), "margin": np.zeros((k, 0))}
        tops = np.stack(self._top_history)  # (E, k)
        order = np.argsort(tops, axis=1)
        offsets = np.arange(epochs)[:, None] * self.size
        keyed = (np.take_along_axis(tops, order, axis=1) + offsets).ravel()  # ascending over all epochs
        wanted = self.top[None, :] + offsets  # (E, k)
        at = np.minimum(np.searchsorted(keyed, wanted), keyed.size - 1)
        found = keyed[at] == wanted
        rows = np.broadcast_to(np.arange(epochs)[:, None], at.shape)
        values = np.stack(self._value_history)[rows, :, order.ravel()[at]]  # (E, k, 2)
        traj = np.where(found[..., None], values, np.nan).transpose(2, 1, 0)
        return {"loss": traj[0], "margin": traj[1]}

    def state(self):
        """Everything needed to restore these statistics (`from_state`), as NumPy arrays."""
        k = len(self.top)
        return {
            "epochs": np.asarray(self.epochs, np.int64),
            "top": self.top,
            "top_history": np.stack(self._top_history) if self._top_history else np.zeros((0, k), np.int64),
            "value_history": np.stack(self._value_history) if self._value_history else np.zeros((0, 2, k), np.float32),
            "sums": np.concatenate([self._sums[:4], self._squares()[None]]),  # `_SAVED_SUMS` rows
            "predicted": self._predicted,
        }

    @classmethod
    def from_state(cls, labels, top_k, state):
        stats = cls(state["sums"].shape[1], labels, top_k)
        stats.epochs = state["epochs"].tolist()
        stats._sums[:_SAVED_SUMS] = state["sums"]  # Σ confidence² in the first of its parts' rows
        stats._predicted = state["predicted"]
        stats.top = state["top"]
        stats._top_history, stats._value_history = list(state["top_history"]), list(state["value_history"])
        return stats


class Table(np.ndarray):
    """The ledger's rows: a NumPy structured array (id, label, predicted, aum, mean_loss,
    confidence, variability, correctness) with `to_pandas()`."""

    def to_pandas(self):
        import pandas as pd  # an optional dependency, needed only here

        return pd.DataFrame({name: np.asarray(self[name]) for name in self.dtype.names})


def table_rows(ids, fields, order):
    """The rows `order` of the examples with `ids` and `fields` (`RunningStats.fields`), a `Table`."""
    ids = np.asarray(ids)
    dtype = [("id", ids.dtype), ("label", np.int64), ("predicted", np.int64)]
    dtype += [(name, np.float64) for name in FIELDS[2:]]
    rows = np.zeros(len(order), dtype)
    rows["id"] = ids[order]
    for name in FIELDS:
        rows[name] = fields[name][order]
    return rows.view(Table)


def hardest(score, k, candidates=None):
    """Indices of the k lowest `score` values, lowest first (ties: data order), in O(N + k log k).

    `candidates`: any k indices (the last top_k, as rankings move little from one epoch to the next):
    every one of the k lowest scores is <= the highest of theirs, so the selection runs over those
    alone (one comparison over N instead of a partition of N: about 50 µs against 450 µs at
    N = 40,224)."""
    k = min(int(k), len(score))
    if k <= 0:
        return np.zeros((0,), np.int64)
    if candidates is not None and len(candidates) == k:
        subset = (score <= score.take(candidates).max()).nonzero()[0]  # ascending: ties stay in order
        if k <= len(subset) <= 4 * k:  # the usual case: one stable sort of the few
            return subset.take(np.argsort(score.take(subset), kind="stable")[:k])
        if len(subset) > 4 * k:  # many ties; fewer than k: a NaN among the candidates
            return subset.take(hardest(score.take(subset), k))
    if len(score) <= 4 * k:  # a few: one stable sort (fewer calls than a partition and a sort of k)
        return np.argsort(score, kind="stable")[:k]
    part = np.argpartition(score, k - 1)[:k]
    return part[np.lexsort((part, score[part]))]


def mixture_cut(aum, iterations=100, tol=1e-6):
    """Boolean mask of the likely label errors: AUM < 0 and more likely under the lower of two
    Gaussians fitted to the AUM values by EM (a two-component 1-D mixture, as DivideMix fits to
    losses), so that a clean data set, whose AUMs form one mode, gives few or no suspects.

    Formula:
        p(a) = π N(a; μ₀, σ₀²) + (1 - π) N(a; μ₁, σ₁²),  μ₀ < μ₁, EM started from the split at 0
        suspect_i = [aum_i < 0] · [π N(aum_i; μ₀, σ₀²) > (1 - π) N(aum_i; μ₁, σ₁²)]
    """
    a = np.asarray(aum, np.float64)
    low = a < 0
    if low.sum() == 0 or low.all():
        return low
    floor = 1e-6 * max(float(a.std()), 1e-12)
    resp = low.astype(np.float64)  # responsibility of the low component, initialised by the sign
    previous = -np.inf
    for _ in range(iterations):
        weight = np.clip(resp.mean(), 1e-6, 1 - 1e-6)
        mean0 = (resp * a).sum() / resp.sum()
        mean1 = ((1 - resp) * a).sum() / (1 - resp).sum()
        var0 = max(float((resp * (a - mean0) ** 2).sum() / resp.sum()), floor**2)
        var1 = max(float(((1 - resp) * (a - mean1) ** 2).sum() / (1 - resp).sum()), floor**2)
        log0 = np.log(weight) - 0.5 * (np.log(2 * np.pi * var0) + (a - mean0) ** 2 / var0)
        log1 = np.log(1 - weight) - 0.5 * (np.log(2 * np.pi * var1) + (a - mean1) ** 2 / var1)
        top = np.maximum(log0, log1)
        total = top + np.log(np.exp(log0 - top) + np.exp(log1 - top))
        resp = np.exp(log0 - total)
        likelihood = total.mean()
        if likelihood - previous < tol:  # mean log-likelihood per example, as scikit-learn's tol
            break
        previous = likelihood
    if mean0 > mean1:  # the components swapped: the lower one is component 1
        resp = 1 - resp
    return low & (resp > 0.5)


def signal_kind(settings, shape):
    """"categorical", "binary" or None (ranked by loss) from the loss's entropy settings and the
    shape of its outputs: one row of class scores, or one binary score, per example."""
    kind = settings[1] if settings else None
    if kind == "categorical" and len(shape) == 2 and shape[1] > 1:
        return kind
    if kind == "binary" and (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        return kind
    return None


def assigned_labels(y, kind, classes):
    """Assigned labels (N,) int64 from one batch of labels `y`: sparse ints, one-hot/soft rows
    (their argmax) or, for kind="binary", 0/1 targets (soft targets: >= 0.5)."""
    y = np.asarray(y)
    flat = y.reshape(len(y), -1) if y.ndim else y.reshape(1, 1)
    if kind == "binary":
        if flat.shape[1] != 1:
            raise ValueError(
                f"data's labels must be one 0/1 target per example for a binary loss, got shape {y.shape}"
            )
        return (flat[:, 0] >= 0.5).astype(np.int64)
    if y.ndim == 2 and y.shape[1] == classes and classes > 1:
        return np.argmax(y, axis=1).astype(np.int64)
    if flat.shape[1] != 1:
        raise ValueError(
            f"data's labels must be class indices (N,) or one-hot rows (N, {classes}), got shape {y.shape}"
        )
    labels = flat[:, 0]
    whole = labels.dtype.kind in "iu" or np.all(labels == np.round(labels))
    in_range = whole and 0 <= labels.min() and labels.max() < classes
    if labels.size and not in_range:
        raise ValueError(
            f"data's labels must be class indices in [0, {classes}), got values from {labels.min()} to "
            f"{labels.max()}"
        )
    return labels.astype(np.int64, copy=False)


def _prediction_rows(predicted, labels, margin):
    """The rows correct (1.0 where the int32 `predicted` class is the assigned label, else 0.0) and
    predicted (the class as float32), NaN and -1 where the margin is NaN: outputs that are not
    numbers (a diverged model) predict nothing, though their argmax is class 0."""
    unknown = ops.isnan(margin)
    hits = ops.cast(ops.equal(predicted, ops.cast(labels, "int32")), "float32")
    return ops.where(unknown, np.nan, hits), ops.where(unknown, -1.0, ops.cast(predicted, "float32"))


def exact_square_parts(c):
    """Three float32 tensors whose sum is exactly c² for float32 `c` (up to float32 underflow, below
    1e-38 in absolute terms): c = h + l, h the leading 12 significant bits of c (the low 12 of its 23
    stored bits cleared) and l = c - h (exact, at most 12 bits), so that

        c² = h² + 2·h·l + l²,  each term a product of two 12-bit significands: exact in float32's 24."""
    column = ops.expand_dims(c, -1)  # a static last axis, which Keras' TensorFlow `view` needs
    high = ops.view(ops.bitwise_and(ops.view(column, "int32"), -4096), "float32")[..., 0]
    low = c - high
    return high * high, 2.0 * high * low, low * low


def batch_signals(loss, kind, from_logits):
    """A function (y, labels, y_pred) -> (S, B) float32 NumPy array of one batch, its rows the
    first S of `SIGNALS` (one array: one conversion to NumPy, a view where the backend allows, so
    read only; rows: the summed signals one block), compiled once per backend (`jax.jit`,
    `tf.function`; eager on PyTorch, as Keras' own torch functions): the loss's per-element values
    (`loss.call`) averaged over non-batch axes, and for kind "categorical" / "binary" (None: the
    loss only) the margin, confidence, the confidence's `exact_square_parts`, correct and predicted
    class of the module docstring, from `y_pred` (logits, or probabilities when `from_logits` is
    False).

    Probabilities p give the same margin and confidence without a logarithm per class:
    log p_y - log max_{j != y} p_j and p_y / Σ_j p_j (softmax(log p) = p / Σ p)."""

    def signals(y, labels, y_pred):
        values = ops.cast(loss.call(y, y_pred), "float32")
        if len(values.shape) > 1:
            values = ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)
        if kind is None:
            return ops.expand_dims(values, 0)
        z = ops.cast(y_pred, "float32")
        tiny = np.finfo(np.float32).tiny
        if kind == "binary":
            z = ops.reshape(z, (-1,))
            if not from_logits:
                p = ops.clip(z, tiny, 1.0 - np.finfo(np.float32).epsneg)
                z = ops.log(p) - ops.log1p(-p)
            margin = ops.where(ops.equal(labels, 1), z, -z)
            correct, predicted = _prediction_rows(ops.cast(z > 0, "int32"), labels, margin)
            confidence = ops.sigmoid(margin)
            return ops.stack([values, margin, confidence, correct, *exact_square_parts(confidence), predicted])
        labels = ops.expand_dims(ops.cast(labels, "int32"), -1)
        z_y = ops.take_along_axis(z, labels, axis=-1)[:, 0]
        other = ops.max(ops.where(ops.equal(ops.arange(ops.shape(z)[-1], dtype="int32"), labels), -np.inf, z), axis=-1)
        if from_logits:
            margin, confidence = z_y - other, ops.exp(z_y - ops.logsumexp(z, axis=-1))
        else:
            margin = ops.log(ops.maximum(z_y, tiny)) - ops.log(ops.maximum(other, tiny))
            confidence = z_y / ops.sum(z, axis=-1)
        correct, predicted = _prediction_rows(ops.cast(ops.argmax(z, axis=-1), "int32"), labels[:, 0], margin)
        squares = exact_square_parts(confidence)
        return ops.stack([values, margin, confidence, correct, *squares, predicted])  # classes exact below 2**24

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        compiled = jax.jit(signals)
    elif backend == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(signals, reduce_retracing=True)
    else:
        compiled = signals
    return lambda y, labels, y_pred: to_numpy(compiled(y, labels, y_pred))
