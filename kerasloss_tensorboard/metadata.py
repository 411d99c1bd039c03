"""kerasloss' TensorBoard names, the one place for them: plugin, runs, tags (pure Python, nothing heavy).

The callbacks (`kerasloss.callbacks.summaries`) write with these names and the tab (`plugin`,
`series`) reads with them, so both agree by construction. A log_dir is a group of runs: its own
run "." (hparams, layout, the component weights) and train, validation, posthoc. Tag forms:

    [batch/][<output>/]loss/<component | total | regularization>     runs train, validation
    [<output>/]entropy/<mean | normalized | per_example>              runs train, validation
    [<output>/]diagnostics/[<part>/]<name>                            runs train, validation
    metrics/<name>[/<i>]                                              run posthoc
    calibration/reliability, calibration/confidence                   run posthoc (classifiers)
    [<output>/]ledger/<mean_margin | negative_margin_fraction>       run train (`ExampleLedger`)

`parse_tag` sorts an epoch-level tag into what the dashboard draws:

    [<output>/]loss/<component>           ("loss", output, component)   component may be
                                                                         "total" or "regularization"
    [<output>/]entropy/<stat>             ("entropy", output, stat)
    [<output>/]diagnostics/<name>         ("diagnostics", output, name)
    [<output>/]diagnostics/<part>/<name>  ("diagnostics", output, "<part>/<name>")   composite losses
    metrics/<name>[/<i>]                  ("metrics", None, "<name>[/<i>]")
    [<output>/]ledger/<stat>              ("ledger", output, stat)

`batch/` tags and any other tag give None: the plugin never reads them.

The plugin's own summary (written once into a log_dir's own run "."), tag `COMPONENT_WEIGHTS_TAG`,
holds the weights the loss adds its components with, as JSON text:

    {"outputs": [{"output": null | "<name>", "loss_weight": λ, "weights": {"<component>": w_k}}]}

`ExampleLedger` writes at each evaluated epoch its record into the same run, tag
`ledger_record_tag(output)` = `kerasloss/ledger[/<output>]`, as JSON text (NaN and ±inf as null):

    {"output", "epochs": [e...], "size": N, "trajectory_epochs": [e...], "classifier": bool,
     "suspects": n | null,
     "rows": [{"id", "label", "predicted", "aum", "mean_loss", "confidence", "variability",
               "correctness", "loss": [...], "margin": [...]}]      (the top_k, hardest first)
     "cartography": {"confidence": [...], "variability": [...], "correctness": [...]} | null}

A row's "loss" and "margin" hold one value per epoch of "trajectory_epochs": every evaluated epoch,
or 100 of them evenly spaced (the first and the last included) when there are more.
"""

TRAIN = "train"
VALIDATION = "validation"
POSTHOC = "posthoc"
ROOT = "."
RUNS = (TRAIN, VALIDATION, POSTHOC)

TOTAL = "total"
REGULARIZATION = "regularization"
BATCH_PREFIX = "batch/"
LOSS_PREFIX = "loss/"
ENTROPY_PREFIX = "entropy/"
ENTROPY_STATS = ("mean", "normalized", "per_example")
DIAGNOSTICS_PREFIX = "diagnostics/"
METRICS_PREFIX = "metrics/"
LEDGER_PREFIX = "ledger/"
LEDGER_STATS = ("mean_margin", "negative_margin_fraction")

PLUGIN_NAME = "kerasloss"
COMPONENT_WEIGHTS_TAG = "kerasloss/component_weights"
LEDGER_RECORD_TAG = "kerasloss/ledger"
CONTENT_VERSION = b"1"
SCALARS_PLUGIN = "scalars"
HISTOGRAMS_PLUGIN = "histograms"

# Calibration of a classifier on held-out data (run posthoc, each evaluated epoch): a reliability
# record (our plugin's JSON text: {"columns": RELIABILITY_COLUMNS, "bins": [one row per bin],
# "target": 1 − ε + ε/K of a smoothed loss, or null}), a histogram of the confidences
# (TensorBoard's histogram format, the record's bins) and metrics/<CALIBRATION_METRIC>.
CALIBRATION_PREFIX = "calibration/"
RELIABILITY_TAG = "calibration/reliability"
CONFIDENCE_TAG = "calibration/confidence"
RELIABILITY_COLUMNS = ("lower", "upper", "count", "confidence", "accuracy")
CALIBRATION_METRIC = "ece"

