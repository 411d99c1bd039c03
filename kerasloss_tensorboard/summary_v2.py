"""The writer side of the plugin's own summaries: the weights a model's loss adds its components
with, and `ExampleLedger`'s per-epoch record (`ledger_pb`).

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

