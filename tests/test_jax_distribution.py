"""kerasloss under Keras' distribution API on JAX: `DataParallel` `fit` over 2 devices and 2 processes.

JAX fixes its devices when it starts, so the 2-device case runs in a fresh interpreter (this file run
as a script, `--two-devices`, with `XLA_FLAGS=--xla_force_host_platform_device_count=2`) that trains
the same model with and without `keras.distribution.DataParallel` and prints every measured value
as JSON; the tests below read it. The model has one independent head per loss of
tests/test_distribute.py's case table, plus the probability-input cross-entropies: one trace serves
every loss, and no weight is shared, so each head's trajectory depends on its own loss only.

Unlike `tf.distribute` replicas, `DataParallel` runs one program over the global batch (the batch
axis is sharded, XLA adds the partial sums), so every loss, `ignore_class`, RMSE and
`"mean_with_sample_weight"` included, equals the one-device run: no per-replica normalisation.
The data make the two devices' halves hold different numbers of valid labels and different weights,
so a per-replica mean would show (tests/test_distribute.py measures it at up to 2% under TF).

The 2-process case runs examples/multi_worker.py's JAX route: two processes on 127.0.0.1 joined by
`keras.distribution.initialize` (gloo CPU collectives), with the kerasloss callbacks on both; a
second pair (this file run as a script, `--resume-process i`) resumes a `fit` into log_dirs that
already hold events, to show that process 1 changes nothing on disk.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasloss.callbacks._writers import FIT_OFFSETS
from tests.helpers.network import free_port
from tests.test_distribute import CASES, EPOCHS, GLOBAL_BATCH, TOLERANCE, _multi_worker_example, case_data

pytestmark = pytest.mark.backends("jax")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The probability-input cross-entropies, beside test_distribute's cases (from logits there).
JAX_CASES = dict(
    CASES,
    binary_probs=("kerasloss.BinaryCrossentropy(label_smoothing=0.2)", "binary_probs"),
    sparse_probs=("kerasloss.SparseCategoricalCrossentropy(label_smoothing=0.1)", "sparse_probs"),
)
CLASSIFICATION = ("binary", "binary_probs", "categorical", "categorical_probs", "sparse", "sparse_probs")
SCENARIO_TIMEOUT = 120


# ------------------------------------------------------------------------------------------------
# The subprocess (run as `python tests/test_jax_distribution.py --two-devices`)
# ------------------------------------------------------------------------------------------------


def _two_devices_main():
    import jax

    import kerasloss
    from kerasloss.callbacks import LossComponentLogger
    from kerasloss.metrics import loss_components

    # ignore_class=0: the two halves of every global batch (one per device) hold different counts
    x, weights, sparse, targets = case_data()
    targets.update(binary_probs=(targets["binary"][0], 3, "sigmoid"), sparse_probs=(sparse, 4, "softmax"))

    def fit(distribution, log_dir):
        keras.distribution.set_distribution(distribution)
        keras.utils.set_random_seed(5)
        inputs = keras.Input((6,))
        outputs, losses, metrics = {}, {}, {}
        for name, (source, task) in JAX_CASES.items():
            _, units, activation = targets[task]
            hidden = keras.layers.Dense(8, activation="tanh")(inputs)
            outputs[name] = keras.layers.Dense(units, activation=activation, name=name)(hidden)
            losses[name] = eval(source, {"kerasloss": kerasloss})
            metrics[name] = loss_components(losses[name], entropy=task in CLASSIFICATION)
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.SGD(0.05), loss=losses, metrics=metrics)
        labels = {name: targets[task][0] for name, (_, task) in JAX_CASES.items()}
        history = model.fit(x, labels, sample_weight=weights, batch_size=GLOBAL_BATCH, epochs=EPOCHS,
                            shuffle=False, verbose=0, callbacks=[LossComponentLogger(log_dir)])
        kernel = model.trainable_variables[0].value
        return {
            "history": history.history,
            "weights": [np.asarray(w).tolist() for w in model.get_weights()],
            "weight_devices": len(kernel.sharding.device_set),
        }

    log_dir = sys.argv[sys.argv.index("--log-dir") + 1]
    results = {
        "devices": jax.device_count(),
        "single": fit(None, os.path.join(log_dir, "single")),
        "data_parallel": fit(keras.distribution.DataParallel(), os.path.join(log_dir, "data_parallel")),
    }
    print("RESULTS " + json.dumps(results))


def _resume_main():
    """One of 2 processes resuming a `fit` (initial_epoch=1) into its own, already written, log_dir.

    One logger is made before `initialize` (asking who is chief must not start JAX's backend, or
    `initialize` would fail), one after it, on `<log_dir>/late`, which only process 0 may create.
    """
    from kerasloss.callbacks import LossComponentLogger
    from kerasloss.distribute import is_chief
    from kerasloss.metrics import loss_components

    index = int(sys.argv[sys.argv.index("--resume-process") + 1])
    coordinator = sys.argv[sys.argv.index("--coordinator") + 1]
    log_dir = sys.argv[sys.argv.index("--log-dir") + 1]
    early = LossComponentLogger(log_dir)
    keras.distribution.initialize(coordinator, num_processes=2, process_id=index)
    keras.distribution.set_distribution(keras.distribution.DataParallel(auto_shard_dataset=False))
    late = LossComponentLogger(os.path.join(log_dir, "late"))

    multi_worker = _multi_worker_example()
    keras.utils.set_random_seed(3)
    x, y, _ = multi_worker.make_data()
    model, loss = multi_worker.build_model()
    model.compile(keras.optimizers.SGD(0.1), loss=loss, metrics=loss_components(loss))
    history = model.fit(multi_worker.process_share(x, index, 2), multi_worker.process_share(y, index, 2),
                        batch_size=multi_worker.GLOBAL_BATCH // 2, initial_epoch=1, epochs=2,
                        shuffle=False, verbose=0, callbacks=[early, late])
    print("RESULTS " + json.dumps({"chief": is_chief(), "loss": history.history["loss"]}))


# ------------------------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------------------------


def _results(returncode, output):
    """The JSON a scenario process printed on its `RESULTS ` line (it must have exited with 0)."""
    lines = [line for line in output.splitlines() if line.startswith("RESULTS ")]
    assert returncode == 0 and lines, output[-5000:]
    return json.loads(lines[-1][len("RESULTS "):])


def _relative(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(np.abs(np.asarray(b)), 1e-12)


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("jax_two_devices")
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT,
               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--two-devices", "--log-dir", str(log_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=SCENARIO_TIMEOUT,
        env=env, cwd=ROOT,
    )
    results = _results(done.returncode, done.stdout)
    results["log_dir"] = str(log_dir)
    return results


def test_data_parallel_spans_two_devices(two_devices):
    assert two_devices["devices"] == 2
    assert two_devices["data_parallel"]["weight_devices"] == 2
    assert two_devices["single"]["weight_devices"] == 1


@pytest.mark.parametrize("case", list(JAX_CASES))
def test_data_parallel_history_equals_one_device(two_devices, case):
    """Every case, per-replica ones of tf.distribute included: one program over the global batch."""
    single = two_devices["single"]["history"]
    parallel = two_devices["data_parallel"]["history"]
    keys = [key for key in single if key == f"{case}_loss" or key.startswith(f"{case}_loss/")
            or key == f"{case}_entropy"]
    assert any("/" in key for key in keys), keys
    assert (f"{case}_entropy" in keys) == (JAX_CASES[case][1] in CLASSIFICATION)
    for key in keys:
        assert _relative(parallel[key], single[key]).max() <= TOLERANCE, key


def test_data_parallel_total_loss_and_weights_equal_one_device(two_devices):
    single, parallel = two_devices["single"], two_devices["data_parallel"]
    assert _relative(parallel["history"]["loss"], single["history"]["loss"]).max() <= TOLERANCE
    assert len(parallel["weights"]) == len(single["weights"]) == 4 * len(JAX_CASES)
    for mine, reference in zip(parallel["weights"], single["weights"]):
        np.testing.assert_allclose(mine, reference, rtol=TOLERANCE, atol=1e-6)


def test_loss_component_logger_under_data_parallel_logs_the_one_device_values(two_devices):
    from tests.helpers import tensorboard_reader

    single = tensorboard_reader.scalars(os.path.join(two_devices["log_dir"], "single"), "train")
    parallel = tensorboard_reader.scalars(os.path.join(two_devices["log_dir"], "data_parallel"), "train")
    assert set(parallel) == set(single)
    assert {"loss/total", "sparse/loss/cross_entropy", "rmse/loss/squared_error"} <= set(parallel)
    for tag, points in single.items():
        assert [step for step, _ in parallel[tag]] == [step for step, _ in points] == list(range(EPOCHS))
        assert _relative([v for _, v in parallel[tag]], [v for _, v in points]).max() <= TOLERANCE, tag


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """examples/multi_worker.py's JAX route: 2 processes and a single one, the callbacks on all."""
    log_dir = tmp_path_factory.mktemp("jax_two_processes") / "logs"
    results = _multi_worker_example().launch(str(log_dir), epochs=EPOCHS, timeout=SCENARIO_TIMEOUT,
                                             backend="jax")
    results["log_dir"] = log_dir
    return results


