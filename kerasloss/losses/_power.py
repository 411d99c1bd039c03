"""Roots and fractional powers x^a (0 < a < 1) of x >= 0 with a finite gradient at x = 0: the
RMSE's and the embedding distances' sqrt, the generalized cross-entropy's p^q, a focal loss's
(1 - p)^γ for γ < 1.

    vanishing_at_zero(f, x) = f(x) where x > 0, else 0;  d/dx = f'(x) where x > 0, else 0

At x = 0 the derivative a·x^(a-1) is infinite. For sqrt there the gradient of 0 is the
subgradient a minimum needs (a zero error, two equal embeddings). For a probability that rounded to
0 or 1 (a softmax or sigmoid output) the derivative of x with respect to the logits is 0 and the
true derivative of x^a with respect to them tends to 0 too, but the chain rule computes inf·0 =
NaN, and one NaN gradient turns every weight NaN at the next step (a training on digits at Adam
5e-3 diverged so, through the generalized cross-entropy). f is applied to x where x > 0 and to 1
elsewhere, and the result set to 0 there: both branches finite (the double-where). Given a
probability of exactly 0 or 1 as input, the derivative with respect to it is infinite; it is 0
here, where Keras' generalized and binary focal cross-entropies give NaN.
"""

from keras import ops


def vanishing_at_zero(function, x):
    """`function(x)` (a root or fractional power) for x >= 0: 0 at x = 0, with a gradient of 0 there."""
    positive = ops.greater(x, 0.0)
    return ops.where(positive, function(ops.where(positive, x, 1.0)), 0.0)


def safe_sqrt(x):
    """sqrt(x) for x >= 0, with a gradient of 0 at x = 0."""
    return vanishing_at_zero(ops.sqrt, x)
