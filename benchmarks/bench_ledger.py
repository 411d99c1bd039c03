"""`ExampleLedger` on label noise: its suspects from one training beside cleanlab's from five.

The data and model of examples/label_noise.py (imported from there): scikit-learn's digits, 70 %
for training (stratified; pixels standardized over it), 10 % and 30 % of the training labels
flipped to another class at random; its 128-unit MLP (dropout 0.75 on the hidden layer) trained 30
epochs with Adam (3e-3, batch 16) on `kerasloss.CategoricalGeneralizedCrossEntropy(q=0.5)` (--loss
ce: the plain cross-entropy on logits). Per noise level and seed:

    ledger     one training with ExampleLedger: precision of suspects(k), k = the number flipped
               (and how many unflipped examples are among those k); F1 of the automatic cut
               suspects() against the flipped set
    cleanlab   the same model trained 5 more times for 5-fold cross-validated probabilities:
               precision of the k lowest label-quality scores (cleanlab.rank, self-confidence);
               F1 of cleanlab.filter.find_label_issues

then per noise level the minimum and median over the seeds, and on how many seeds each target holds.

Then the cost per evaluated epoch on the trained model, in rounds that interleave (medians of
--repeats rounds, min-max):
    inference   Keras' predict pass over the data alone
    pass        the ledger's pass and its O(N) update (the same predictions, its compiled
                per-example signals, the order check, the running sums, the top_k's trajectories)
    record      the whole evaluation: the pass and its writes (scalars, TensorBoard record, ledger.npz)
and, per round, timed inside the pass: the bookkeeping (gathering the chunks, the labels and
their order check, the running sums, the top_k's trajectories) as a share of the rest of that pass
(its inference: reading the data, Keras' predictions, the per-example signals, one compiled call
per chunk); the signals and bookkeeping together as a share of the data and predictions; and
pass / inference - 1 from the interleaved passes. At --scale × the training set too (the
examples repeated), where the fixed costs weigh less; peak resident growth (VmHWM after
/proc/self/clear_refs) of each pass there.

    python benchmarks/bench_ledger.py [--seeds 5] [--loss gce|ce] [--backend jax] [--cost-only]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--seeds", type=int, default=5)
parser.add_argument("--loss", choices=("gce", "ce"), default="gce")
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--repeats", type=int, default=21)
parser.add_argument("--scale", type=int, default=32)
parser.add_argument("--cost-only", action="store_true", help="skip the comparison: one training, then the cost")
parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "jax"))
args = parser.parse_args()
os.environ["KERAS_BACKEND"] = args.backend

import keras  # noqa: E402
import numpy as np  # noqa: E402
from cleanlab.filter import find_label_issues  # noqa: E402
from cleanlab.rank import get_label_quality_scores  # noqa: E402
from label_noise import BATCH_SIZE, LEARNING_RATE, digits_mlp, noisy_digits  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from kerasloss.callbacks import ExampleLedger  # noqa: E402
from kerasloss.callbacks._heldout import predict, to_numpy  # noqa: E402

FOLDS = 5
TARGETS = {0.1: 0.95, 0.3: 0.97}  # precision at k the issue asks for, on every seed


def mlp(seed):
    model, loss = digits_mlp(args.loss, seed)
    model.compile(keras.optimizers.Adam(LEARNING_RATE), loss)
    return model


def probabilities(outputs):
    outputs = np.asarray(outputs, np.float64)
    if args.loss == "gce":
        return outputs
    z = np.exp(outputs - outputs.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def f1(selected, flipped):
    hits = int((selected & flipped).sum())
    return 2 * hits / (selected.sum() + flipped.sum()) if hits else 0.0


def mask(indices, size):
    selected = np.zeros(size, bool)
    selected[indices] = True
    return selected


def one_seed(noise, seed, log_dir):
    x, y, flipped = noisy_digits(noise, seed)
    k = int(flipped.sum())
    model = mlp(seed)
    ledger = ExampleLedger(log_dir, (x, y))
    model.fit(x, y, epochs=args.epochs, batch_size=BATCH_SIZE, verbose=0, callbacks=[ledger])
    ours = (flipped[ledger.suspects(k)["id"]].mean(), f1(mask(ledger.suspects()["id"], len(y)), flipped))
    cross = np.zeros((len(y), 10))
    for fold, (fit_part, held) in enumerate(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y)):
        fold_model = mlp(seed + 1 + fold)
        fold_model.fit(x[fit_part], y[fit_part], epochs=args.epochs, batch_size=BATCH_SIZE, verbose=0)
        cross[held] = probabilities(fold_model.predict(x[held], verbose=0))
    ranked = np.argsort(get_label_quality_scores(y, cross), kind="stable")
    theirs = (flipped[ranked[:k]].mean(), f1(find_label_issues(y, cross), flipped))
    return k, ours, theirs, (model, x, y)


def spread(values, fmt=".3f"):
    """median (min-max) of `values`."""
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def quality(root):
    print(f"{args.loss} loss, backend {args.backend}, {args.seeds} seeds, {args.epochs} epochs")
    print(f"{'noise':>5} {'seed':>4} {'k':>4} | {'ledger P@k':>10} {'unflipped':>9} {'cleanlab P@k':>12} | "
          f"{'ledger cut F1':>13} {'cleanlab F1':>11}")
    kept = None
    for noise in (0.1, 0.3):
        rows = []
        for seed in range(args.seeds):
            start = time.perf_counter()
            k, ours, theirs, trained = one_seed(noise, seed, os.path.join(root, f"noise{noise}_seed{seed}"))
            kept = kept or trained
            rows.append((ours, theirs))
            print(f"{noise:>5} {seed:>4} {k:>4} | {ours[0]:>10.3f} {round(k * (1 - ours[0])):>9} {theirs[0]:>12.3f} | "
                  f"{ours[1]:>13.3f} {theirs[1]:>11.3f}   ({time.perf_counter() - start:.0f} s)", flush=True)
        precision, their_precision = [r[0][0] for r in rows], [r[1][0] for r in rows]
        cut, their_cut = [r[0][1] for r in rows], [r[1][1] for r in rows]
        target = TARGETS[noise]
        print(f"{noise:>5} ledger P@k min {min(precision):.3f}, median {statistics.median(precision):.3f} "
              f"(target >= {target} on every seed: {sum(p >= target for p in precision)}/{len(rows)} seeds); "
              f"cleanlab P@k min {min(their_precision):.3f}, median {statistics.median(their_precision):.3f}")
        print(f"{'':>5} ledger P@k >= cleanlab's on {sum(a >= b for a, b in zip(precision, their_precision))}/"
              f"{len(rows)} seeds; cut F1 min {min(cut):.3f} vs cleanlab's {min(their_cut):.3f} (medians "
              f"{statistics.median(cut):.3f} vs {statistics.median(their_cut):.3f}), >= cleanlab's on "
              f"{sum(a >= b for a, b in zip(cut, their_cut))}/{len(rows)} seeds")
    return kept


def peak_growth(fn):
    """Peak resident growth (bytes) of one call of `fn` (VmHWM after resetting it)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status("VmRSS")
    fn()
    return _status("VmHWM") - before