def test_two_processes_run_one_data_parallel_fit(two_processes):
    for worker in ("worker0", "worker1"):
        assert two_processes[worker]["processes"] == 2
        assert two_processes[worker]["devices"] == 2
    assert two_processes["single"]["processes"] == 1
    assert two_processes["worker0"]["chief"] and not two_processes["worker1"]["chief"]


def test_two_process_fit_equals_single_process(two_processes):
    worker0, worker1, single = (two_processes[k] for k in ("worker0", "worker1", "single"))
    assert set(worker0["epochs"][0]) == {"loss", "loss/cross_entropy", "loss/uniform_cross_entropy",
                                         "loss/z_loss", "entropy"}
    assert two_processes["max_relative_difference"] <= TOLERANCE
    # both processes read the same global metric state
    assert worker1["epochs"] == worker0["epochs"]
    for mine, reference in zip(worker0["weights"], single["weights"]):
        np.testing.assert_allclose(mine, reference, rtol=TOLERANCE, atol=1e-6)
    assert worker0["posthoc"] == worker1["posthoc"] == pytest.approx(single["posthoc"], rel=TOLERANCE)


def test_only_process_zero_writes_tensorboard_files(two_processes):
    log_dir = two_processes["log_dir"]
    files = sorted(p.relative_to(log_dir) for p in log_dir.rglob("*") if p.is_file())
    assert sorted({f.parts[0] if len(f.parts) > 1 else "." for f in files}) == [
        ".", "posthoc", "train", "validation"], files
    chief, other = (f".{two_processes[w]['pid']}." for w in ("worker0", "worker1"))
    events = [f for f in files if f.name != FIT_OFFSETS]
    assert len(events) == len(files) - 1, files  # and the fit's step offsets (process 1 writes none)
    assert all(f.name.startswith("events.out.tfevents.") and chief in f.name for f in events), files
    assert not any(other in f.name for f in files)


