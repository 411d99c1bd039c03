"""The per-element result every loss computes before reduction."""

from typing import NamedTuple, Optional


class Terms(NamedTuple):
    """Per-element loss terms of one call.

    values:  component name -> per-element tensor (before sample weights, masks and reduction).
    mask:    boolean tensor of the same shape, False where an element is ignored, or None.
    entropy: per-element prediction entropy when it was asked for and is free to compute, or None.
    """

    values: dict
    mask: Optional[object] = None
    entropy: Optional[object] = None
