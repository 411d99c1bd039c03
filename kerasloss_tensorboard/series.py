"""From the values TensorBoard's data provider returns to the series the "kerasloss" tab draws.

Pure Python and NumPy: the plugin's routes read the provider, these functions shape the result.
Values of one log_dir (a *group*) come as {role: {tag: [(step, value), ...]}}, role in
("train", "validation", "posthoc").

The loss panel of one output (the whole model when `output` is None) stacks, at every step where
`[<output>/]loss/total` is logged,

    band_k = w_k · [<output>/]loss/<component k>          (a single output: λ · w_k, λ its
                                                            `loss_weights`; multi-output, whole
                                                            model: band_o = λ_o · <o>/loss/total)
    band_regularization = loss/regularization             (whole model only, when logged)
    band_unexplained = total − Σ bands                    (only when it is not float noise)

so the bands add up to `loss/total` at every step; share_k = band_k / total.
"""

import numpy as np

from kerasloss_tensorboard import metadata

UNEXPLAINED = "unexplained"
_NOISE = 1e-4  # |total − Σ bands| below this × max |total| is float32 rounding, not a band


def _tag(output, name):
    return f"{output}/{metadata.LOSS_PREFIX}{name}" if output else f"{metadata.LOSS_PREFIX}{name}"


def loss_parts(role_scalars):
    """{output or None: [component names, sorted]} of the loss tags logged in any train/validation run.

    An output counts only with its `<output>/loss/total` logged: someone else's `<x>/loss/<y>` tag
    in the same run (a custom summary) is no output of the model and must not split its panel.
    """
    parts, totals = {}, set()
    for role in (metadata.TRAIN, metadata.VALIDATION):
        for tag in role_scalars.get(role, {}):
            parsed = metadata.parse_tag(tag)
            if parsed and parsed[0] == "loss":
                _, output, name = parsed
                names = parts.setdefault(output, [])
                if name == metadata.TOTAL:
                    totals.add(output)
                elif name != metadata.REGULARIZATION and name not in names:
                    names.append(name)
    return {output: sorted(names) for output, names in parts.items() if output is None or output in totals}


def _addends(output, parts, record):
    """[(band name, tag, weight or None)] adding up (with regularization) to the output's total."""
    multi = any(o is not None for o in parts)
    entries = {entry.get("output"): entry for entry in (record or {}).get("outputs", [])}
    if output is None and multi:
        return [
            (o, _tag(o, metadata.TOTAL), entries[o]["loss_weight"] if o in entries else None)
            for o in parts if o is not None
        ]
    entry = entries.get(output, {})
    weights = entry.get("weights", {})
    names = parts.get(output, [])
    if weights:  # the record says which logged tags are terms of the sum (not a LossValue)
        names = [name for name in names if name in weights]
    # a single output's total is weighted by its loss weight; an output's own total of a multi-output
    # model is not (Keras logs each output's loss unweighted)
    scale = entry.get("loss_weight", 1.0) if output is None else 1.0
    return [(name, _tag(output, name), scale * weights[name] if name in weights else None) for name in names]


def _aligned(points, steps):
    by_step = dict(points)
    return np.array([by_step.get(step, np.nan) for step in steps], dtype=np.float64)


def estimate_weights(rows_x, rows_y):
    """Least-squares w with X·w ≈ y over the rows without NaN (the weights are constant per run)."""
    x, y = np.asarray(rows_x, dtype=np.float64), np.asarray(rows_y, dtype=np.float64)
    keep = np.isfinite(x).all(axis=1) & np.isfinite(y)
    if not keep.any():
        return np.ones(x.shape[1])
    return np.linalg.lstsq(x[keep], y[keep], rcond=None)[0]


def _run_arrays(scalars, output, addends):
    """(steps, total, regularization or None, terms [steps, addends]) of one run, NaN where missing."""
    total_points = scalars[_tag(output, metadata.TOTAL)]
    steps = [step for step, _ in total_points]
    regularization = None
    if output is None and _tag(None, metadata.REGULARIZATION) in scalars:
        regularization = _aligned(scalars[_tag(None, metadata.REGULARIZATION)], steps)
    terms = np.zeros((len(steps), len(addends)))
    for i, (_, tag, _) in enumerate(addends):
        terms[:, i] = _aligned(scalars.get(tag, []), steps)
    return steps, _aligned(total_points, steps), regularization, terms


