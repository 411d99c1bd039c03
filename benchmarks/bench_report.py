"""`kerasloss report` and `kerasloss summary` on many log directories, against TensorBoard's own ingestion.

    python benchmarks/bench_report.py                 # 50 log dirs × 100 epochs, 5 repeats
    python benchmarks/bench_report.py --dirs 10 --epochs 20 --repeats 2

Writes the logs first (with kerasloss' own writer, as LossMonitor writes them: runs train and
validation with loss/total, two components, regularization and entropy/mean; a per-example
entropy histogram in validation; two post-hoc metrics), then times, interleaved, in this process,
with each of TensorBoard's two readers (its data server, the default; its Python ingester):

    ingestion   reading the directory (`Snapshot`, which also lists the groups)
    summary     the same plus `summary.rows` and the table
    report      the same plus every route's answer and the HTML (`report.render`)

and, interleaved, the command lines as a user runs them (a new Python process: imports included;
TensorFlow is not imported for a local LOGDIR). Prints wall-time medians with their min–max.
Never asserts: the issue's budgets (summary ≤ 2 s, report ≤ 5 s) are printed beside the figures.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kerasloss_tensorboard import report, summary  # noqa: E402
from kerasloss_tensorboard.snapshot import Snapshot  # noqa: E402


def write_logs(root, dirs, epochs):
    """`dirs` log_dirs of `epochs` epochs each under `root`, written by kerasloss' own writer."""
    from kerasloss.callbacks import summaries

    rng = np.random.default_rng(0)
    for d in range(dirs):
        log_dir = os.path.join(root, f"run_{d:02d}")
        for epoch in range(epochs):
            for run in (summaries.TRAIN, summaries.VALIDATION):
                ce, uniform, l2 = rng.random(3)
                summaries.write_scalars(log_dir, run, epoch, {
                    "loss/total": 0.9 * ce + 0.1 * uniform + l2, "loss/cross_entropy": ce,
                    "loss/uniform_cross_entropy": uniform, "loss/regularization": l2,
                    "entropy/mean": rng.random()})
            summaries.write_histogram(log_dir, summaries.VALIDATION, "entropy/per_example", rng.random(1000), epoch)
            summaries.write_scalars(log_dir, summaries.POSTHOC, epoch,
                                    {"metrics/accuracy": rng.random(), "metrics/auc": rng.random()})
        summaries.close(log_dir)


def _ingestion(logdir):
    Snapshot(logdir)


def _summary(logdir):
    summary.render(summary.rows(Snapshot(logdir, samples_per_plugin={"histograms": 1})))


def _report(logdir):
    return len(report.render(Snapshot(logdir)).encode("utf-8"))


def _use_reader(data_server_binary):
    """TensorBoard's data server (None) or, naming a missing binary, its Python ingester."""
    if data_server_binary is None:
        os.environ.pop("TENSORBOARD_DATA_SERVER_BINARY", None)
    else:
        os.environ["TENSORBOARD_DATA_SERVER_BINARY"] = data_server_binary


def _size(root):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dirs", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kerasloss-bench-report-") as root:
        start = time.perf_counter()
        write_logs(root, args.dirs, args.epochs)
        print(f"{args.dirs} log dirs × {args.epochs} epochs: {_size(root) / 1e6:.1f} MB of event files "
              f"(written in {time.perf_counter() - start:.0f} s)")
        steps = {"ingestion": _ingestion, "summary": _summary, "report": _report}
        # TensorBoard's own switch: its data server's binary, here one that does not exist
        readers = {"data server": None, "python": os.path.join(root, "no-data-server")}
        rows = [(reader, name) for reader in readers for name in steps]
        wall = {row: [] for row in rows}
        for _ in range(args.repeats):
            for reader, name in rows:
                _use_reader(readers[reader])
                start = time.perf_counter()
                steps[name](root)
                wall[reader, name].append(time.perf_counter() - start)
        _use_reader(None)
        budgets = {"summary": "≤ 2 s", "report": "≤ 5 s"}
        print(f"\nin this process (TensorFlow imported), {args.repeats} interleaved repeats, wall s:")
        print(f"{'reader':<12} {'':<10} {'median (min–max)':>18} {'× data server':>14} {'budget':>7}")
        for reader, name in rows:
            times = wall[reader, name]
            ratio = statistics.median(times) / statistics.median(wall["data server", name])
            print(f"{reader:<12} {name:<10} {statistics.median(times):>7.2f} ({min(times):.2f}–{max(times):.2f})"
                  f" {ratio:>14.2f} {budgets.get(name, ''):>7}")
        print(f"report size: {_report(root) / 1e6:.2f} MB")
        commands = {"summary": [root], "report": [root, "-o", os.path.join(root, "report.html")]}
        command_wall = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, rest in commands.items():
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "kerasloss_tensorboard.cli", name, *rest], check=True,
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                command_wall[name].append(time.perf_counter() - start)
        print(f"\nthe command line (a new process each, imports included; TensorFlow is not imported for a "
              f"local LOGDIR), {args.repeats} interleaved repeats:")
        for name, times in command_wall.items():
            print(f"  kerasloss {name:<8} {statistics.median(times):6.2f} s ({min(times):.2f}–{max(times):.2f})"
                  f"   budget {budgets[name]}")


if __name__ == "__main__":
    main()
