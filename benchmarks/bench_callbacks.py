"""Cost of monitoring (issue 9) on the fit users run: kerasloss metrics + callbacks against Keras'.

The model: user id -> Embedding(2000, 32) -> Dense(20000) logits, integer labels, batch 512,
40 steps per epoch, `validation_data` of 2,048 rows evaluated every epoch, data as `tf.data`.

    keras@epoch  keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                 + keras.callbacks.TensorBoard(update_freq="epoch")
    ours@epoch   kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
                 + metrics=loss_components(loss, entropy=True)
                 + LossComponentLogger(update_freq="epoch")
                 + PredictionEntropyLogger(log_dir, x_val, from_logits=True)         (every epoch)
                 + PostHocMetrics(log_dir, (x_val, y_val), [SparseCategoricalAccuracy()])  (every epoch)
    keras@10 / ours@10   the same with update_freq=10
    no validation        keras@epoch and ours@epoch without `validation_data`, PostHocMetrics only
                         at train end (the configuration of the first README figure)

One pass (issue 18), `validation_data=(x_val, y_val)` arrays (validation_batch_size = batch), the
line a user writes, `LossMonitor(log_dir, (x_val, y_val), [SparseCategoricalAccuracy()])`, against
keras@epoch on the same arrays:
    before       LossMonitor given copies of the arrays: it predicts them itself after Keras'
                 evaluation, as every LossMonitor did before it shared Keras' pass
    after        LossMonitor given fit's own arrays: entropy, metrics and calibration from Keras'
                 evaluation, no pass of its own

Ablation (update_freq="epoch", validation every epoch), each row adds one piece to the row above:
kerasloss loss alone (with Keras' TensorBoard), + component metrics, + fused entropy,
+ LossComponentLogger (in place of Keras' TensorBoard), + PredictionEntropyLogger,
+ PostHocMetrics with calibration=False, + its calibration (metrics/ece and the reliability record
of the classifier, on by default: = ours@epoch); then the form a user writes first,
`metrics=[*loss_components(loss), PredictionEntropy(from_logits=True)]` with the three callbacks,
and the one-line bundle `LossMonitor(log_dir, (x_val, y_val), [SparseCategoricalAccuracy()])`.
The tables then print calibration's share of the monitored fit: per cycle, 1 − (PostHocMetrics
without calibration) / (with it). `--groups calibration` runs only those two rows and the baseline.

Interleaving: every configuration runs one ordinary `fit(epochs=E)` in its own thread, all models
alive in one process, and a baton lets exactly one of them run at a time, in a fixed order: each
cycle runs one epoch of every configuration (its training steps, validation and every epoch-end
callback, timed from its first `on_epoch_begin` to its last `on_epoch_end`). The first cycle
(tracing, first event files) is dropped; each later cycle gives a ratio ours / keras of two epochs
run seconds apart, and the tables print the median of those per-cycle ratios with their min–max.
Two clocks: wall time, and the process's CPU time (all its threads; the other fits are blocked on
the baton meanwhile), which other programs competing for the cores do not inflate. On a shared,
overloaded machine the CPU-time ratios are the ones to read; on a quiet one both agree.
Prints tables, never asserts on time (target: ours / keras <= 1.10).

Run: `make bench`, or `python benchmarks/bench_callbacks.py --small` for a quick check.
"""

import argparse
import os
import statistics
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasloss  # noqa: E402
from kerasloss.callbacks import (  # noqa: E402
    LossComponentLogger,
    LossMonitor,
    PostHocMetrics,
    PredictionEntropyLogger,
)
from kerasloss.metrics import PredictionEntropy, loss_components  # noqa: E402

