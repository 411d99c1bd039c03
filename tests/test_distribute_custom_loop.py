"""CustomLoopLogger in one process (default strategy): it writes the callbacks' tag scheme."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from tests.helpers import tensorboard_reader
from kerasloss.distribute import CustomLoopLogger

pytestmark = pytest.mark.tensorflow_only


def test_custom_loop_logger_writes_normalized_entropy_and_vector_metrics_like_the_callbacks(tmp_path):
    """Same tags as PredictionEntropyLogger (entropy/normalized) and PostHocMetrics (metrics/<name>/<i>)."""
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    logger = CustomLoopLogger(loss, str(tmp_path), entropy=True, normalize_entropy=True)
    loss(np.array([0, 1]), np.zeros((2, 4), np.float32))  # uniform predictions: normalized entropy 1
    assert logger.write_epoch(0)["entropy/normalized"] == pytest.approx(1.0, rel=1e-6)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    data = tf.data.Dataset.from_tensor_slices(
        (np.eye(3, dtype="float32")[[0, 1, 2, 0]], np.eye(2, dtype="float32")[[0, 1, 1, 0]])
    ).batch(2)
    results = logger.evaluate_posthoc(model, data, [keras.metrics.F1Score()], epoch=0)
    logger.close()
    assert isinstance(results["f1_score"], list) and len(results["f1_score"]) == 2
    written = tensorboard_reader.scalars(str(tmp_path), "posthoc")
    assert {"metrics/f1_score/0", "metrics/f1_score/1"} <= set(written)
    assert "entropy/normalized" in tensorboard_reader.scalars(str(tmp_path), "train")
