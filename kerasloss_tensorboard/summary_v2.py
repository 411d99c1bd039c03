"""The writer side of the plugin's own summaries: the weights a model's loss adds its components
with, `ExampleLedger`'s per-epoch record (`ledger_pb`), and a classifier's reliability record
(`reliability_pb`, `confidence_histogram_pb`).

The "kerasloss" tab draws w_k · loss/<component k> as bands stacked up to loss/total; the weights
w_k (`ComponentLoss.component_weights`) and, for multi-output models, the loss weights λ_o are not
in any scalar tag, so they are written once per log_dir into its own run "." (see
`metadata.COMPONENT_WEIGHTS_TAG` for the JSON form). Without this record the tab estimates them by
least squares from the logged values and says so.

Example (what `dashboards.write_once` writes with the layout and the hparams record):
>>> record = {"outputs": [{"output": None, "loss_weight": 1.0, "weights": {"cross_entropy": 0.9}}]}
>>> blob = component_weights_pb(record).SerializeToString()
>>> summaries.open_log_dir("runs/a").write_raw(summaries.ROOT, 0, [blob])
"""

import json

import numpy as np
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from kerasloss_tensorboard import metadata


def component_weights_pb(record):
    """A `Summary` proto holding `record` ({"outputs": [{"output", "loss_weight", "weights"}]}) as
    JSON, for the plugin to read."""
    return _json_pb(metadata.COMPONENT_WEIGHTS_TAG, json.dumps(record, sort_keys=True))


def ledger_pb(record, output=None):
    """A `Summary` proto holding an `ExampleLedger` record (see `metadata` for its form) as JSON,
    tag `metadata.ledger_record_tag(output)` (numbers finite or null: strict JSON for the tab)."""
    text = json.dumps(record, sort_keys=True, allow_nan=False)
    return _json_pb(metadata.ledger_record_tag(output), text)


def _json_pb(tag, text):
    summary_metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=metadata.PLUGIN_NAME, content=metadata.CONTENT_VERSION
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=tag,
        metadata=summary_metadata,
        tensor=tensor_util.make_tensor_proto(np.array(text.encode("utf-8"), dtype=object)),
    )
    return summary


def reliability_pb(record, target=None):
    """A `Summary` proto holding a reliability record as JSON, tag `metadata.RELIABILITY_TAG`:
    {"columns": `metadata.RELIABILITY_COLUMNS`, "bins": [[lower, upper, count, confidence,
    accuracy]], "target": the confidence a smoothed loss's target asks for, or null}; a value that
    is not finite (predictions of a diverged model) as null."""
    rows = nulls_for_non_finite(np.asarray(record, dtype=np.float64))
    text = json.dumps({"columns": list(metadata.RELIABILITY_COLUMNS), "bins": rows, "target": target},
                      allow_nan=False)
    return _json_pb(metadata.RELIABILITY_TAG, text)


def nulls_for_non_finite(values):
    """Nested lists of the float array `values`, NaN and ±inf as None: null in strict JSON, as the
    records' readers (the tab, `kerasloss summary`) take it. NaN is no value (an epoch an example was
    not tracked, a loss without margins); NaN and ±inf also come from a model whose training
    diverged, and its records must still be written."""
    listed = values.astype(object)
    listed[~np.isfinite(values)] = None
    return listed.tolist()


def confidence_histogram_pb(record):
    """A `Summary` proto of TensorBoard's histogram format ([k, 3] of left, right, count) over the
    reliability record's bins (`metadata.CONFIDENCE_TAG`); the bin [1, 1] joins the last one."""
    from tensorboard.plugins.histogram import metadata as histogram_metadata

    record = np.asarray(record, dtype=np.float64)
    buckets = record[:, :3].copy()
    if len(buckets) > 1 and buckets[-1, 0] == buckets[-1, 1]:
        buckets[-2, 2] += buckets[-1, 2]
        buckets = buckets[:-1]
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=metadata.CONFIDENCE_TAG,
        metadata=histogram_metadata.create_summary_metadata(display_name=None, description=None),
        tensor=tensor_util.make_tensor_proto(buckets),
    )
    return summary
