"""`ExampleLedger` on label noise: its suspects from one training beside cleanlab's from five.

scikit-learn's digits, 70 % for training (stratified), 10 % and 30 % of the training labels flipped
to another class at random; a 128-unit MLP (64 -> 128 relu -> 10 softmax) trained 30 epochs with
Adam (3e-3, batch 16) on `kerasloss.CategoricalGeneralizedCrossEntropy(q=0.7)` (--loss ce: the
plain cross-entropy on logits). Per noise level and seed:

    ledger     one training with ExampleLedger: precision of suspects(k), k = the number flipped;
               F1 of the automatic cut suspects() against the flipped set
    cleanlab   the same model trained 5 more times for 5-fold cross-validated probabilities:
               precision of the k lowest label-quality scores (cleanlab.rank, self-confidence);
               F1 of cleanlab.filter.find_label_issues

Then the cost, on the trained model, interleaved (medians of --repeats, min-max): Keras' predict
pass over the data alone; the ledger's pass (the same predictions, its compiled per-example loss,
margins and confidences, the order check, the O(N) update); its writes (scalars, the TensorBoard
record, ledger.npz). At --scale × the training set too (the examples repeated), where the fixed
costs weigh less; peak resident growth (VmHWM after /proc/self/clear_refs) of each pass there.

    python benchmarks/bench_ledger.py [--seeds 5] [--loss gce|ce] [--backend jax] [--cost-only]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

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
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import StratifiedKFold, train_test_split  # noqa: E402

import kerasloss  # noqa: E402
from kerasloss.callbacks import ExampleLedger  # noqa: E402
from kerasloss.callbacks._heldout import predict  # noqa: E402

BATCH, LEARNING_RATE, FOLDS = 16, 3e-3, 5


def noisy_digits(noise, seed):
    """(x, noisy labels, flipped mask) of the 70 % training split, `noise` of its labels flipped."""
    digits = load_digits()
    x, _, y, _ = train_test_split((digits.data / 16.0).astype("float32"), digits.target, train_size=0.7,
                                  random_state=seed, stratify=digits.target)
    rng = np.random.default_rng(seed)
    flipped = np.zeros(len(y), bool)
    flipped[rng.choice(len(y), int(round(noise * len(y))), replace=False)] = True
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, 10, flipped.sum())) % 10
    return x, noisy, flipped


def mlp(seed):
    keras.utils.set_random_seed(seed)
    logits = args.loss == "ce"
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation=None if logits else "softmax")])
    loss = (kerasloss.SparseCategoricalCrossentropy(from_logits=True) if logits
            else kerasloss.CategoricalGeneralizedCrossEntropy(q=0.7))
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
    model.fit(x, y, epochs=args.epochs, batch_size=BATCH, verbose=0, callbacks=[ledger])
    ours = (flipped[ledger.suspects(k)["id"]].mean(), f1(mask(ledger.suspects()["id"], len(y)), flipped))
    cross = np.zeros((len(y), 10))
    for fold, (fit_part, held) in enumerate(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y)):
        fold_model = mlp(seed + 1 + fold)
        fold_model.fit(x[fit_part], y[fit_part], epochs=args.epochs, batch_size=BATCH, verbose=0)
        cross[held] = probabilities(fold_model.predict(x[held], verbose=0))
    ranked = np.argsort(get_label_quality_scores(y, cross), kind="stable")
    theirs = (flipped[ranked[:k]].mean(), f1(find_label_issues(y, cross), flipped))
    return k, ours, theirs, (model, ledger, x, y)


def summary(values):
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def quality(root):
    print(f"{args.loss} loss, backend {args.backend}, {args.seeds} seeds, {args.epochs} epochs")
    print(f"{'noise':>5} {'seed':>4} {'k':>4} | {'ledger P@k':>10} {'cleanlab P@k':>12} | "
          f"{'ledger cut F1':>13} {'cleanlab F1':>11}")
    kept = None
    for noise in (0.1, 0.3):
        rows = []
        for seed in range(args.seeds):
            start = time.perf_counter()
            k, ours, theirs, trained = one_seed(noise, seed, os.path.join(root, f"noise{noise}_seed{seed}"))
            kept = kept or trained
            rows.append((ours, theirs))
            print(f"{noise:>5} {seed:>4} {k:>4} | {ours[0]:>10.3f} {theirs[0]:>12.3f} | {ours[1]:>13.3f} "
                  f"{theirs[1]:>11.3f}   ({time.perf_counter() - start:.0f} s)", flush=True)
        columns = [[row[i][j] for row in rows] for j in (0, 1) for i in (0, 1)]
        print(f"{noise:>5} median (min-max): ledger P@k {summary(columns[0])}, cleanlab P@k "
              f"{summary(columns[1])}; cut F1 {summary(columns[2])} vs {summary(columns[3])}; ledger P@k >= "
              f"cleanlab's in {sum(a >= b for a, b in zip(columns[0], columns[1]))}/{len(rows)} seeds")
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


def cost(trained, root):
    model, _, x, y = trained
    print(f"\ncost per evaluated epoch, medians of {args.repeats} interleaved (min-max), ms")
    for scale in (1, args.scale):
        xs, ys = np.tile(x, (scale, 1)), np.tile(y, scale)
        ledger = ExampleLedger(os.path.join(root, f"cost{scale}"), (xs, ys))
        ledger.set_model(model)
        ledger.on_train_begin()
        epoch = iter(range(10**6))

        def inference():
            for batch, _, _ in ledger._data:
                keras.ops.convert_to_numpy(predict(model, batch))

        def ledger_pass():
            ledger.stats.update(next(epoch), ledger._pass())

        def record():
            ledger.record(next(epoch))

        samples = {"inference": [], "ledger pass": [], "record": []}
        functions = {"inference": inference, "ledger pass": ledger_pass, "record": record}
        for fn in functions.values():
            fn()
        for _ in range(args.repeats):
            for name, fn in functions.items():
                start = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - start) * 1e3)
        med = {name: statistics.median(values) for name, values in samples.items()}
        low = {name: min(values) for name, values in samples.items()}
        span = {name: f"{min(values):.2f}-{max(values):.2f}" for name, values in samples.items()}
        print(f"N={len(ys):>6}: inference {med['inference']:.2f} ({span['inference']}); ledger pass "
              f"{med['ledger pass']:.2f} ({span['ledger pass']}); bookkeeping "
              f"{100 * (med['ledger pass'] / med['inference'] - 1):+.1f} % of inference (medians), "
              f"{100 * (low['ledger pass'] / low['inference'] - 1):+.1f} % (minimums); writes "
              f"{med['record'] - med['ledger pass']:.2f} ms (medians)")
        if scale != 1:
            growth = {name: peak_growth(fn) / 2**20 for name, fn in functions.items() if name != "record"}
            state = sum(v.nbytes for n, v in ledger.stats.state().items() if n.startswith("sum_"))
            print(f"          peak resident growth: inference {growth['inference']:.1f} MiB, ledger pass "
                  f"{growth['ledger pass']:.1f} MiB; running sums {state / len(ys):.0f} bytes per example")
        ledger.on_train_end()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as root:
        if args.cost_only:
            x, y, flipped = noisy_digits(0.1, 0)
            model = mlp(0)
            model.fit(x, y, epochs=args.epochs, batch_size=BATCH, verbose=0)
            cost((model, None, x, y), root)
        else:
            cost(quality(root), root)
    sys.exit(0)
