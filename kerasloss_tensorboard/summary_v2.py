"""The writer side of the plugin's own summaries: the weights a model's loss adds its components
with, and a classifier's reliability record (`reliability_pb`, `confidence_histogram_pb`).

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
    text = json.dumps(record, sort_keys=True).encode("utf-8")
    summary_metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=metadata.PLUGIN_NAME, content=metadata.CONTENT_VERSION
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=metadata.COMPONENT_WEIGHTS_TAG,
        metadata=summary_metadata,
        tensor=tensor_util.make_tensor_proto(np.array(text, dtype=object)),
    )
    return summary


def reliability_pb(record, target=None):
    """A `Summary` proto of a reliability record (`metadata.RELIABILITY_TAG`): the [bins, 5] array
    of `metadata.RELIABILITY_COLUMNS` as a float64 tensor, and `target` (the confidence a smoothed
    loss's target asks for, or None) in its plugin content."""
    content = json.dumps({"columns": list(metadata.RELIABILITY_COLUMNS), "target": target}).encode("utf-8")
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=metadata.RELIABILITY_TAG,
        metadata=summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME, content=content),
            data_class=summary_pb2.DATA_CLASS_TENSOR,
        ),
        tensor=tensor_util.make_tensor_proto(np.asarray(record, dtype=np.float64)),
    )
    return summary


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
