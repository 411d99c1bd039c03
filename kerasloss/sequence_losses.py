"""CTC, the sequence loss: a thin class over `kerasloss.ctc`, drop-in for `keras.losses.CTC`."""

from kerasloss.ctc import ctc_terms
from kerasloss.losses import register
from kerasloss.single_term import SingleTermLoss


@register
class CTC(SingleTermLoss):
    """Connectionist Temporal Classification loss of label sequences given per-frame logits.

    Formula (y_true [B, L] labels padded with the blank 0, y_pred [B, T, C] logits):
        ctc  = -log Σ_{alignments a of y} Π_t softmax(y_pred[t])[a_t]
        loss = ctc

    Example:
    >>> CTC()([[1]], [[[0.0, 0.0]]])   # one frame, one alignment: -log ½ = 0.6931
    """

    term = "ctc"
    terms_function = staticmethod(ctc_terms)

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


__all__ = ["CTC"]