# name: (loss, metrics, Keras TensorBoard update_freq, our callbacks, validation)
# metrics: None, "components", "entropy" (fused), "user" (standalone PredictionEntropy)
# our callbacks: a tuple of "components[@10]", "entropy", "posthoc[@end]", "monitor[@same|@copy]"
# validation: False, True (a tf.data dataset), "arrays" (the arrays LossMonitor@same gets)
CONFIGS = {
    "keras@epoch": ("keras", None, "epoch", (), True),
    "ours@epoch": ("ours", "entropy", None, ("components", "entropy", "posthoc"), True),
    "keras@10": ("keras", None, 10, (), True),
    "ours@10": ("ours", "entropy", None, ("components@10", "entropy", "posthoc"), True),
    "keras, no validation": ("keras", None, "epoch", (), False),
    "ours, no validation": ("ours", "entropy", None, ("components", "entropy", "posthoc@end"), False),
    "loss alone": ("ours", None, "epoch", (), True),
    "+ component metrics": ("ours", "components", "epoch", (), True),
    "+ fused entropy": ("ours", "entropy", "epoch", (), True),
    "+ LossComponentLogger": ("ours", "entropy", None, ("components",), True),
    "+ PredictionEntropyLogger": ("ours", "entropy", None, ("components", "entropy"), True),
    "+ PostHocMetrics, no calibration": ("ours", "entropy", None, ("components", "entropy", "posthoc@nocal"), True),
    "user's first form": ("ours", "user", None, ("components", "entropy", "posthoc"), True),
    "LossMonitor (one callback)": ("ours", "entropy", None, ("monitor",), True),
    "keras@epoch, arrays": ("keras", None, "epoch", (), "arrays"),
    "LossMonitor, own pass (before)": ("ours", "entropy", None, ("monitor@copy",), "arrays"),
    "LossMonitor, Keras' pass (after)": ("ours", "entropy", None, ("monitor@same",), "arrays"),
}
# (row label, ours, keras): the realistic configuration first
HEADLINE = (
    ('update_freq="epoch"', "ours@epoch", "keras@epoch"),
    ("update_freq=10", "ours@10", "keras@10"),
    ('no validation_data, update_freq="epoch"', "ours, no validation", "keras, no validation"),
)
ABLATION = (
    "loss alone",
    "+ component metrics",
    "+ fused entropy",
    "+ LossComponentLogger",
    "+ PredictionEntropyLogger",
    "+ PostHocMetrics, no calibration",
    "ours@epoch",
    "user's first form",
    "LossMonitor (one callback)",
)
ONE_PASS = ("LossMonitor, own pass (before)", "LossMonitor, Keras' pass (after)")
GROUPS = {
    "headline": {"keras@epoch", "ours@epoch", "keras@10", "ours@10"},
    "novalidation": {"keras, no validation", "ours, no validation"},
    "ablation": {"keras@epoch", *ABLATION},
    "calibration": {"keras@epoch", "+ PostHocMetrics, no calibration", "ours@epoch"},
    "onepass": {"keras@epoch, arrays", *ONE_PASS},
}


def recommender(args):
    inputs = keras.Input((), dtype="int32")
    hidden = keras.layers.Embedding(args.users, args.dim)(inputs)
    return keras.Model(inputs, keras.layers.Dense(args.items)(hidden))


def _callbacks(names, log_dir, x_val, y_val):
    callbacks = []
    for name in names:
        part, _, when = name.partition("@")
        if part == "components":
            callbacks.append(LossComponentLogger(log_dir, update_freq=int(when) if when else "epoch"))
        elif part == "entropy":
            callbacks.append(PredictionEntropyLogger(log_dir, x_val, from_logits=True))
        elif part == "posthoc":
            callbacks.append(PostHocMetrics(log_dir, (x_val, y_val), [keras.metrics.SparseCategoricalAccuracy()],
                                            every_n_epochs=0 if when == "end" else 1, calibration=when != "nocal"))
        else:
            held_out = (x_val.copy(), y_val.copy()) if when == "copy" else (x_val, y_val)
            callbacks.append(LossMonitor(log_dir, held_out, [keras.metrics.SparseCategoricalAccuracy()]))
    return callbacks


