"""The writer side of the plugin's own summary: the weights a model's loss adds its components with.

The "kerasloss" tab draws w_k · loss/<component k> as bands stacked up to loss/total; the weights
w_k (`ComponentLoss.component_weights`) and, for multi-output models, the loss weights λ_o are not
in any scalar tag, so they are written once per log_dir into its own run "." (see
`metadata.COMPONENT_WEIGHTS_TAG` for the JSON form). Without this record the tab estimates them by
least squares from the logged values and says so.

Example (what `dashboards.write_once` writes with the layout and the hparams record):
>>> blob = component_weights_pb(model).SerializeToString()
>>> summaries.open_log_dir("runs/a").write_raw(summaries.ROOT, 0, [blob])
"""

import json

import numpy as np
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from kerasloss.callbacks._model_info import output_losses
from kerasloss.tensorboard_plugin import metadata


def component_weights(model):
    """{"outputs": [{"output", "loss_weight", "weights": {component: w}}]} of the compiled model."""
    outputs = []
    for output, loss, loss_weight in output_losses(model):
        weights = getattr(loss, "component_weights", None)
        outputs.append({
            "output": output,
            "loss_weight": float(loss_weight),
            "weights": {name: float(w) for name, w in (weights or {}).items()},
        })
    return {"outputs": outputs}


def component_weights_pb(model):
    """A `Summary` proto holding `component_weights(model)` as JSON, for the plugin to read."""
    text = json.dumps(component_weights(model), sort_keys=True).encode("utf-8")
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
