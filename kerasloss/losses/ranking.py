"""Learning-to-rank losses over lists of items, as keras-rs 0.4 computes them.

y_true holds relevance labels [B, L] (or one list [L]), y_pred the scores s of the same shape; an
item counts when its label is ≥ 0 and, with y_true = {"labels": ..., "mask": ...}, its mask is
True. Over the pairs (i, j) of valid items of a list with y_i > y_j (i the more relevant) and
x_ij = (s_i − s_j)/τ, each item i carries the sum over its pairs (a per-item value [B, L]):

    pairwise_logistic      = Σ_j log(1 + exp(−x_ij))
    pairwise_hinge         = Σ_j max(1 − x_ij, 0)
    pairwise_soft_zero_one = Σ_j sigmoid(−x_ij)
    pairwise_squared_error = Σ_{j ≠ i, both valid} ((y_i − y_j) − (s_i − s_j))²      (no τ)

ListMLE is per list [B]: with the valid items sorted by label (descending, ties in list order),
    list_mle = −Σ_k log( exp(s_k/τ) / Σ_{l ≥ k} exp(s_l/τ) )
(after subtracting the list's largest score, each normaliser + 1e-10, as keras-rs).

The diagnostic of all five, `misordered_pairs`, is the weighted share of the pairs y_i > y_j whose
more relevant item is scored lower (a tie counts ½): 1 − the pairwise AUC of the scores, 0 for a
perfect ranking and ½ for a random one. It is a ratio of pair counts, so it is pooled over every
list of the epoch, not averaged per list.
"""

import keras
from keras import ops

from kerasloss import _checks
from kerasloss.base import ComponentLoss, Ratio, Terms, register
from kerasloss.losses._inputs import real_predictions

_LIST_MLE_EPSILON = 1e-10
_LIST_MLE_PAD = -1e9


def _ranking_inputs(y_true, y_pred):
    """(labels, scores, valid) [B, L] from y_true (a tensor or {"labels", "mask"}) and y_pred."""
    mask = None
    if isinstance(y_true, dict):
        if "labels" not in y_true:
            raise ValueError(
                f'y_true as a dict must hold "labels" (and optionally "mask"), got keys {sorted(y_true)}'
            )
        mask, y_true = y_true.get("mask"), y_true["labels"]
    scores = real_predictions(y_pred)
    labels = ops.cast(ops.convert_to_tensor(y_true), scores.dtype)
    if len(scores.shape) not in (1, 2):
        raise ValueError(
            f"y_pred must hold scores of shape (list_size,) or (batch, list_size), got shape "
            f"{tuple(scores.shape)}"
        )
    _checks.check_same_shape(labels, scores, "a ranking loss (one label per scored item)")
    valid = ops.greater_equal(labels, 0.0)
    if mask is not None:
        mask = ops.cast(ops.convert_to_tensor(mask), "bool")
        _checks.check_same_shape(mask, scores, 'a ranking loss\'s y_true["mask"]')
        valid = ops.logical_and(valid, mask)
    if len(scores.shape) == 1:
        labels, scores, valid = labels[None], scores[None], valid[None]
    return labels, scores, valid


def _pairs(labels, scores, valid):
    """(more_relevant as 0/1 floats, the score differences s_i − s_j), both [B, L, L]."""
    both_valid = ops.logical_and(valid[:, :, None], valid[:, None, :])
    more_relevant = ops.logical_and(ops.greater(labels[:, :, None], labels[:, None, :]), both_valid)
    return ops.cast(more_relevant, scores.dtype), scores[:, :, None] - scores[:, None, :]


def _misordered(pair_weight, difference, axis=-1):
    """Ratio: per item (axis=-1) or per list (axis=(1, 2)), the misordered pairs (ties ½) over
    the pairs."""
    wrong = pair_weight * (0.5 - 0.5 * ops.sign(ops.stop_gradient(difference)))
    return Ratio(ops.sum(wrong, axis=axis), ops.sum(pair_weight, axis=axis))


def _pairwise_terms(name, pair_loss, y_true, y_pred, temperature):
    labels, scores, valid = _ranking_inputs(y_true, y_pred)
    pair_weight, difference = _pairs(labels, scores, valid)
    return Terms(
        values={name: ops.sum(pair_weight * pair_loss(difference / temperature), axis=-1)},
        diagnostics={"misordered_pairs": lambda: _misordered(pair_weight, difference)},
    )


def pairwise_logistic_terms(y_true, y_pred, temperature=1.0):
    return _pairwise_terms(
        "pairwise_logistic", lambda x: ops.softplus(-x), y_true, y_pred, temperature
    )


def pairwise_hinge_terms(y_true, y_pred, temperature=1.0):
    return _pairwise_terms(
        "pairwise_hinge", lambda x: ops.relu(1.0 - x), y_true, y_pred, temperature
    )


def pairwise_soft_zero_one_terms(y_true, y_pred, temperature=1.0):
    return _pairwise_terms(
        "pairwise_soft_zero_one", lambda x: ops.sigmoid(-x), y_true, y_pred, temperature
    )


