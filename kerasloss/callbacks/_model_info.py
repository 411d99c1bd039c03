"""What the callbacks need to know about a compiled model: its losses per output, loss weights,
whether it has regularization losses, whether it is a classifier (`classifier_settings`), its
compiled metrics per output, its global step, the epoch a `BackupAndRestore` restored, how `compile`
resolves a metric name, and what `fit`'s evaluation reads. Keras keeps some of it private; every
such access is here (with a fallback where one exists).
"""

import warnings
import weakref

import keras

from kerasloss._keras_compat import get_loss
from kerasloss.wrapping import WrappedLoss


def output_names(model):
    """The model's output names, as a list (empty when it names none: a subclassed model)."""
    return list(getattr(model, "output_names", None) or [])


def output_losses(model):
    """[(output name or None, compile entry, loss weight)], named and weighted as Keras' `CompileLoss`
    names and weighs them: one entry, named None, for a model with one output (however its loss was
    given: as it is, or a list or dict of one; Keras prefixes none of its logs), weighted by
    `loss_weights` (a number, or a list or dict of one); for a multi-output model one per output a
    loss is compiled for (a single loss, and a single weight, are every output's)."""
    loss = getattr(model, "loss", None)
    compile_loss = getattr(model, "_compile_loss", None)
    user_weights = getattr(compile_loss, "_user_loss_weights", None)
    flat_weights = keras.tree.flatten(user_weights) if user_weights is not None else []
    single_weight = float(flat_weights[0]) if len(flat_weights) == 1 else 1.0
    names = output_names(model)
    if isinstance(loss, dict):
        weights = user_weights if isinstance(user_weights, dict) else {}
        entries = [(name, loss[name], float(weights.get(name, 1.0))) for name in names if name in loss] or [
            (name, part, 1.0) for name, part in loss.items()
        ]
    elif isinstance(loss, (list, tuple)):
        weights = list(user_weights) if isinstance(user_weights, (list, tuple)) else [1.0] * len(loss)
        names = names if len(names) == len(loss) else [f"output_{i}" for i in range(len(loss))]
        entries = [(name, part, float(w)) for name, part, w in zip(names, loss, weights)]
    else:
        entries = [(name, loss, single_weight) for name in names] if len(names) > 1 else [(None, loss, single_weight)]
    if len(entries) == 1 and len(names) <= 1:
        return [(None, entries[0][1], single_weight)]
    if len(flat_weights) > 1 and isinstance(user_weights, dict) != isinstance(loss, dict):
        _warn_unpaired_weights(model, loss, user_weights)
    return entries


_unpaired_weights_models = weakref.WeakSet()


def _warn_unpaired_weights(model, loss, weights):
    """Warn once per model that its `loss_weights` are not given in the structure of its losses
    (a list for a dict, or the reverse), which Keras pairs by flattening them (a dict in its sorted
    keys' order), so that the weights read here (by name or position only: 1.0 each) are not
    Keras'."""
    if model in _unpaired_weights_models:
        return
    _unpaired_weights_models.add(model)
    warnings.warn(
        f"loss_weights is a {type(weights).__name__} for a {type(loss).__name__} of losses: Keras "
        f"pairs them by flattening (a dict in sorted key order), and kerasloss weighs each output's "
        f"logged terms by 1.0 instead; give loss_weights in the structure of loss",
        UserWarning,
        stacklevel=4,
    )


def compile_entry(model, output=None):
    """The `compile(loss=...)` entry of `output` (None, or any name, for a model with one output;
    None for a multi-output model: its first output's), or None when none is compiled for it."""
    for name, loss, _ in output_losses(model):
        if name is None or output in (None, name):
            return loss
    return None


def log_prefix(output):
    """The prefix Keras gives an output's metrics in the logs: "" or "<output>_"."""
    return f"{output}_" if output else ""


def has_regularization(model):
    """True when the model shows a regularization term: weight or activity regularizers, or
    `add_loss` terms (these exist only once the model has been called: on TensorFlow and PyTorch
    after the first step; JAX's stateless steps never keep them, see `LossComponentLogger`)."""
    try:
        if model.losses:
            return True
    except Exception:  # a model not built yet has no losses to report
        pass
    layers = model._flatten_layers() if hasattr(model, "_flatten_layers") else model.layers
    return any(getattr(layer, "activity_regularizer", None) is not None for layer in layers)


