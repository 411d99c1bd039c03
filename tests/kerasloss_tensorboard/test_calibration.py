"""The plugin's `calibration` route: every log_dir's reliability records, as PostHocMetrics wrote them."""

import numpy as np
import pytest

from tests.helpers import tensorboard_reader
from tests.kerasloss_tensorboard.test_plugin import _client, _get, logged  # noqa: F401  (the fixture)

pytestmark = pytest.mark.backend_neutral


def test_calibration_serves_each_log_dir_s_records_with_their_smoothing_target(logged):  # noqa: F811
    client, _ = _client(logged)
    groups = {g["name"]: g["records"] for g in _get(client, "/calibration")["groups"]}
    assert set(groups) == {"ls0.0", "ls0.1"}
    assert [r["step"] for r in groups["ls0.1"]] == [0, 1, 2] and [r["step"] for r in groups["ls0.0"]] == [0, 1]
    assert groups["ls0.1"][-1]["target"] == pytest.approx(1 - 0.1 + 0.1 / 3) and groups["ls0.0"][-1]["target"] is None
    bins = np.array(groups["ls0.1"][-1]["bins"])
    assert groups["ls0.1"][-1]["columns"] == ["lower", "upper", "count", "confidence", "accuracy"]
    assert bins.shape == (16, 5) and bins[:, 2].sum() == 48
    share = bins[:, 2] / bins[:, 2].sum()
    ece = dict(tensorboard_reader.scalars(logged, "ls0.1/posthoc")["metrics/ece"])[2]
    assert (share * np.abs(bins[:, 4] - bins[:, 3])).sum() == pytest.approx(ece, abs=1e-6)


def test_calibration_is_empty_without_records(tmp_path):
    client, _ = _client(tmp_path)
    assert _get(client, "/calibration") == {"groups": []}
