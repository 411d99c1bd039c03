"""The once-per-log_dir dashboard records: a custom-scalars layout, the component weights the
kerasloss tab stacks its bands with (`kerasloss_tensorboard.summary_v2`), and an hparams record.

Both go to the log_dir's own run (".") so that the HParams dashboard sees the log_dir as one session
whose metrics live in its `train` and `validation` runs (`hp_summary.Metric(tag, group="train")`).

Custom scalars ("Custom Scalars" tab):
    "Loss components" / "loss/ tags, train and validation"  regex  ^(?!batch/)(.*/)?loss/
    "Post-hoc metrics" / "metrics/ tags"                      regex  ^metrics/

HParams ("HParams" tab), from the compiled loss (per output `<output>/` and per part `<part>/`):
    loss (class name; a function's name for a compiled function or a `LossFunctionWrapper` of one)
    and every argument of its config: reduction, from_logits, label_smoothing,
    gamma, alpha, delta, beta, axis, ... (None as "none", lists as JSON text)
and as metrics the tags the callbacks on this log_dir registered (`LogDir.add_hparams_metrics`):
    train, validation  loss/total                  (LossComponentLogger)
    validation         [<output>/]entropy/mean     (PredictionEntropyLogger)
    posthoc            metrics/<name>[/<i>]        (PostHocMetrics)
"""

import json
import time

import numpy as np
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import metadata as custom_scalar_metadata
from tensorboard.plugins.hparams import summary_v2 as hp_summary
from tensorboard.util import tensor_util

from kerasloss._keras_compat import LossFunctionWrapper
from kerasloss.base import CompositeLoss
from kerasloss.callbacks import summaries
from kerasloss.callbacks._model_info import output_losses
from kerasloss_tensorboard import summary_v2 as plugin_summary

LOSS_CHART_REGEX = r"^(?!batch/)(.*/)?loss/"
METRICS_CHART_REGEX = r"^metrics/"


def _category(title, chart_title, tag_regex):
    """A custom-scalars category holding one multiline chart of the tags matching `tag_regex`."""
    chart = layout_pb2.Chart(
        title=chart_title, multiline=layout_pb2.MultilineChartContent(tag=[tag_regex])
    )
    return layout_pb2.Category(title=title, chart=[chart])


def layout():
    """The custom-scalars `Layout` proto: a "Loss components" chart over train and validation."""
    return layout_pb2.Layout(
        category=[
            _category("Loss components", "loss/ tags, train and validation", LOSS_CHART_REGEX),
            _category("Post-hoc metrics", "metrics/ tags", METRICS_CHART_REGEX),
        ]
    )


def layout_pb():
    """The `Summary` holding `layout()`, as `custom_scalar.summary.pb` builds it but without TensorFlow."""
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=custom_scalar_metadata.CONFIG_SUMMARY_TAG,
        metadata=custom_scalar_metadata.create_summary_metadata(),
        tensor=tensor_util.make_tensor_proto(np.array(layout().SerializeToString(), dtype=object)),
    )
    return summary


# configuration keys that are no argument of the loss's formula (or are recorded otherwise)
_NOT_HPARAMS = ("name", "dtype", "component", "losses", "weights")


def _hparam_value(value):
    """A config value as an hparam (bool, number or string): None is "none", the rest its JSON."""
    if value is None:
        return "none"
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True, default=repr)


def _loss_config(loss, prefix=""):
    """{hparam: value}: the loss's class and every argument of its config (focal gamma and alpha,
    Huber delta, Tversky alpha and beta, ...); a wrapped Keras loss's own arguments; a composite's
    parts under `<part>/` with their weights."""
    if loss is None:
        return {}
    if isinstance(loss, str):  # compile(loss="mse")
        return {f"{prefix}loss": loss}
    config = {f"{prefix}loss": _loss_name(loss)}
    if isinstance(loss, CompositeLoss):
        for name, (part, weight) in loss.parts.items():
            config[f"{prefix}{name}/weight"] = float(weight)
            config.update(_loss_config(part, f"{prefix}{name}/"))
        return config
    try:
        settings = dict(loss.get_config() or {})
    except (AttributeError, NotImplementedError, TypeError):
        settings = {}
    wrapped = settings.pop("loss", None)
    if isinstance(wrapped, dict):  # WrappedLoss: the Keras loss's name and arguments
        config[f"{prefix}loss"] = _loss_name(loss.loss)
        settings = {**(wrapped.get("config") or {}), **settings}
    for key, value in sorted(settings.items()):
        if key not in _NOT_HPARAMS and key != "fn":
            config[f"{prefix}{key}"] = _hparam_value(value)
    return config


def _loss_name(loss):
    """A loss object's class name; for a function (compiled bare, or in Keras' `LossFunctionWrapper`,
    as `kerasloss.wrap` puts one) the function's name, which tells `mae` from `mse` where the class
    would not."""
    function = loss.fn if type(loss) is LossFunctionWrapper else loss
    return getattr(function, "__name__", None) or type(loss).__name__


def loss_hparams(model):
    """{hparam name: value} describing the model's compiled loss configuration."""
    config = {}
    for output, loss, weight in output_losses(model):
        prefix = f"{output}/" if output else ""
        config.update(_loss_config(loss, prefix))
        if output:
            config[f"{prefix}loss_weight"] = weight
    return config


def write_once(log, model):
    """Write the layout and the hparams record into `log` (a `summaries.LogDir`) unless already there.

    The record's metrics are those registered with `log` so far: call it once every callback on
    the log_dir has registered (the callbacks do at their first `on_epoch_begin`).
    """
    if log.dashboards_written or log.has_root_record():
        log.dashboards_written = True
        return
    hparams = loss_hparams(model)
    blobs = [
        layout_pb().SerializeToString(),
        plugin_summary.component_weights_pb(component_weights(model)).SerializeToString(),
    ]
    if hparams:
        metrics = [
            hp_summary.Metric(tag, group=run, display_name=display_name)
            for (run, tag), display_name in log.hparams_metrics.items()
        ]
        config = hp_summary.hparams_config_pb([hp_summary.HParam(name) for name in hparams], metrics)
        blobs.append(config.SerializeToString())
        blobs.append(hp_summary.hparams_pb(hparams, start_time_secs=time.time()).SerializeToString())
    log.dashboards_written = log.write_raw(summaries.ROOT, 0, blobs)


def component_weights(model):
    """{"outputs": [{"output", "loss_weight", "weights": {component: w}}]} of the compiled model:
    the record the tab stacks its bands with (`kerasloss_tensorboard.summary_v2`)."""
    outputs = []
    for output, loss, loss_weight in output_losses(model):
        weights = getattr(loss, "component_weights", None)
        outputs.append({
            "output": output,
            "loss_weight": float(loss_weight),
            "weights": {name: float(w) for name, w in (weights or {}).items()},
        })
    return {"outputs": outputs}
