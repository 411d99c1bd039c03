"""What the callbacks need to know about a compiled model: its losses per output, loss weights,
whether it has regularization losses, and its global step. Keras keeps some of it private; every
such access is here, with a fallback.
"""

import keras


def output_losses(model):
    """[(output name or None, loss object, loss weight)]: one entry (name None) for one output."""
    loss = getattr(model, "loss", None)
    compile_loss = getattr(model, "_compile_loss", None)
    user_weights = getattr(compile_loss, "_user_loss_weights", None)
    names = list(getattr(model, "output_names", None) or [])
    if isinstance(loss, dict):
        weights = user_weights if isinstance(user_weights, dict) else {}
        return [(name, loss[name], float(weights.get(name, 1.0))) for name in names if name in loss] or [
            (name, part, 1.0) for name, part in loss.items()
        ]
    if isinstance(loss, (list, tuple)):
        weights = list(user_weights) if isinstance(user_weights, (list, tuple)) else [1.0] * len(loss)
        names = names if len(names) == len(loss) else [f"output_{i}" for i in range(len(loss))]
        return [(name, part, float(w)) for name, part, w in zip(names, loss, weights)]
    return [(None, loss, 1.0)]


def log_prefix(output):
    """The prefix Keras gives an output's metrics in the logs: "" or "<output>_"."""
    return f"{output}_" if output else ""


def has_regularization(model):
    """True when a regularization term enters the training loss (weight or activity regularizers)."""
    try:
        if model.losses:
            return True
    except Exception:  # a model not built yet has no losses to report
        pass
    layers = model._flatten_layers() if hasattr(model, "_flatten_layers") else model.layers
    return any(getattr(layer, "activity_regularizer", None) is not None for layer in layers)


def global_step(model):
    """The number of optimizer steps taken so far (0 before the first)."""
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None)
    if iterations is None:
        return 0
    value = iterations.value if hasattr(iterations, "value") else iterations
    return int(value.numpy()) if hasattr(value, "numpy") else int(keras.ops.convert_to_numpy(value))