def compiled_metrics(model):
    """[(logs key, metric)] of the metrics compiled into `model` (empty before its first step).

    The key is the name Keras gives the metric in the fit logs: `<output>_<name>` for an output's
    metric of a multi-output model, else `<name>`.
    """
    found = []
    for container in getattr(model, "metrics", []):
        lists = getattr(container, "_flat_metrics", []) + getattr(container, "_flat_weighted_metrics", [])
        for metric_list in lists:
            output = getattr(metric_list, "output_name", None)
            for metric in getattr(metric_list, "metrics", None) or []:
                found.append((f"{log_prefix(output)}{metric.name}", metric))
    return found


def compile_metric(identifier, y_true, y_pred):
    """The metric `compile(metrics=[identifier])` builds for labels `y_true` and outputs `y_pred`
    ("accuracy" becomes binary, sparse categorical or categorical accuracy by their shapes)."""
    from keras.src.trainers.compile_utils import (
        get_metric,  # Keras' own rule, no copy of it
    )

    return get_metric(identifier, y_true, y_pred)


def restored_epoch(model):
    """The epoch `keras.callbacks.BackupAndRestore` restored the model at, or None."""
    return getattr(model, "_initial_epoch", None)


def global_step(model):
    """The number of optimizer steps taken so far (0 before the first)."""
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None)
    if iterations is None:
        return 0
    value = iterations.value if hasattr(iterations, "value") else iterations
    return int(value.numpy()) if hasattr(value, "numpy") else int(keras.ops.convert_to_numpy(value))


def validation_data_of(model):
    """What the evaluation of `fit`'s validation_data that is starting reads, from Keras' cached
    epoch iterator (`model._eval_epoch_iterator`, set while `fit` evaluates; its data adapter keeps
    the objects given): (("arrays", (x, y, sample_weight)) or ("source", the tf.data.Dataset,
    PyDataset or DataLoader), validation_steps), or None when it cannot be told."""
    iterator = getattr(model, "_eval_epoch_iterator", None)
    adapter = getattr(iterator, "data_adapter", None)
    if adapter is None:
        return None
    steps = getattr(iterator, "steps_per_epoch", None)
    if getattr(adapter, "_inputs", None) is not None:  # ArrayDataAdapter
        return ("arrays", keras.utils.unpack_x_y_sample_weight(adapter._inputs)), steps
    for name in ("_dataset", "py_dataset", "_dataloader"):  # tf.data, PyDataset, DataLoader adapters
        if getattr(adapter, name, None) is not None:
            return ("source", getattr(adapter, name)), steps
    return None


def check_output(model, output):
    """`output` checked against the model's outputs: required (a name) for a multi-output model."""
    names = output_names(model)
    if output is None and len(names) > 1:
        raise ValueError(
            f"output must name one of the model's outputs {names} for a multi-output model, got None"
        )
    if output is not None and output not in names:
        raise ValueError(f"output must be one of {names}, got {output!r}")
    return output


def select_output(value, model, output):
    """The part of a per-output structure (the model's outputs, or labels) for `output`: a dict's
    entry, a list's by the output's position; for a model with one output a dict or list of one
    gives its only entry, as Keras takes it; a single value as it is."""
    if isinstance(value, (dict, list, tuple)) and len(value) == 1 and len(output_names(model)) <= 1:
        return next(iter(value.values())) if isinstance(value, dict) else value[0]
    if isinstance(value, dict):
        if output not in value:
            raise ValueError(f"the labels and outputs are keyed {sorted(value)}: none is output {output!r}")
        return value[output]
    if isinstance(value, (list, tuple)):
        return value[output_names(model).index(output)]
    return value


def loss_entropy_settings(model, output=None):
    """(from_logits, kind, axis) of the compiled loss of `output` when it is a classification loss
    (`classification_settings` of `resolved_compile_loss`), else None."""
    return classification_settings(resolved_compile_loss(compile_entry(model, output), model, output))


def resolved_compile_loss(loss, model, output):
    """The loss object Keras' `CompileLoss` will make of `output`'s `compile(loss=...)` entry
    (`compiled_loss_object`), read before any labels are seen: the output's symbolic tensor stands
    for labels and outputs. So a function or a name becomes Keras' `LossFunctionWrapper` of it, and
    "crossentropy" / "ce" the binary cross-entropy for an output one wide, else the categorical one
    (sparse or not depends on the labels; neither the kind nor from_logits does). When the model does
    not know that output's width yet (a subclassed model, a Sequential one not built), "crossentropy"
    stays a name."""
    tensor = _symbolic_output(model, output)
    if tensor is None and isinstance(loss, str) and loss.lower() in ("crossentropy", "ce"):
        return loss
    return compiled_loss_object(loss, tensor, tensor)


