"""kerasloss' TensorBoard run and tag names, in pure Python (no TensorFlow, no Keras).

`summaries` writes with them and the TensorBoard plugin (`kerasloss.tensorboard_plugin`) reads
with them, so both agree by construction. Tag forms (see `summaries` for the writers):

    [batch/][<output>/]loss/<component | total | regularization>     runs train, validation
    [<output>/]entropy/<mean | normalized | per_example>              runs train, validation
    diagnostics/<name>                                                runs train, validation
    metrics/<name>[/<i>]                                              run posthoc
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
