"""The per-element result every loss computes before reduction."""

from typing import NamedTuple, Optional


class Terms(NamedTuple):
    """Per-element loss terms of one call.

    values:      component name -> per-element tensor (before sample weights, masks and reduction).
    mask:        boolean tensor of the same shape, False where an element is ignored, or None.
    entropy:     per-element prediction entropy when it was asked for and is free to compute, or None.
    diagnostics: diagnostic name -> per-element tensor (same shape as the values): quantities of the
                 same pass that explain training but are not part of the total (e.g. Huber's
                 `linear_fraction`, 1.0 where the error is in the linear zone). Reduced as weighted
                 means (sample weights and mask, never divided by replicas), logged as
                 `diagnostics/<name>`. Must cost no more than an element-wise op on values the
                 loss computes anyway; never differentiated (wrap in `ops.stop_gradient`).
    """

    values: dict
    mask: Optional[object] = None
    entropy: Optional[object] = None
    diagnostics: Optional[dict] = None