def _status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))


class Stopwatch:
    """Wraps a function; `total` is the seconds spent in its calls since it was last set to 0."""

    def __init__(self, fn):
        self.fn, self.total = fn, 0.0

    def __call__(self, *a):
        start = time.perf_counter()
        out = self.fn(*a)
        self.total += time.perf_counter() - start
        return out


def cost(trained, root):
    model, x, y = trained
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\ncost per evaluated epoch, {args.repeats} interleaved rounds, medians (min-max); load average {load} "
          f"on {os.cpu_count()} cores")
    for scale in (1, args.scale):
        xs, ys = np.tile(x, (scale, 1)), np.tile(y, scale)
        ledger = ExampleLedger(os.path.join(root, f"cost{scale}"), (xs, ys))
        ledger.set_model(model)
        ledger.on_train_begin()
        watches = {  # what the ledger adds to its inference pass, timed inside it
            "signals": Stopwatch(ledger._signals),  # the compiled call, its rows in NumPy
            "chunks": Stopwatch(ledger._chunk_signals),  # labels, order check, signals
            "update": Stopwatch(ledger.stats.update),
        }
        ledger._signals, ledger._chunk_signals, ledger.stats.update = (
            watches["signals"], watches["chunks"], watches["update"])
        epoch = iter(range(10**6))

        def inference():
            for batch, _, _ in ledger._data:
                to_numpy(predict(model, batch))

        def ledger_pass():
            ledger.stats.update(next(epoch), ledger._pass())

        def record():
            ledger.record(next(epoch))

        functions = {"inference": inference, "pass": ledger_pass, "record": record}
        samples = {name: [] for name in (*functions, *watches)}
        for fn in functions.values():
            fn()
        for _ in range(args.repeats):
            for name, fn in functions.items():
                for watch in watches.values():
                    watch.total = 0.0
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
                if name == "pass":
                    for watch_name, watch in watches.items():
                        samples[watch_name].append(watch.total)
        ms = {name: [1e3 * v for v in values] for name, values in samples.items()}
        added = [c + u for c, u in zip(samples["chunks"], samples["update"])]
        bookkeeping = [a - s for a, s in zip(added, samples["signals"])]
        share = {  # per round, of the same pass
            "bookkeeping": [b / (p - b) for b, p in zip(bookkeeping, samples["pass"])],
            "added": [a / (p - a) for a, p in zip(added, samples["pass"])],
            "interleaved": [p / i - 1 for p, i in zip(samples["pass"], samples["inference"])],
        }
        writes = [r - p for r, p in zip(ms["record"], ms["pass"])]
        pct = ".1%"
        print(f"N={len(ys):>6}: inference {spread(ms['inference'], '.2f')} ms; pass {spread(ms['pass'], '.2f')} ms: "
              f"signals {spread(ms['signals'], '.2f')} ms, bookkeeping {spread([1e3 * b for b in bookkeeping], '.2f')} "
              f"ms; writes {spread(writes, '.1f')} ms")
        print(f"          bookkeeping / the rest of the pass (data, predictions, signals) {spread(share['bookkeeping'], pct)}; "
              f"signals and bookkeeping / the rest (data, predictions) {spread(share['added'], pct)}; "
              f"interleaved pass / inference - 1 {spread(share['interleaved'], pct)}")
        if scale != 1:
            growth = {name: peak_growth(fn) / 2**20 for name, fn in functions.items() if name != "record"}
            held = ledger.stats.held_bytes()
            print(f"          peak resident growth: inference {growth['inference']:.1f} MiB, ledger pass "
                  f"{growth['pass']:.1f} MiB; the ledger's statistics after {len(ledger.stats.epochs)} passes "
                  f"{held / len(ys):.1f} bytes per example (running sums, predictions, the top_k's history)")
        ledger.on_train_end()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as root:
        if args.cost_only:
            x, y, flipped = noisy_digits(0.1, 0)
            model = mlp(0)
            model.fit(x, y, epochs=args.epochs, batch_size=BATCH_SIZE, verbose=0)
            cost((model, x, y), root)
        else:
            cost(quality(root), root)
    sys.exit(0)