def test_chief_logs_the_two_process_values(two_processes):
    from tests.helpers import tensorboard_reader

    logged = tensorboard_reader.all_scalars(two_processes["log_dir"])
    worker0 = two_processes["worker0"]
    expected = {"loss/total": "loss", "loss/cross_entropy": "loss/cross_entropy",
                "loss/z_loss": "loss/z_loss"}
    for tag, key in expected.items():
        assert [step for step, _ in logged["train"][tag]] == list(range(EPOCHS))
        assert [v for _, v in logged["train"][tag]] == pytest.approx(
            [epoch[key] for epoch in worker0["epochs"]], rel=1e-6), tag
    assert logged["posthoc"]["metrics/accuracy"][-1][1] == pytest.approx(
        worker0["posthoc"]["accuracy"], rel=1e-6)


def test_chief_logs_what_the_single_process_logs(two_processes):
    """Every tag of every run, held-out passes included (each process gives the whole held-out set)."""
    from tests.helpers import tensorboard_reader

    logged = tensorboard_reader.all_scalars(two_processes["log_dir"])
    single = tensorboard_reader.all_scalars(os.path.join(two_processes["scratch"], "single_logs"))
    assert {run: set(tags) for run, tags in logged.items()} == {run: set(tags) for run, tags in single.items()}
    assert {"loss/regularization", "entropy/mean"} <= set(logged["train"])
    assert "entropy/mean" in logged["validation"]
    for run, tags in single.items():
        for tag, points in tags.items():
            assert [s for s, _ in logged[run][tag]] == [s for s, _ in points], (run, tag)
            assert _relative([v for _, v in logged[run][tag]], [v for _, v in points]).max() <= TOLERANCE


def _tree(log_dir):
    """{path: bytes (files) or None (directories)} of everything under `log_dir`."""
    return {p: p.read_bytes() if p.is_file() else None for p in sorted(log_dir.rglob("*"))}


def test_a_resumed_fit_changes_nothing_in_the_other_process_log_dir(tmp_path):
    """Process 1 gets a log_dir of its own holding epochs 0 and 1: resuming at epoch 1 supersedes
    them in process 0's log_dir only; process 1's files stay byte for byte, and it adds nothing."""
    from tests.helpers import tensorboard_reader

    from kerasloss.callbacks import summaries

    log_dirs = [tmp_path / f"process{i}" for i in range(2)]
    for log_dir in log_dirs:
        for step in range(2):
            summaries.write_scalars(str(log_dir), summaries.TRAIN, step, {"loss/total": 100.0 + step})
        summaries.close(str(log_dir))
    before = _tree(log_dirs[1])
    coordinator = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    processes = [subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--resume-process", str(i), "--coordinator",
         coordinator, "--log-dir", str(log_dirs[i])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
    ) for i in range(2)]
    try:
        outputs = [process.communicate(timeout=SCENARIO_TIMEOUT)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    results = [_results(process.returncode, output) for process, output in zip(processes, outputs)]
    assert [r["chief"] for r in results] == [True, False]
    assert _tree(log_dirs[1]) == before
    assert (log_dirs[0] / "late" / "train").is_dir()
    logged = tensorboard_reader.scalars(log_dirs[0], "train")["loss/total"]
    assert [step for step, _ in logged] == [0, 1]
    assert logged[0][1] == 100.0   # kept
    assert logged[1][1] == pytest.approx(results[0]["loss"][0], rel=1e-6)   # superseded, then written


if __name__ == "__main__" and "--two-devices" in sys.argv:
    _two_devices_main()
if __name__ == "__main__" and "--resume-process" in sys.argv:
    _resume_main()