def _symbolic_output(model, output):
    """The model's symbolic output tensor `output` (its first when None), or None when the model
    does not know it or its width."""
    try:
        outputs = model.outputs
    except AttributeError:  # a subclassed model, or a Sequential one not built
        return None
    if not outputs:
        return None
    names = output_names(model)
    tensor = outputs[names.index(output) if output in names else 0]
    return tensor if tensor.shape and tensor.shape[-1] is not None else None


def compiled_loss_object(loss, y_true, y_pred):
    """The loss object Keras' `CompileLoss` makes of one output's `compile(loss=...)` entry: a
    `keras.losses.Loss` as it is; a name or a function as Keras' own `get_loss` resolves it (a
    `LossFunctionWrapper` named after it; "crossentropy" or "ce": the binary, sparse or categorical
    cross-entropy by the shapes of one batch's `y_true` and `y_pred`)."""
    if loss is None or isinstance(loss, keras.losses.Loss):
        return loss
    return get_loss(loss, y_true, y_pred)


# Keras' own classification losses (class or function name) -> kind
_KERAS_CLASSIFIER_LOSSES = {
    "SparseCategoricalCrossentropy": "categorical", "sparse_categorical_crossentropy": "categorical",
    "CategoricalCrossentropy": "categorical", "categorical_crossentropy": "categorical",
    "CategoricalFocalCrossentropy": "categorical", "categorical_focal_crossentropy": "categorical",
    "CategoricalGeneralizedCrossEntropy": "categorical", "categorical_generalized_cross_entropy": "categorical",
    "BinaryCrossentropy": "binary", "binary_crossentropy": "binary",
    "BinaryFocalCrossentropy": "binary", "binary_focal_crossentropy": "binary",
}


def classification_settings(loss):
    """(from_logits, kind, axis) of a classification loss object, else None: a kerasloss loss's
    `entropy_settings`; for Keras' own (a class above, its function in a `LossFunctionWrapper`, as
    Keras wraps a compile name or function, either under `kerasloss.wrap`) the kind above, and
    from_logits and axis as the loss was given them (a wrapped function: Keras' defaults,
    probabilities on the last axis)."""
    settings = getattr(loss, "entropy_settings", None)
    if settings is not None:
        return settings
    if isinstance(loss, WrappedLoss):
        return classification_settings(loss.loss)
    function = getattr(loss, "fn", None)
    names = (type(loss).__name__, getattr(function, "__name__", None))
    kind = next((_KERAS_CLASSIFIER_LOSSES[name] for name in names if name in _KERAS_CLASSIFIER_LOSSES), None)
    if kind is None:
        return None
    arguments = getattr(loss, "_fn_kwargs", None) or {}
    return bool(arguments.get("from_logits", False)), kind, arguments.get("axis", -1)


def classifier_settings(model, output=None):
    """(from_logits, kind, label_smoothing) of the model's output `output` (None: its only output)
    when its loss is a classification loss (`classification_settings`), else None."""
    loss = resolved_compile_loss(compile_entry(model, output), model, output)
    settings = classification_settings(loss)
    if settings is None:
        return None
    loss = loss.loss if isinstance(loss, WrappedLoss) else loss
    return settings[0], settings[1], float(getattr(loss, "label_smoothing", 0.0) or 0.0)


def linear_output(model, output=None):
    """Whether the layer producing `output` (the only output when None) has a linear activation,
    i.e. gives logits; False when that layer cannot be told (a subclassed model)."""
    names = output_names(model)
    name = output if output is not None else (names[0] if len(names) == 1 else None)
    try:
        if name is not None:
            layer = model.get_layer(name)
        else:  # a Sequential model names no outputs: its last layer
            layer = model.layers[-1] if isinstance(model, keras.Sequential) and model.layers else None
    except ValueError:
        return False
    return getattr(layer, "activation", None) is keras.activations.linear


_warned_models = weakref.WeakSet()


def warn_logits_as_probabilities(model):
    """Warn once per model when a loss left at from_logits=False sits on a linear output layer:
    the loss then takes logits for probabilities (clipped to [ε, 1-ε]), and so would its entropy."""
    if model in _warned_models:
        return
    for output, loss, _ in output_losses(model):
        settings = classifier_settings(model, output)
        if settings and settings[0] is False and linear_output(model, output):
            _warned_models.add(model)
            where = f"output {output!r}" if output else "the model's output"
            warnings.warn(
                f"{resolved_compile_loss(loss, model, output).name} has from_logits=False but {where} comes "
                f"from a layer with a linear activation (logits): the loss reads them as probabilities. "
                f"Pass from_logits=True to the loss, or give the last layer a sigmoid/softmax; "
                f"kerasloss logs no prediction entropy for this output until then",
                UserWarning,
                stacklevel=3,
            )
            return

