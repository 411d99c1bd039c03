"""`CompositeLoss`: a weighted sum of losses, each reported as one component.

Formula:
    loss = Σ_i weight_i · part_i(y_true, y_pred, sample_weight)
    components = {name_i: part_i(y_true, y_pred, sample_weight)}

Built directly or by loss algebra: `a + b`, `0.1 * a`, `a * 0.1` (flattened, never nested).
"""

import keras

from kerasloss import _checks
from kerasloss._call_results import CallResult
from kerasloss.base import ComponentLoss
from kerasloss.losses import register


def _named_parts(losses, weights):
    """Normalise (losses, weights) to two dicts with the same keys, or raise."""
    if isinstance(losses, dict):
        if not losses:
            raise ValueError("losses must name at least one loss, got an empty dict")
        weights = {name: 1.0 for name in losses} if weights is None else weights
        if not isinstance(weights, dict) or set(weights) != set(losses):
            raise ValueError(
                f"weights must be a dict with the same keys as losses {sorted(losses)}, got {weights!r}"
            )
        names = list(losses)
        parts, weights = [losses[n] for n in names], [weights[n] for n in names]
    elif isinstance(losses, (list, tuple)):
        if not losses:
            raise ValueError("losses must hold at least one loss, got an empty list")
        parts = list(losses)
        weights = [1.0] * len(parts) if weights is None else weights
        if not isinstance(weights, (list, tuple)) or len(weights) != len(parts):
            raise ValueError(
                f"weights must be a list of {len(parts)} numbers (one per loss), got {weights!r}"
            )
        names = _unique_names([getattr(part, "name", "loss") for part in parts])
    else:
        raise TypeError(f"losses must be a dict name -> loss or a list of losses, got {losses!r}")
    for name, part in zip(names, parts):
        if not isinstance(part, ComponentLoss):
            raise TypeError(
                f"losses[{name!r}] must be a kerasloss loss (ComponentLoss), got {type(part).__name__}"
            )
    weights = [_checks.check_non_negative(f"weights[{n!r}]", w) for n, w in zip(names, weights)]
    return dict(zip(names, parts)), dict(zip(names, weights))


def _unique_names(names):
    """Each name, suffixed _1, _2, ... when taken (also by an earlier suffixed name: a, a_1, a)."""
    taken, unique = set(), []
    for name in names:
        candidate, count = name, 0
        while candidate in taken:
            count += 1
            candidate = f"{name}_{count}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def _as_weighted_parts(loss, scale=1.0):
    if isinstance(loss, CompositeLoss):
        return [(name, part, weight * scale) for name, (part, weight) in loss.parts.items()]
    return [(loss.name, loss, scale)]


@register
class CompositeLoss(ComponentLoss):
    """Σ weight_i · loss_i, with one component per part (see the module docstring).

    Args:
        losses: a dict name -> kerasloss loss, or a list of them (named by each loss's name).
        weights: a dict with the same keys (for a dict), or a list of the same length; default 1.
        name: the composite's name.

    All parts must share one reduction; it is the composite's reduction.

    Example:
    >>> mse, mae = MeanSquaredError(), MeanAbsoluteError()
    >>> (mse + 0.1 * mae).component_weights
    {'mean_squared_error': 1.0, 'mean_absolute_error': 0.1}
    """

    def __init__(self, losses, weights=None, name="composite_loss", dtype=None):
        parts, part_weights = _named_parts(losses, weights)
        reductions = {part.reduction for part in parts.values()}
        if len(reductions) != 1:
            raise ValueError(
                f"losses must share one reduction, got {sorted(map(str, reductions))}"
            )
        super().__init__(name=name, reduction=reductions.pop(), dtype=dtype)
        self.parts = {name: (parts[name], part_weights[name]) for name in parts}

    @classmethod
    def of_sum(cls, a, b):
        weighted = _as_weighted_parts(a) + _as_weighted_parts(b)
        return cls._from_weighted(weighted)

    @classmethod
    def of_scaled(cls, loss, scale):
        return cls._from_weighted(_as_weighted_parts(loss, scale))

    @classmethod
    def _from_weighted(cls, weighted):
        names = _unique_names([name for name, _, _ in weighted])
        return cls(
            {name: part for name, (_, part, _) in zip(names, weighted)},
            {name: weight for name, (_, _, weight) in zip(names, weighted)},
        )

    @property
    def component_weights(self):
        return {name: weight for name, (_, weight) in self.parts.items()}

    @property
    def diagnostic_names(self):
        """Each part's diagnostics, named `<part>/<diagnostic>`."""
        return tuple(
            f"{name}/{diagnostic}"
            for name, (part, _) in self.parts.items()
            for diagnostic in part.diagnostic_names
        )

    def evaluate(self, y_true, y_pred, sample_weight=None, with_entropy=False):
        reduced, diagnostics = {}, {}
        for name, (part, _) in self.parts.items():
            result = part.evaluate(y_true, y_pred, sample_weight)
            reduced[name] = part.total_from_components(result.reduced)
            diagnostics.update({f"{name}/{d}": sums for d, sums in result.diagnostics.items()})
        return CallResult(reduced, diagnostics=diagnostics)

    def call(self, y_true, y_pred):
        return self.combine({name: part.call(y_true, y_pred) for name, (part, _) in self.parts.items()})

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self._output_dtype,
            "losses": {n: keras.saving.serialize_keras_object(p) for n, (p, _) in self.parts.items()},
            "weights": self.component_weights,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["losses"] = {
            name: keras.saving.deserialize_keras_object(part) for name, part in config["losses"].items()
        }
        return cls(**config)