def pairwise_squared_error_terms(y_true, y_pred):
    """Per item [B, L]: `pairwise_squared_error` in O(L) per list, not over the [L, L] pairs.

    With r = y − s and the valid items' mean r̄ of each list (V of them), every pair term
    ((y_i − y_j) − (s_i − s_j))² = (r_i − r_j)², and (the j = i term being 0)
        Σ_{j valid} (r_i − r_j)² = V·(r_i − r̄)² + Σ_{j valid} (r_j − r̄)².
    The sum is the same for any shift common to a list, so y and s are first centred on their own
    list means: r then carries the spread of the list, not the rounding of y − s at the scores'
    magnitude (s near 1e4 would round each r_i to 1e-3 in float32), and no two large sums cancel."""
    labels, scores, valid = _ranking_inputs(y_true, y_pred)
    weight = ops.cast(valid, scores.dtype)
    count = ops.sum(weight, axis=-1, keepdims=True)

    def list_mean(x):
        return ops.sum(ops.where(valid, x, 0.0), axis=-1, keepdims=True) / ops.maximum(count, 1.0)

    # the scores' mean shifts every item alike: no gradient flows through it
    residual = (labels - list_mean(labels)) - (scores - ops.stop_gradient(list_mean(scores)))
    residual = ops.where(valid, residual - list_mean(residual), 0.0)
    squares = ops.square(residual)
    return Terms(
        values={"pairwise_squared_error": weight * (count * squares + ops.sum(squares, axis=-1, keepdims=True))},
        diagnostics={"misordered_pairs": lambda: _misordered(*_pairs(labels, scores, valid))},
    )


def _descending_by_top_k(keys):
    return ops.top_k(keys, k=ops.shape(keys)[1], sorted=True)[1]


def _descending_by_argsort(keys):
    return ops.argsort(-keys, axis=1)


# The order of each row's keys, largest first, ties in list order. Both are stable where chosen:
# XLA's and TensorFlow's top_k put the lower index first on ties; under jax.jit the ListMLE step
# with top_k (as keras-rs sorts) runs 0.99x keras-rs' time against 1.06x with argsort, on
# TensorFlow both 1.00x (benchmarks/bench_beyond.py). torch.topk keeps no order on ties, so
# PyTorch takes Keras' stable argsort.
_descending_order = _descending_by_argsort if keras.backend.backend() == "torch" else _descending_by_top_k


def list_mle_terms(y_true, y_pred, temperature=1.0):
    """Per list [B]: `list_mle` (see the module docstring), diagnostic `misordered_pairs`."""
    labels, scores, valid = _ranking_inputs(y_true, y_pred)
    order = _descending_order(ops.where(valid, labels, _LIST_MLE_PAD))
    sorted_valid = ops.take_along_axis(valid, order, axis=1)
    sorted_scores = ops.take_along_axis(ops.where(valid, scores, _LIST_MLE_PAD), order, axis=1)
    sorted_scores = sorted_scores / temperature
    has_valid = ops.any(valid, axis=1, keepdims=True)
    largest = ops.max(ops.where(sorted_valid, sorted_scores, _LIST_MLE_PAD), axis=1, keepdims=True)
    shifted = sorted_scores - ops.where(has_valid, largest, 0.0)
    shifted = ops.where(sorted_valid, shifted, _LIST_MLE_PAD)
    tail_sums = ops.flip(ops.cumsum(ops.flip(ops.exp(shifted), axis=1), axis=1), axis=1)
    log_probs = ops.where(sorted_valid, shifted - ops.log(tail_sums + _LIST_MLE_EPSILON), 0.0)
    return Terms(
        values={"list_mle": -ops.sum(log_probs, axis=1)},
        # the pairs cost [B, L, L]: built only when the diagnostic is wanted
        diagnostics={"misordered_pairs": lambda: _misordered(*_pairs(labels, scores, valid), axis=(1, 2))},
    )


def _check_temperature(temperature):
    temperature = _checks.check_non_negative("temperature", temperature)
    if temperature == 0.0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return temperature


