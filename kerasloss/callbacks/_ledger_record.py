"""The TensorBoard ledger record `ExampleLedger` writes at each evaluated epoch (its form:
`kerasloss_tensorboard.metadata`): the top_k rows with their trajectories, the cartography points
and the automatic cut's size, as JSON-ready Python values.

A record stays O(top_k) however long the run: the trajectories hold at most `TRAJECTORY_POINTS`
evaluated epochs, evenly spaced (the first and the last included), and the cartography at most
`CARTOGRAPHY_POINTS` examples, evenly spaced in data order.
"""

import numpy as np

from kerasloss.callbacks._ledger_stats import FIELDS, mixture_cut
from kerasloss_tensorboard.summary_v2 import nulls_for_non_finite

CARTOGRAPHY_POINTS = 5000
TRAJECTORY_POINTS = 100
_CLASSES = ("label", "predicted")  # the integer fields (-1 without classes)


def ledger_record(stats, ids, output):
    """The record of `stats` (`_ledger_stats.RunningStats`) as it is now, `ids` one per example,
    `output` the output followed (None: the model's only one)."""
    fields = stats.fields()
    columns = evenly(len(stats.epochs), TRAJECTORY_POINTS)
    traj = {name: json_numbers(values[:, columns]) for name, values in stats.trajectories().items()}
    classes = np.stack([fields[name][stats.top] for name in _CLASSES], axis=-1).tolist()
    values = json_numbers(np.stack([fields[name][stats.top] for name in FIELDS[2:]], axis=-1))
    rows = [{"id": _plain(ids[i]), **dict(zip(_CLASSES, pair)), **dict(zip(FIELDS[2:], row)),
             "loss": loss, "margin": margin}
            for i, pair, row, loss, margin in zip(stats.top.tolist(), classes, values, traj["loss"], traj["margin"])]
    cartography = suspects = None
    if stats.classifier:
        points = evenly(stats.size, CARTOGRAPHY_POINTS)
        cartography = {name: nulls_for_non_finite(np.round(fields[name][points], 4))
                       for name in ("confidence", "variability", "correctness")}
        suspects = int(mixture_cut(stats.aum()).sum())
    return {"output": output, "epochs": stats.epochs, "size": stats.size,
            "trajectory_epochs": [stats.epochs[c] for c in columns.tolist()],
            "classifier": stats.classifier, "suspects": suspects, "rows": rows, "cartography": cartography}


def evenly(count, at_most):
    """At most `at_most` evenly spaced indices of `count` items, the first and the last included."""
    return np.linspace(0, count - 1, min(count, at_most)).astype(np.int64)


def _plain(value):
    """A JSON-ready Python scalar (an int or string id)."""
    return value.item() if hasattr(value, "item") else value


def json_numbers(values):
    """Nested lists of the numbers of array `values` for JSON: rounded to 6 significant digits,
    round(v · s) / s with s = 10^(5 - ⌊log10 |v|⌋) (float(f"{v:.6g}") up to a tie in the sixth
    digit, vectorised: 15x faster on a record's 6,800 values), non-finite values as None
    (`summary_v2.nulls_for_non_finite`)."""
    values = np.asarray(values, np.float64)
    magnitude = np.abs(values)
    scaled = np.isfinite(values) & (magnitude > 1e-290)  # 0, ±inf and |v| <= 1e-290 stay as they are
    with np.errstate(over="ignore", invalid="ignore"):
        scale = 10.0 ** (5 - np.floor(np.log10(np.where(scaled, magnitude, 1.0))))
        return nulls_for_non_finite(np.where(scaled, np.round(values * scale) / scale, values))