def loss_tag(component, output=None, batch=False):
    """`[batch/][<output>/]loss/<component>`; component is a loss component, "total" or "regularization"."""
    tag = f"{LOSS_PREFIX}{component}"
    if output:
        tag = f"{output}/{tag}"
    return BATCH_PREFIX + tag if batch else tag


def diagnostic_tag(name, output=None):
    """`[<output>/]diagnostics/<name>`: a diagnostic of the loss's own pass (`loss.diagnostic_names`)."""
    tag = f"{DIAGNOSTICS_PREFIX}{name}"
    return f"{output}/{tag}" if output else tag


def entropy_tag(stat, output=None):
    """`[<output>/]entropy/<stat>`, stat in ("mean", "normalized", "per_example")."""
    if stat not in ENTROPY_STATS:
        raise ValueError(f"stat must be one of {ENTROPY_STATS}, got {stat!r}")
    return f"{output}/{ENTROPY_PREFIX}{stat}" if output else f"{ENTROPY_PREFIX}{stat}"


def metric_tag(name):
    """`metrics/<name>`: a post-hoc metric, never part of a training step."""
    return f"{METRICS_PREFIX}{name}"


def ledger_tag(stat, output=None):
    """`[<output>/]ledger/<stat>`, stat in ("mean_margin", "negative_margin_fraction")."""
    if stat not in LEDGER_STATS:
        raise ValueError(f"stat must be one of {LEDGER_STATS}, got {stat!r}")
    return f"{output}/{LEDGER_PREFIX}{stat}" if output else f"{LEDGER_PREFIX}{stat}"


def ledger_record_tag(output=None):
    """`kerasloss/ledger[/<output>]`: the tag of `ExampleLedger`'s record in a log_dir's own run."""
    return f"{LEDGER_RECORD_TAG}/{output}" if output else LEDGER_RECORD_TAG


def is_batch_tag(tag):
    """Whether `tag` is a per-batch tag (`batch/...`); the tab never reads those."""
    return tag.startswith(BATCH_PREFIX)


_KINDS = {
    LOSS_PREFIX: "loss",
    ENTROPY_PREFIX: "entropy",
    DIAGNOSTICS_PREFIX: "diagnostics",
    LEDGER_PREFIX: "ledger",
}


def parse_tag(tag):
    """(kind, output or None, name) of one of our epoch-level tags, or None for any other tag.

    Output names hold no "/" (Keras refuses them in layer names); a composite loss's diagnostics
    carry their part: `[<output>/]diagnostics/<part>/<name>` gives name "<part>/<name>".
    """
    if tag.startswith(BATCH_PREFIX):
        return None
    if tag.startswith(METRICS_PREFIX):
        name = tag[len(METRICS_PREFIX):]
        return ("metrics", None, name) if name else None
    pieces = tag.split("/")
    for start in (0, 1):  # [<output>/]<kind>/...
        kind = _KINDS.get(pieces[start] + "/") if len(pieces) > start + 1 else None
        rest = pieces[start + 1:]
        if kind is None or not all(pieces) or len(rest) > (2 if kind == "diagnostics" else 1):
            continue
        name = "/".join(rest)
        if (kind == "entropy" and name not in ENTROPY_STATS) or (kind == "ledger" and name not in LEDGER_STATS):
            return None
        return kind, pieces[0] if start else None, name
    return None


def split_run(run):
    """(group, role) of a TensorBoard run: "ls_0.1/train" -> ("ls_0.1", "train"); None if not ours.

    A group is one log_dir (its runs train, validation, posthoc); "" is the served log_dir itself.
    """
    group, _, role = run.rpartition("/")
    return (group, role) if role in RUNS else None


def root_run(group):
    """The run holding a group's own records (hparams, component weights): the log_dir itself."""
    return group or ROOT
