"""The `kerasloss` command (also `python -m kerasloss`): report, summary, dashboard.

    kerasloss report LOGDIR [-o report.html]      the tab as one HTML file (`report`)
    kerasloss summary LOGDIR [--format table|markdown|json|csv]     one row per log_dir (`summary`)
    kerasloss dashboard LOGDIR [--port 6006]      TensorBoard on 127.0.0.1 (this machine only)

Exit status: 0 done, 1 no kerasloss runs in LOGDIR (or it is not a directory), 2 bad arguments.
Imports neither kerasloss nor Keras, nor TensorFlow for a local LOGDIR: it starts fast on any machine
with TensorBoard.
"""

import argparse
import subprocess
import sys
import types

from kerasloss_tensorboard import report, summary
from kerasloss_tensorboard.snapshot import NoRunsError, Snapshot


def _report(args):
    size = report.write(args.logdir, args.output)
    print(f"wrote {args.output} ({size / 1e6:.2f} MB)")


def _summary(args):
    # the summary draws no histogram: keep one per tag instead of TensorBoard's 500
    snapshot = Snapshot(args.logdir, samples_per_plugin={"histograms": 1})
    sys.stdout.write(summary.render(summary.rows(snapshot), args.format))


def _dashboard(args):
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", args.logdir,
               "--host", "127.0.0.1", "--port", str(args.port)]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:  # TensorBoard got the Ctrl-C too, and stops
        return 0


def parser():
    """The command's argument parser (its subcommands' `func` run them)."""
    main_parser = argparse.ArgumentParser(
        prog="kerasloss", description="Share and read kerasloss runs: an HTML report, a summary table, "
                                      "the TensorBoard dashboards.")
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="{report,summary,dashboard}")

    def command(name, func, one_line, description):
        sub = commands.add_parser(name, help=one_line, description=description)
        sub.add_argument("logdir", metavar="LOGDIR", help="the log directory (as given to tensorboard --logdir)")
        sub.set_defaults(func=func)
        return sub

    command("report", _report, "write the kerasloss tab of LOGDIR as one self-contained HTML file",
            "Write the kerasloss tab of LOGDIR (what the loss is made of, entropy, diagnostics, post-hoc metrics, "
            "runs compared) as one HTML file that opens from disk in any browser, without a server or the network."
            ).add_argument("-o", "--output", default="report.html", help="the HTML file to write (default: %(default)s)")
    command("summary", _summary, "print one row per log directory of LOGDIR",
            "Print one row per log directory of LOGDIR: loss/total at the last and at the best epoch, each "
            "component's share of loss/total at the end, the post-hoc metrics at the best epoch."
            ).add_argument("--format", choices=summary.FORMATS, default="table",
                           help="table (default), markdown (e.g. a CI job summary), json or csv")
    command("dashboard", _dashboard, "serve LOGDIR with TensorBoard on 127.0.0.1",
            "Run TensorBoard on LOGDIR, reachable from this machine only (127.0.0.1), until Ctrl-C. "
            "For any other TensorBoard flag, run `tensorboard` itself."
            ).add_argument("--port", type=int, default=6006, help="the port (default: %(default)s)")
    return main_parser


def _read_local_files_without_tensorflow(logdir):
    """Let TensorBoard read a local `logdir` with its own file reader (`tensorboard.compat.notf`, its
    switch for that), unless TensorFlow is already imported: importing TensorFlow only to read local
    files cost 5-10 s of a `summary` (gs:// and other remote file systems need TensorFlow's)."""
    if "://" not in logdir and "tensorflow" not in sys.modules:
        sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))


def main(argv=None):
    args = parser().parse_args(argv)
    if args.command in ("report", "summary"):
        _read_local_files_without_tensorflow(args.logdir)
    try:
        return args.func(args) or 0
    except NoRunsError as err:
        print(f"kerasloss {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
