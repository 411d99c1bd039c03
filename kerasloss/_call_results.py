"""What a loss call computed, left where the metrics updating on the same predictions find it.

In every train and test step Keras calls the compiled loss and then the compiled metrics with the
same `y_pred` object (per output, per replica). A kerasloss loss leaves its `CallResult` here,
keyed by its configuration and that `y_pred` object; a kerasloss metric updating on the same
object takes the values from here instead of computing them again (no second pass over the
predictions), and computes them itself when nothing is found (a metric built from another loss,
a standalone `update_state`, or JAX's training step, whose metrics see another `y_pred` object).

Nothing holds a reference from a loss to a metric or back: one loss object may serve several
outputs or models, be compiled again and again, and be saved and restored in any order.

Entries hold a weak reference to their `y_pred` and are checked by identity, so an id reused by a
new tensor never matches an old entry; at most `_MAX_ENTRIES` recent entries are kept.

Entropy is computed by a loss only while some live `PredictionEntropy` metric asks for the
entropy this loss can give (`request_entropy` / `entropy_requested`), since it costs a pass over
the predictions; the by-products (diagnostics, and the components of a loss that reduces its
total whole) only while a live `LossComponent` or `LossDiagnostic` of an equal loss asks for them
(`request_by_products` / `by_products_requested`: on PyTorch, which runs eagerly, an unlogged
diagnostic would cost every step; compiled steps drop it anyway). `subscribe` lets a custom training loop be told of every call of one loss object.
"""

import collections
import json
import threading
import weakref
from typing import NamedTuple, Optional

from keras import tree

from kerasloss._keras_compat import autodiff_primal

_MAX_ENTRIES = 64
_lock = threading.Lock()
_entries = collections.OrderedDict()  # id(y_pred) -> [(y_pred ref, loss key, CallResult)]
_entropy_requests = weakref.WeakSet()
_by_products_requests = weakref.WeakKeyDictionary()  # metric -> the loss_key it asks by-products of
_subscribers = weakref.WeakKeyDictionary()  # loss -> [weak method]


class CallResult(NamedTuple):
    """One loss call's values (this replica's, reduced like the loss).

    reduced:     component name -> the term reduced as the loss is (before its weight).
    entropy:     (Σ w·H, Σ w) of the per-element prediction entropy, or None when not computed.
    diagnostics: diagnostic name -> (Σ w·d, Σ w) over the elements.
    entropy_settings: (from_logits, kind, axis) the entropy was computed with, or None.
    total:       the reduced total when the loss reduced it whole (`Terms.total`), else None.
    """

    reduced: dict
    entropy: Optional[tuple] = None
    diagnostics: Optional[dict] = None
    entropy_settings: Optional[tuple] = None
    total: Optional[object] = None


def loss_key(loss):
    """A loss's identity for matching: its class and configuration (equal losses match)."""
    config = json.dumps(loss.get_config(), sort_keys=True, default=repr)
    return f"{type(loss).__module__}.{type(loss).__qualname__}:{config}"


def _store(key, y_pred, result):
    try:
        reference = weakref.ref(y_pred)
    except TypeError:  # a Python list or scalar: no metric will see this very object
        return
    slot = _entries.pop(id(y_pred), [])
    slot = [entry for entry in slot if entry[0]() is y_pred and entry[1] != key]
    slot.append((reference, key, result))
    _entries[id(y_pred)] = slot
    while len(_entries) > _MAX_ENTRIES:
        _entries.popitem(last=False)


def _primal_or_value(x):
    primal = autodiff_primal(x)
    return x if primal is None else primal


def leave(loss, y_pred, result):
    """Record `result` of `loss` called on `y_pred`; tell `loss`'s subscribers.

    Under JAX autodiff the result is also recorded, as primal values, for the primal of `y_pred`.
    """
    key = loss_key(loss)
    primal = autodiff_primal(y_pred)
    with _lock:
        _store(key, y_pred, result)
        if primal is not None:
            _store(key, primal, tree.map_structure(_primal_or_value, result))
        listeners = [ref() for ref in _subscribers.get(loss, ())]
    for listener in listeners:
        if listener is not None:
            listener(result, y_pred)


def _slot(y_pred):
    with _lock:
        return [entry for entry in _entries.get(id(y_pred), ()) if entry[0]() is y_pred]


def find(loss, y_pred):
    """The `CallResult` of a loss equal to `loss` on this very `y_pred` object, or None."""
    key = loss_key(loss)
    for _, entry_key, result in _slot(y_pred):
        if entry_key == key:
            return result
    return None


def find_entropy(settings, y_pred):
    """(Σ w·H, Σ w) computed by any loss on this `y_pred` with entropy `settings`, or None."""
    for _, _, result in _slot(y_pred):
        if result.entropy is not None and result.entropy_settings == settings:
            return result.entropy
    return None


def computed_by_a_loss(y_pred):
    """Whether some kerasloss loss was called on this very `y_pred` object."""
    return bool(_slot(y_pred))


def request_entropy(metric):
    """Ask losses to compute the entropy `metric.entropy_settings` describes while `metric` lives."""
    _entropy_requests.add(metric)


def entropy_requested(settings):
    """Whether a live metric asked for the entropy with these (from_logits, kind, axis)."""
    if settings is None:
        return False
    return any(metric.entropy_settings == settings for metric in list(_entropy_requests))


def request_by_products(metric):
    """Ask losses equal to `metric.loss` to compute their by-products while `metric` lives."""
    _by_products_requests[metric] = loss_key(metric.loss)


def by_products_requested(loss):
    """Whether a live metric asked for the by-products of a loss equal to `loss`."""
    wanted = list(_by_products_requests.values())
    if not wanted:  # no metric asks: not even the loss's key (its config as JSON) is computed
        return False
    key = loss_key(loss)
    return key in wanted


def subscribe(loss, listener):
    """Call the bound method `listener(result, y_pred)` after every call of this `loss` object.

    Held weakly on both sides: neither the loss nor the listener's owner is kept alive by it.
    """
    with _lock:
        _subscribers.setdefault(loss, []).append(weakref.WeakMethod(listener))