def build(name, args, data, root):
    """(model, fit keyword arguments without callbacks, callbacks) of configuration `name`."""
    loss_kind, metrics, keras_freq, ours, validation = CONFIGS[name]
    keras.utils.set_random_seed(0)
    model = recommender(args)
    log_dir = tempfile.mkdtemp(prefix="run", dir=root)
    train, x_val, y_val, val = data
    if loss_kind == "keras":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    compiled = None
    if metrics == "user":
        compiled = [*loss_components(loss), PredictionEntropy(from_logits=True)]
    elif metrics is not None:
        compiled = loss_components(loss, entropy=metrics == "entropy")
    model.compile("adam", loss=loss, metrics=compiled)
    callbacks = _callbacks(ours, log_dir, x_val, y_val)
    if keras_freq is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir, update_freq=keras_freq))
    fit_kwargs = {"x": train, "validation_data": val if validation else None, "verbose": 0, "shuffle": False}
    if validation == "arrays":
        fit_kwargs.update(validation_data=(x_val, y_val), validation_batch_size=args.batch)
    return model, fit_kwargs, callbacks


class Baton:
    """Lets threads run one at a time, in the order 0, 1, ..., n-1, 0, ...; skips finished ones."""

    def __init__(self, n):
        self._condition = threading.Condition()
        self._turn = 0
        self._done = [False] * n

    def take(self, i):
        with self._condition:
            self._condition.wait_for(lambda: self._turn == i)

    def pass_on(self, i, finished=False):
        with self._condition:
            self._done[i] = self._done[i] or finished
            if self._turn != i:
                return
            n = len(self._done)
            for step in range(1, n + 1):
                if not self._done[(i + step) % n]:
                    self._turn = (i + step) % n
                    break
            self._condition.notify_all()


class _Enter(keras.callbacks.Callback):
    """First in the callbacks list: waits for the baton, starts the epoch clock."""

    def __init__(self, baton, i, clock):
        super().__init__()
        self.baton, self.i, self.clock = baton, i, clock

    def on_train_begin(self, logs=None):
        self.baton.take(self.i)

    def on_epoch_begin(self, epoch, logs=None):
        self.baton.take(self.i)
        self.clock["start"] = (time.perf_counter(), time.process_time())

    def on_train_end(self, logs=None):
        self.baton.take(self.i)


class _Leave(keras.callbacks.Callback):
    """Last in the callbacks list: stops the epoch clock, passes the baton on."""

    def __init__(self, baton, i, clock, seconds):
        super().__init__()
        self.baton, self.i, self.clock, self.seconds = baton, i, clock, seconds

    def on_train_begin(self, logs=None):
        self.baton.pass_on(self.i)

    def on_epoch_end(self, epoch, logs=None):
        wall, cpu = self.clock["start"]
        self.seconds["wall"].append(time.perf_counter() - wall)
        self.seconds["cpu"].append(time.process_time() - cpu)
        self.baton.pass_on(self.i)

    def on_train_end(self, logs=None):
        self.baton.pass_on(self.i)


