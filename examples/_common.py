"""What the examples share: quiet TensorFlow, their argument parser, fresh log runs, reading logs
back, the dashboard command."""

import argparse
import contextlib
import os
import shutil
import sys
import tempfile

# Before TensorFlow is imported anywhere: its C++ INFO lines would bury Keras' progress bar.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RUNS = ("train", "validation", "posthoc")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def quiet_tensorflow_start():
    """Hold back what TensorFlow's C++ runtime prints to stderr while it starts.

    Recent TensorFlow builds log oneDNN/CUDA INFO lines through absl before TF_CPP_MIN_LOG_LEVEL is
    read, so the variable cannot hide them. The held-back text is replayed if starting fails.
    Use around the first `import keras` and the first op (which initialises the devices).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def start_keras():
    """`import keras` with the runtime's start-up lines held back (see `quiet_tensorflow_start`)."""
    with quiet_tensorflow_start():
        import keras

        keras.ops.convert_to_numpy(keras.ops.zeros(()))   # the first op initialises the devices
    return keras


def argument_parser(doc):
    """An argument parser described by the first paragraph of `doc` that shows every default."""
    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )


def fresh_runs(log_dir, runs=RUNS):
    """Remove the runs a previous invocation left in `log_dir`, so TensorBoard shows one run each.

    Only `log_dir/<run>` for the given runs and the event files directly in `log_dir` are removed.
    Says which runs it replaces, and returns them.
    """
    removed = []
    for run in runs:
        path = os.path.join(log_dir, run)
        if os.path.isdir(path):
            shutil.rmtree(path)
            removed.append(run)
    if os.path.isdir(log_dir):
        for name in os.listdir(log_dir):
            if name.startswith("events.out.tfevents."):
                os.remove(os.path.join(log_dir, name))
    if removed:
        print(f"Replacing the previous runs in {log_dir}: {', '.join(removed)}")
    return removed


def last_scalars(run_dir):
    """Tag -> value at the last logged step of every scalar in the run, read back from its events."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    accumulator = event_accumulator.EventAccumulator(
        run_dir, size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    values = {}
    for tag in accumulator.Tags()[event_accumulator.TENSORS]:   # tf.summary (v2) writes tensors
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
            last = accumulator.Tensors(tag)[-1]
            values[tag] = float(tensor_util.make_ndarray(last.tensor_proto))
    return values


def loss_tags_in_order(values):
    """The `loss/` entries of `values`: total first, then the components, regularization last."""
    tags = sorted(tag for tag in values if tag.startswith("loss/"))
    first = [t for t in tags if t == "loss/total"]
    last = [t for t in tags if t == "loss/regularization"]
    middle = [t for t in tags if t not in first + last]
    return {tag: values[tag] for tag in first + middle + last}


def dashboard_command(tensorboard_logdir):
    """(make command, direct tensorboard command) serving `tensorboard_logdir` on 127.0.0.1:6006."""
    in_repo_runs = os.path.abspath(tensorboard_logdir) == os.path.join(REPO, "runs")
    make = "make dashboard" if in_repo_runs else f"make dashboard LOGDIR={os.path.abspath(tensorboard_logdir)}"
    tensorboard = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    if not os.path.exists(tensorboard):
        tensorboard = "tensorboard"
    direct = f"{tensorboard} --logdir {tensorboard_logdir} --host 127.0.0.1 --port 6006"
    return make, direct


def print_table(title, values, fmt="{:.4f}"):
    print(title)
    width = max((len(k) for k in values), default=0)
    for key, value in values.items():
        print(f"  {key:<{width}}  {fmt.format(value)}")
