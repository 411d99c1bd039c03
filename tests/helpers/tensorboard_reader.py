"""Read event files back with TensorBoard's own reader (the one the dashboard uses)."""

import os

from tensorboard.backend.event_processing import plugin_event_multiplexer as multiplexer_lib
from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator
from tensorboard.util import tensor_util


def load(log_dir):
    """An `EventMultiplexer` over every run under `log_dir`, fully reloaded."""
    multiplexer = multiplexer_lib.EventMultiplexer(size_guidance={TENSORS: 0})
    multiplexer.AddRunsFromDirectory(os.fspath(log_dir))
    multiplexer.Reload()
    return multiplexer


def runs(log_dir):
    return sorted(load(log_dir).Runs())


def scalars(log_dir, run):
    """{tag: [(step, value), ...]} of the scalar tags of `run` (tf.summary v2 writes tensors)."""
    return _scalars(load(log_dir).GetAccumulator(run))


def read_run(run_dir):
    """(scalars {tag: [(step, value)]}, accumulator) of the one run in `run_dir`."""
    accumulator = EventAccumulator(os.fspath(run_dir), size_guidance={TENSORS: 0})
    accumulator.Reload()
    return _scalars(accumulator), accumulator


def _scalars(accumulator):
    out = {}
    for tag in accumulator.Tags()[TENSORS]:
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        out[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in accumulator.Tensors(tag)]
    return out


def all_scalars(log_dir):
    """{run: {tag: [(step, value)]}} for every run."""
    multiplexer = load(log_dir)
    return {run: _scalars(multiplexer.GetAccumulator(run)) for run in multiplexer.Runs()}


def plugin_tags(log_dir, run, plugin_name):
    accumulator = load(log_dir).GetAccumulator(run)
    return sorted(
        tag
        for tag in accumulator.Tags()[TENSORS]
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == plugin_name
    )


def histograms(log_dir, run, tag):
    """[(step, ndarray of [left, right, count] buckets)] of a histogram tag."""
    accumulator = load(log_dir).GetAccumulator(run)
    return [(e.step, tensor_util.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors(tag)]


def json_texts(log_dir, run, tag):
    """[(step, JSON text)] of a tag whose tensors hold one JSON string (the kerasloss records)."""
    accumulator = load(log_dir).GetAccumulator(run)
    return [(e.step, tensor_util.make_ndarray(e.tensor_proto).item().decode("utf-8")) for e in accumulator.Tensors(tag)]


def event_files(log_dir, run):
    path = os.path.join(os.fspath(log_dir), run)
    return sorted(name for name in os.listdir(path) if "tfevents" in name)


def hparams_metrics(log_dir, run="."):
    """{(group, tag): display name} of the metrics in the hparams experiment config of `run`."""
    from tensorboard.plugins.hparams import metadata

    accumulator = load(log_dir).GetAccumulator(run)
    content = accumulator.SummaryMetadata(metadata.EXPERIMENT_TAG).plugin_data.content
    experiment = metadata.parse_experiment_plugin_data(content)
    return {(m.name.group, m.name.tag): m.display_name for m in experiment.metric_infos}
