"""Per-sequence CTC (Connectionist Temporal Classification, Graves et al., 2006) loss.

    ctc = -log Σ_{alignments a of y} Π_t softmax(y_pred[t])[a_t]

y_true [B, L] holds integer labels padded with the blank 0 (the label length is the count of
non-zero entries); y_pred [B, T, C] holds logits, every one of the T frames used. The sum over
alignments is `keras.ops.ctc_loss` (each backend's own kernel), as `keras.losses.CTC` computes it.

The class below it: `CTC`, drop-in for `keras.losses.CTC`.
"""

from keras import ops

from kerasloss import _checks
from kerasloss.base import SingleTermLoss, Terms, register

BLANK = 0


def ctc_terms(y_true, y_pred):
    """Terms with the per-sequence `ctc` [B]; ranks other than y_true [B, L], y_pred [B, T, C]
    raise ValueError (Keras' messages)."""
    y_true = ops.convert_to_tensor(y_true)
    y_pred = _checks.prepare_predictions(y_pred)
    if len(y_true.shape) != 2:
        raise ValueError(
            "Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in "
            f"integer format. Received: y_true.shape={tuple(y_true.shape)}"
        )
    if len(y_pred.shape) != 3:
        raise ValueError(
            "Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
            f"num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    labels = ops.cast(y_true, "int32")
    batch, frames = ops.shape(y_pred)[0], ops.shape(y_pred)[1]
    label_length = ops.sum(ops.cast(ops.not_equal(labels, BLANK), "int32"), axis=-1)
    input_length = ops.full((batch,), frames, dtype="int32")
    value = ops.ctc_loss(labels, y_pred, label_length, input_length, mask_index=BLANK)
    return Terms(values={"ctc": value})


@register
class CTC(SingleTermLoss):
    """Connectionist Temporal Classification loss of label sequences given per-frame logits.

    Formula (y_true [B, L] labels padded with the blank 0, y_pred [B, T, C] logits):
        ctc  = -log Σ_{alignments a of y} Π_t softmax(y_pred[t])[a_t]
        loss = ctc

    Example:
    >>> CTC()([[1]], [[[0.0, 0.0]]])   # one frame, one alignment: -log ½ = 0.6931
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc_terms, name=name, reduction=reduction, dtype=dtype)


__all__ = ["CTC"]