class _RankingLoss(ComponentLoss):
    """A ranking loss of one component `term`, computed by `terms_function(y_true, y_pred, τ)`."""

    diagnostic_names = ("misordered_pairs",)
    term = None
    terms_function = None

    def __init__(self, temperature, reduction, name, dtype):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.temperature = _check_temperature(temperature)

    @property
    def component_weights(self):
        return {self.term: 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return self.terms_function(y_true, y_pred, self.temperature)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


@register
class PairwiseLogisticLoss(_RankingLoss):
    """Pairwise logistic (RankNet) loss: each more relevant item should outscore each less relevant.

    Formula (per item i of a list; pairs with y_i > y_j, both valid; τ = temperature):
        pairwise_logistic_i = Σ_j log(1 + exp(−(s_i − s_j)/τ))
        loss = pairwise_logistic
        misordered_pairs = share of those pairs with s_i < s_j (ties ½)     (diagnostic)

    Args:
        temperature: τ > 0, dividing the score differences.

    Same values and gradients as `keras_rs.losses.PairwiseLogisticLoss`.

    Example:
    >>> PairwiseLogisticLoss()([[1.0, 0.0]], [[0.0, 0.0]])   # mean(log 2, 0) = 0.34657
    """

    term = "pairwise_logistic"
    terms_function = staticmethod(pairwise_logistic_terms)

    def __init__(
        self, temperature=1.0, reduction="sum_over_batch_size", name="pairwise_logistic_loss",
        dtype=None,
    ):
        super().__init__(temperature, reduction, name, dtype)


@register
class PairwiseHingeLoss(_RankingLoss):
    """Pairwise hinge loss: each more relevant item should outscore each less relevant one by 1.

    Formula (per item i; pairs with y_i > y_j, both valid; τ = temperature):
        pairwise_hinge_i = Σ_j max(1 − (s_i − s_j)/τ, 0)
        loss = pairwise_hinge
        misordered_pairs = share of those pairs with s_i < s_j (ties ½)     (diagnostic)

    Args:
        temperature: τ > 0, dividing the score differences.

    Same values and gradients as `keras_rs.losses.PairwiseHingeLoss`.

    Example:
    >>> PairwiseHingeLoss()([[1.0, 0.0]], [[0.0, 0.0]])   # mean(1, 0) = 0.5
    """

    term = "pairwise_hinge"
    terms_function = staticmethod(pairwise_hinge_terms)

    def __init__(
        self, temperature=1.0, reduction="sum_over_batch_size", name="pairwise_hinge_loss",
        dtype=None,
    ):
        super().__init__(temperature, reduction, name, dtype)


@register
class PairwiseSoftZeroOneLoss(_RankingLoss):
    """Pairwise soft zero-one loss: a sigmoid-smoothed count of the misordered pairs.

    Formula (per item i; pairs with y_i > y_j, both valid; τ = temperature):
        pairwise_soft_zero_one_i = Σ_j sigmoid(−(s_i − s_j)/τ)
        loss = pairwise_soft_zero_one
        misordered_pairs = share of those pairs with s_i < s_j (ties ½)     (diagnostic)

    Args:
        temperature: τ > 0, dividing the score differences.

    Same values and gradients as `keras_rs.losses.PairwiseSoftZeroOneLoss`.

    Example:
    >>> PairwiseSoftZeroOneLoss()([[1.0, 0.0]], [[0.0, 0.0]])   # mean(0.5, 0) = 0.25
    """

    term = "pairwise_soft_zero_one"
    terms_function = staticmethod(pairwise_soft_zero_one_terms)

    def __init__(
        self, temperature=1.0, reduction="sum_over_batch_size",
        name="pairwise_soft_zero_one_loss", dtype=None,
    ):
        super().__init__(temperature, reduction, name, dtype)


@register
class PairwiseMeanSquaredError(_RankingLoss):
    """Pairwise squared error: score differences should equal label differences.

    Formula (per item i; every other valid item j of its list):
        pairwise_squared_error_i = Σ_{j ≠ i} ((y_i − y_j) − (s_i − s_j))²
        loss = pairwise_squared_error
        misordered_pairs = share of the pairs y_i > y_j with s_i < s_j (ties ½)   (diagnostic)

    Args:
        temperature: kept for keras-rs' signature; this loss does not use it (as in keras-rs).

    Same values and gradients as `keras_rs.losses.PairwiseMeanSquaredError`.

    Example:
    >>> PairwiseMeanSquaredError()([[1.0, 0.0]], [[0.0, 0.0]])   # mean(1, 1) = 1.0
    """

    term = "pairwise_squared_error"

    def __init__(
        self, temperature=1.0, reduction="sum_over_batch_size", name="pairwise_mean_squared_error",
        dtype=None,
    ):
        super().__init__(temperature, reduction, name, dtype)

    def terms(self, y_true, y_pred, with_entropy=False):
        return pairwise_squared_error_terms(y_true, y_pred)


@register
class ListMLELoss(_RankingLoss):
    """ListMLE: the negative log-likelihood of the labels' order under a Plackett-Luce model.

    Formula (per list; the valid items sorted by label, descending, ties in list order; τ = temperature):
        list_mle = −Σ_k log( exp(s_k/τ) / Σ_{l ≥ k} exp(s_l/τ) )
        loss = list_mle
        misordered_pairs = share of the pairs y_i > y_j with s_i < s_j (ties ½)   (diagnostic)

    Args:
        temperature: τ > 0, dividing the scores.

    Same values and gradients as `keras_rs.losses.ListMLELoss` (its 1e-10 added to each
    normaliser included). A sample weight weighs whole lists ([B]).

    Example:
    >>> ListMLELoss()([[1.0, 0.0]], [[0.0, 0.0]])   # −log ½ − log 1 = 0.69315
    """

    term = "list_mle"
    terms_function = staticmethod(list_mle_terms)

    def __init__(
        self, temperature=1.0, reduction="sum_over_batch_size", name="list_mle_loss", dtype=None
    ):
        super().__init__(temperature, reduction, name, dtype)


__all__ = [
    "ListMLELoss", "PairwiseHingeLoss", "PairwiseLogisticLoss", "PairwiseMeanSquaredError",
    "PairwiseSoftZeroOneLoss",
]
