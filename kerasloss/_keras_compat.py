"""The few private Keras helpers we rely on, imported in one place.

Keras keeps the mask attribute and the `tf.distribute` loss scaling private; we reuse them so that
our losses reduce exactly as `keras.losses` do under masks and distribution strategies.
"""

from keras.src.backend.common.masking import get_keras_mask
from keras.src.losses.loss import scale_loss_for_distribution
from keras.src.losses.loss import unscale_loss_for_distribution

__all__ = ["get_keras_mask", "scale_loss_for_distribution", "unscale_loss_for_distribution"]