def _weights(addends, arrays):
    """The addends' weights: as recorded, else fitted to total − regularization over all runs."""
    if all(weight is not None for _, _, weight in addends):
        return [weight for _, _, weight in addends]
    xs = np.concatenate([terms for _, _, _, terms in arrays])
    ys = np.concatenate([
        total - (np.nan_to_num(regularization) if regularization is not None else 0.0)
        for _, total, regularization, _ in arrays
    ])
    fitted = estimate_weights(xs, ys)
    return [float(f) if w is None else w for (_, _, w), f in zip(addends, fitted)]


def _bands(addends, weights, total, regularization, terms):
    """The run's bands, bottom first; an `unexplained` band when they miss the total by more than noise."""
    bands = [
        {"name": name, "tag": tag, "weight": weights[i], "values": _listed(weights[i] * terms[:, i])}
        for i, (name, tag, _) in enumerate(addends)
    ]
    stacked = np.nansum(terms * np.asarray(weights, dtype=np.float64), axis=1)
    if regularization is not None:
        bands.append({"name": metadata.REGULARIZATION, "tag": _tag(None, metadata.REGULARIZATION),
                      "weight": 1.0, "values": _listed(regularization)})
        stacked = stacked + np.nan_to_num(regularization)
    rest = total - stacked
    scale = np.nanmax(np.abs(total), initial=0.0)
    if np.nanmax(np.abs(rest), initial=0.0) > _NOISE * scale + 1e-12:
        bands.append({"name": UNEXPLAINED, "tag": None, "weight": 1.0, "values": _listed(rest)})
    return bands


def loss_panel(role_scalars, output, parts, record):
    """The stacked bands of one output in runs train and validation (see the module docstring)."""
    addends = _addends(output, parts, record)
    roles = [role for role in (metadata.TRAIN, metadata.VALIDATION)
             if _tag(output, metadata.TOTAL) in role_scalars.get(role, {})]
    arrays = {role: _run_arrays(role_scalars[role], output, addends) for role in roles}
    weights = _weights(addends, list(arrays.values())) if roles else []
    runs = {}
    for role, (steps, total, regularization, terms) in arrays.items():
        runs[role] = {"steps": steps, "total": _listed(total),
                      "bands": _bands(addends, weights, total, regularization, terms)}
    return {
        "output": output,
        "total_tag": _tag(output, metadata.TOTAL),
        "weights_source": "logged" if all(w is not None for _, _, w in addends) else "estimated",
        "runs": runs,
    }


def loss_panels(role_scalars, record=None):
    """One `loss_panel` per output: the whole model first, then each output (multi-output)."""
    parts = loss_parts(role_scalars)
    outputs = ([None] if parts else []) + sorted(o for o in parts if o is not None)
    panels = [loss_panel(role_scalars, output, parts, record) for output in outputs]
    return [panel for panel in panels if panel["runs"]]


def lines(role_scalars, kind, roles=(metadata.TRAIN, metadata.VALIDATION)):
    """{role: {tag: [[step, value]]}} of the tags of `kind` ("entropy", "diagnostics", "metrics")."""
    found = {}
    for role in roles:
        for tag, points in sorted(role_scalars.get(role, {}).items()):
            parsed = metadata.parse_tag(tag)
            if parsed and parsed[0] == kind:
                found.setdefault(role, {})[tag] = [[step, number(value)] for step, value in points]
    return found


def number(value):
    """A float for JSON: NaN and ±inf become None (the chart leaves a gap)."""
    value = float(value)
    return value if np.isfinite(value) else None


def _listed(values):
    return [number(v) for v in values]


def histogram_series(points):
    """[(step, array [k, 3] of (left, right, count))] -> [{"step", "buckets": [[l, r, c]]}], buckets
    with a value that is not finite left out (a histogram of a sample holding NaN has NaN edges)."""
    found = []
    for step, buckets in points:
        buckets = np.asarray(buckets, np.float64).reshape(-1, 3)
        found.append({"step": step, "buckets": buckets[np.isfinite(buckets).all(axis=1)].tolist()})
    return found