def interleaved_epochs(runs, epochs):
    """{clock: {name: [seconds of each epoch]}} of `runs` {name: (model, fit kwargs, callbacks)},
    interleaved; clock "wall" or "cpu"."""
    names = list(runs)
    baton = Baton(len(names))
    seconds = {name: {"wall": [], "cpu": []} for name in names}
    errors = {}

    def fit(i, name):
        model, kwargs, callbacks = runs[name]
        clock = {}
        timers = [_Enter(baton, i, clock), *callbacks, _Leave(baton, i, clock, seconds[name])]
        try:
            model.fit(epochs=epochs, callbacks=timers, **kwargs)
        except BaseException as err:  # report it; never leave the others waiting for the baton
            errors[name] = err
        finally:
            baton.pass_on(i, finished=True)

    threads = [threading.Thread(target=fit, args=(i, name)) for i, name in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, err in errors.items():
        print(f"{name}: fit failed: {type(err).__name__}: {err}")
    return {clock: {name: seconds[name][clock] for name in names} for clock in ("wall", "cpu")}


def ratios(seconds, ours, keras_name):
    """Per-cycle ratios ours / keras, the first cycle dropped."""
    return [a / b for a, b in zip(seconds[ours][1:], seconds[keras_name][1:])]


def _summary(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def _ms(values):
    return f"{1000 * statistics.median(values[1:]):.0f}"


def report(seconds, args, clock):
    cycles = min(len(v) for v in seconds.values()) - 1
    print(f"{clock} time. Embedding({args.users}, {args.dim}) -> Dense({args.items}), batch {args.batch}, "
          f"{args.steps} steps per epoch, validation {args.held_out} rows; {cycles} cycles after the first "
          f"(dropped); ratio = median of per-cycle ratios (min–max)\n")
    rows = [(label, ours, base) for label, ours, base in HEADLINE if ours in seconds and base in seconds]
    if rows:
        print("| configuration | Keras ms/epoch | ours ms/epoch | ours / Keras |")
        print("|---|---|---|---|")
        for label, ours, base in rows:
            print(f"| {label} | {_ms(seconds[base])} | {_ms(seconds[ours])} | "
                  f"{_summary(ratios(seconds, ours, base))} |")
        print()
    rows = [name for name in ABLATION if name in seconds]
    if rows and "keras@epoch" in seconds:
        print('| ablation (update_freq="epoch", validation every epoch) | ms/epoch | / keras@epoch |')
        print("|---|---|---|")
        print(f"| Keras loss + keras.callbacks.TensorBoard (baseline) | {_ms(seconds['keras@epoch'])} | 1 |")
        for name in rows:
            label = "+ PostHocMetrics with calibration (= ours@epoch)" if name == "ours@epoch" else name
            print(f"| {label} | {_ms(seconds[name])} | {_summary(ratios(seconds, name, 'keras@epoch'))} |")
        if "+ PostHocMetrics, no calibration" in seconds and "ours@epoch" in seconds:
            share = [1 - r for r in ratios(seconds, "+ PostHocMetrics, no calibration", "ours@epoch")]
            print(f"\ncalibration's share of the monitored fit (ours@epoch), per cycle 1 − without / with: "
                  f"{100 * statistics.median(share):.1f} % ({100 * min(share):.1f} to {100 * max(share):.1f} %)")
        print()
    if all(name in seconds for name in ("keras@epoch, arrays", *ONE_PASS)):
        before, after = ONE_PASS
        print("| LossMonitor on fit's validation_data (arrays) | ms/epoch | / Keras + TensorBoard | after / before |")
        print("|---|---|---|---|")
        print(f"| Keras loss + keras.callbacks.TensorBoard (baseline) | {_ms(seconds['keras@epoch, arrays'])} | 1 | |")
        for name in ONE_PASS:
            versus = _summary(ratios(seconds, after, before)) if name == after else ""
            print(f"| {name} | {_ms(seconds[name])} | {_summary(ratios(seconds, name, 'keras@epoch, arrays'))} "
                  f"| {versus} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=40, help="steps per epoch")
    parser.add_argument("--held-out", type=int, default=2048)
    parser.add_argument("--cycles", type=int, default=7, help="epochs of each configuration (the first dropped)")
    parser.add_argument("--groups", default="headline,novalidation,ablation",
                        help=f"comma-separated, of {sorted(GROUPS)}")
    parser.add_argument("--raw", action="store_true", help="also print every epoch's time")
    parser.add_argument("--small", action="store_true", help="a quick check: 2000 items, 10 steps, 3 cycles")
    args = parser.parse_args()
    if args.small:
        args.items, args.steps, args.cycles, args.batch, args.held_out = 2000, 10, 3, 128, 256

    names = set()
    for group in args.groups.split(","):
        if group not in GROUPS:
            parser.error(f"--groups must be of {sorted(GROUPS)}, got {group!r}")
        names |= GROUPS[group]
    rng = np.random.default_rng(0)
    n = args.batch * args.steps
    x, y = rng.integers(0, args.users, n).astype("int32"), rng.integers(0, args.items, n)
    x_val = rng.integers(0, args.users, args.held_out).astype("int32")
    y_val = rng.integers(0, args.items, args.held_out)
    data = (
        tf.data.Dataset.from_tensor_slices((x, y)).batch(args.batch),
        x_val,
        y_val,
        tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(args.batch),
    )
    with tempfile.TemporaryDirectory() as root:
        runs = {name: build(name, args, data, root) for name in CONFIGS if name in names}
        seconds = interleaved_epochs(runs, args.cycles)
    for clock in ("cpu", "wall"):
        report(seconds[clock], args, clock)
    if args.raw:
        for clock, per_name in seconds.items():
            for name, values in per_name.items():
                print(f"{clock} {name}: " + " ".join(f"{1000 * v:.0f}" for v in values) + " ms")


if __name__ == "__main__":
    main()
