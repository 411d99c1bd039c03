"""The kerasloss plugin's name, its own summary's tag, and which of our tags it reads.

Tags are those `kerasloss.callbacks.summaries` writes (names from `kerasloss.callbacks.tags`);
`parse_tag` sorts an epoch-level tag into what the dashboard draws:

    [<output>/]loss/<component>           ("loss", output, component)   component may be
                                                                         "total" or "regularization"
    [<output>/]entropy/<stat>             ("entropy", output, stat)
    [<output>/]diagnostics/<name>         ("diagnostics", output, name)
    metrics/<name>[/<i>]                  ("metrics", None, "<name>[/<i>]")

`batch/` tags and any other tag give None: the plugin never reads them.

The plugin's own summary (written once into a log_dir's own run "."), tag `COMPONENT_WEIGHTS_TAG`,
holds the weights the loss adds its components with, as JSON text:

    {"outputs": [{"output": null | "<name>", "loss_weight": λ, "weights": {"<component>": w_k}}]}
"""

from kerasloss.callbacks import tags

PLUGIN_NAME = "kerasloss"
COMPONENT_WEIGHTS_TAG = "kerasloss/component_weights"
CONTENT_VERSION = b"1"
SCALARS_PLUGIN = "scalars"
HISTOGRAMS_PLUGIN = "histograms"

_KINDS = {
    tags.LOSS_PREFIX: "loss",
    tags.ENTROPY_PREFIX: "entropy",
    tags.DIAGNOSTICS_PREFIX: "diagnostics",
}


def parse_tag(tag):
    """(kind, output or None, name) of one of our epoch-level tags, or None for any other tag."""
    if tag.startswith(tags.BATCH_PREFIX):
        return None
    if tag.startswith(tags.METRICS_PREFIX):
        name = tag[len(tags.METRICS_PREFIX):]
        return ("metrics", None, name) if name else None
    for prefix, kind in _KINDS.items():
        head, sep, name = tag.rpartition(prefix)
        if sep and name and "/" not in name and (head == "" or head.endswith("/")):
            output = head[:-1] or None
            if kind == "entropy" and name not in tags.ENTROPY_STATS:
                return None
            return kind, output, name
    return None


def split_run(run):
    """(group, role) of a TensorBoard run: "ls_0.1/train" -> ("ls_0.1", "train"); None if not ours.

    A group is one log_dir (its runs train, validation, posthoc); "" is the served log_dir itself.
    """
    group, _, role = run.rpartition("/")
    return (group, role) if role in tags.RUNS else None


def root_run(group):
    """The run holding a group's own records (hparams, component weights): the log_dir itself."""
    return group or tags.ROOT
