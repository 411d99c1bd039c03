"""Multi-worker training with kerasloss losses and logging: a TensorFlow custom loop, or JAX `fit`.

Two routes (docs/distributed.md says which to take when):

- `--backend tensorflow` (default): Keras 3's `fit` does not run under `MultiWorkerMirroredStrategy`
  (keras-team/keras#20585), so this route trains with a custom `strategy.run` loop and logs with
  `kerasloss.distribute.CustomLoopLogger`: the same runs and tags as the callbacks, written by the
  chief only.
- `--backend jax`: Keras' own `fit` under `keras.distribution.DataParallel`, the processes joined by
  `keras.distribution.initialize` (JAX's gloo CPU collectives here), with the kerasloss callbacks on
  every process; process 0 writes, the others write nothing.

    python examples/multi_worker.py --logdir runs/multi_worker [--backend jax]

launches two worker processes on 127.0.0.1 (TensorFlow: each with its own `TF_CONFIG` and a free
port; JAX: the coordinator's free port), trains the same model on the same global batches in a
single process meanwhile, then prints both runs' epoch values and their largest relative
difference. `tensorboard --logdir runs/multi_worker` shows the chief's runs (TensorFlow: `train`,
`posthoc`; JAX: also `validation` and the dashboards). Worker 1 writes no event file.

Modes (the launcher calls the script again in the others):
    (default)               launch both workers, run the single-worker comparison meanwhile
                            (TensorFlow: in the launcher's own process; JAX: a third process), compare
    --role worker --index i one worker of the cluster (TF_CONFIG or --coordinator set by the launcher)
    --role single           the same training in one process, alone
    --role probe-fit        one worker trying Keras' `fit` under the TensorFlow strategy (see --probe-fit)
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

GLOBAL_BATCH = 32
EXAMPLES = 256
FEATURES = 8
CLASSES = 5


def free_ports(count):
    """Ports the OS reports free on 127.0.0.1 (held open together so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports, index):
    return json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
        "task": {"type": "worker", "index": index},
    })


def make_data():
    """Deterministic synthetic classification data: features, integer labels, sample weights."""
    import numpy as np

    rng = np.random.default_rng(7)
    centers = rng.normal(size=(CLASSES, FEATURES)) * 2.0
    labels = rng.integers(0, CLASSES, size=EXAMPLES)
    x = (centers[labels] + rng.normal(size=(EXAMPLES, FEATURES))).astype("float32")
    weights = rng.uniform(0.5, 1.5, size=EXAMPLES).astype("float32")
    return x, labels.astype("int32"), weights


def build_model():
    """The classifier both routes train (logits out, an L2-regularized hidden layer), and its loss."""
    import keras

    import kerasloss

    model = keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(16, activation="tanh", kernel_regularizer=keras.regularizers.L2(1e-3)),
        keras.layers.Dense(CLASSES),
    ])
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1, z_loss=1e-3)
    return model, loss


def train(strategy, log_dir, epochs):
    """The TensorFlow custom loop. Returns the logged epoch values and the post-hoc metrics."""
    import keras
    import tensorflow as tf

    from kerasloss.distribute import CustomLoopLogger

    keras.utils.set_random_seed(3)
    x, y, w = make_data()
    with strategy.scope():
        model, loss = build_model()
        optimizer = keras.optimizers.SGD(0.1)
        logger = CustomLoopLogger(loss, log_dir, entropy=True)

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_data = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(GLOBAL_BATCH).with_options(options)
    held_out = tf.data.Dataset.from_tensor_slices((x[:128], y[:128])).batch(GLOBAL_BATCH)
    held_out = held_out.with_options(options)
    distributed = strategy.experimental_distribute_dataset(train_data)

    @tf.function
    def train_step(features, labels, weights):
        def step(features, labels, weights):
            with tf.GradientTape() as tape:
                logits = model(features, training=True)
                value = loss(labels, logits, sample_weight=weights)
                value += logger.regularization(model.losses, tf.shape(features)[0])
            grads = tape.gradient(value, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

        strategy.run(step, args=(features, labels, weights))

    epochs_logged = []
    for epoch in range(epochs):
        for batch in distributed:
            train_step(*batch)
        epochs_logged.append(logger.write_epoch(epoch))
    posthoc = logger.evaluate_posthoc(
        model, held_out, [keras.metrics.SparseCategoricalAccuracy("accuracy")], epochs - 1
    )
    logger.close()
    return {"epochs": epochs_logged, "posthoc": posthoc, "chief": logger.chief}


def process_share(array, index, processes):
    """The rows of every global batch that process `index` feeds to `fit` (of `processes`).

    Keras' JAX trainer joins the processes' batches in process order into one global batch, so
    process i gives the i-th of `processes` equal slices of each global batch.
    """
    batches = array.reshape(len(array) // GLOBAL_BATCH, processes, GLOBAL_BATCH // processes,
                            *array.shape[1:])
    return batches[:, index].reshape(-1, *array.shape[1:])


def fit_data_parallel(log_dir, epochs, coordinator=None, index=0, processes=2):
    """JAX: Keras' `fit` with the kerasloss metrics and callbacks, over `processes` processes joined
    at `coordinator` (None: one process, no distribution). Returns the epoch values and weights."""
    import keras

    if coordinator is not None:
        keras.distribution.initialize(coordinator, num_processes=processes, process_id=index)
        # NumPy input: each process gives its own share of every global batch (`process_share`)
        keras.distribution.set_distribution(keras.distribution.DataParallel(auto_shard_dataset=False))
    else:
        processes = 1
    import jax
    import numpy as np

    from kerasloss.callbacks import LossComponentLogger, PostHocMetrics, PredictionEntropyLogger
    from kerasloss.distribute import is_chief
    from kerasloss.metrics import loss_components

    keras.utils.set_random_seed(3)
    x, y, w = make_data()
    model, loss = build_model()
    model.compile(keras.optimizers.SGD(0.1), loss=loss, metrics=loss_components(loss, entropy=True))
    # the held-out passes run on every process (they are collective); each gives the whole set
    callbacks = [
        LossComponentLogger(log_dir),
        PredictionEntropyLogger(log_dir, x[:128], from_logits=True, batch_size=GLOBAL_BATCH),
        PostHocMetrics(log_dir, (x[:128], y[:128]), [keras.metrics.SparseCategoricalAccuracy("accuracy")],
                       from_logits=True, batch_size=GLOBAL_BATCH),
    ]
    history = model.fit(
        *(process_share(a, index, processes) for a in (x, y)),
        sample_weight=process_share(w, index, processes), batch_size=GLOBAL_BATCH // processes,
        epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks,
    )
    return {
        "epochs": [{key: values[e] for key, values in history.history.items()} for e in range(epochs)],
        "posthoc": callbacks[2].results,
        "weights": [np.asarray(v).tolist() for v in model.get_weights()],
        "chief": is_chief(),
        "pid": os.getpid(),
        "processes": jax.process_count(),
        "devices": jax.device_count(),
    }


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    # Processes sharing a CPU: small thread pools keep them from starving one another (only
    # possible before TensorFlow starts; a process that already ran TensorFlow keeps its pools).
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(2)
    except RuntimeError:
        pass
    return tf


def run_role(args):
    started = time.monotonic()
    if args.backend == "jax":
        coordinator = args.coordinator if args.role == "worker" else None
        result = fit_data_parallel(args.logdir, args.epochs, coordinator, args.index or 0)
        result["seconds"] = {"total": time.monotonic() - started, "cpu": time.process_time()}
        with open(args.result, "w") as f:
            json.dump(result, f)
        return
    tf = _quiet_tensorflow()
    imported = time.monotonic()
    if args.role == "single":
        result = train(tf.distribute.get_strategy(), args.logdir, args.epochs)
    elif args.role == "worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        result = train(strategy, args.logdir, args.epochs)
        result["replicas"] = strategy.num_replicas_in_sync
    else:
        result = probe_fit(tf)
    result["seconds"] = {"import": imported - started, "total": time.monotonic() - started}
    with open(args.result, "w") as f:
        json.dump(result, f)


def probe_fit(tf):
    """Try Keras' `fit` under MultiWorkerMirroredStrategy; report success or the error."""
    import keras

    import kerasloss
    from kerasloss.metrics import loss_components

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    x, y, _ = make_data()
    try:
        with strategy.scope():
            model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(CLASSES)])
            loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
            model.compile("sgd", loss=loss, metrics=loss_components(loss))
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
        history = model.fit(data, epochs=1, verbose=0)
        return {"fit_works": True, "history": history.history}
    except Exception as error:  # the point of the probe is to report any failure
        message = str(error)
        if len(message) > 600:
            message = message[:300] + " ... " + message[-300:]
        return {"fit_works": False, "error": f"{type(error).__name__}: {message}"}


def _spawn(role, log_dir, result, epochs, env_extra=None, index=None, extra_args=()):
    env = dict(os.environ, **(env_extra or {}))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = [sys.executable, os.path.abspath(__file__), "--role", role, "--logdir", log_dir,
               "--result", result, "--epochs", str(epochs), *extra_args]
    if index is not None:
        command += ["--index", str(index)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait(processes, timeout):
    deadline = time.monotonic() + timeout
    outputs = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            for p in processes:
                if p.poll() is None:
                    p.kill()
            raise RuntimeError(f"a worker did not finish within {timeout} s")
        outputs.append(out.decode(errors="replace"))
        if process.returncode != 0:
            raise RuntimeError(f"worker exited with {process.returncode}:\n{outputs[-1][-3000:]}")
    return outputs


def max_relative_difference(a_epochs, b_epochs):
    worst = 0.0
    for a, b in zip(a_epochs, b_epochs):
        for tag in a:
            worst = max(worst, abs(a[tag] - b[tag]) / max(abs(b[tag]), 1e-12))
    return worst


def launch(log_dir, epochs, timeout=120.0, probe=False, backend="tensorflow"):
    """Run both workers, and meanwhile the single-worker comparison.

    Returns every role's results, the wall time and the largest relative difference between the
    chief's epoch values and the single worker's.
    """
    if backend == "jax":
        return _launch_jax(log_dir, epochs, timeout)
    scratch = tempfile.mkdtemp(prefix="kerasloss_mw_")
    ports = free_ports(2)
    started = time.monotonic()
    role = "probe-fit" if probe else "worker"
    processes = [
        _spawn(role, log_dir, os.path.join(scratch, f"worker{i}.json"), epochs,
               {"TF_CONFIG": tf_config(ports, i)}, index=i)
        for i in range(2)
    ]
    results = {"scratch": scratch}
    try:
        if not probe:
            # the comparison logs to scratch: the user's log_dir only ever holds the chief's files
            tf = _quiet_tensorflow()
            results["single"] = train(tf.distribute.get_strategy(),
                                      os.path.join(scratch, "single_logs"), epochs)
    finally:
        _wait(processes, max(timeout - (time.monotonic() - started), 1.0))
    results["wall_seconds"] = time.monotonic() - started
    for i in range(2):
        with open(os.path.join(scratch, f"worker{i}.json")) as f:
            results[f"worker{i}"] = json.load(f)
    if not probe:
        results["max_relative_difference"] = max_relative_difference(
            results["worker0"]["epochs"], results["single"]["epochs"]
        )
    return results


def _launch_jax(log_dir, epochs, timeout):
    """The JAX route: two processes joined at a free coordinator port, and a single process."""
    import numpy as np

    scratch = tempfile.mkdtemp(prefix="kerasloss_mw_jax_")
    coordinator = f"127.0.0.1:{free_ports(1)[0]}"
    started = time.monotonic()
    jax_env = {"KERAS_BACKEND": "jax"}
    roles = [("worker0", "worker", log_dir, 0), ("worker1", "worker", log_dir, 1),
             # the comparison logs to scratch: the user's log_dir only ever holds the chief's files
             ("single", "single", os.path.join(scratch, "single_logs"), None)]
    processes = [
        _spawn(role, role_log_dir, os.path.join(scratch, f"{name}.json"), epochs, jax_env, index,
               ["--backend", "jax", "--coordinator", coordinator])
        for name, role, role_log_dir, index in roles
    ]
    _wait(processes, timeout)
    results = {"scratch": scratch, "wall_seconds": time.monotonic() - started}
    for name, *_ in roles:
        with open(os.path.join(scratch, f"{name}.json")) as f:
            results[name] = json.load(f)
    results["max_relative_difference"] = max_relative_difference(
        results["worker0"]["epochs"], results["single"]["epochs"]
    )
    results["max_weight_difference"] = max(
        float(np.max(np.abs(np.subtract(a, b))))
        for a, b in zip(results["worker0"]["weights"], results["single"]["weights"])
    )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="runs/multi_worker")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow",
                        help="tensorflow: custom loop under MultiWorkerMirroredStrategy; "
                             "jax: Keras' fit under keras.distribution.DataParallel")
    parser.add_argument("--role", choices=["launch", "worker", "single", "probe-fit"], default="launch")
    parser.add_argument("--index", type=int, default=None)
    parser.add_argument("--result", default=None, help="(internal) where a role writes its JSON")
    parser.add_argument("--coordinator", default=None, help="(internal) JAX: process 0's address")
    parser.add_argument("--json", default=None, help="also write the launcher's results here")
    parser.add_argument("--probe-fit", action="store_true",
                        help="instead: check whether Keras' fit runs under the strategy")
    args = parser.parse_args()
    if args.role != "launch":
        run_role(args)
        return
    if args.probe_fit and args.backend != "tensorflow":
        parser.error("--probe-fit checks the TensorFlow strategy: use it without --backend jax")
    results = launch(args.logdir, args.epochs, probe=args.probe_fit, backend=args.backend)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f)
    if args.probe_fit:
        print(json.dumps({k: results[k] for k in ("worker0", "worker1")}, indent=1))
        return
    route = "JAX fit, DataParallel" if args.backend == "jax" else "TensorFlow custom loop"
    print(f"{route}: 2 workers x 1 replica, global batch {GLOBAL_BATCH}, {args.epochs} epochs "
          f"({results['wall_seconds']:.1f} s). Logs (chief only): {args.logdir}")
    for epoch, (multi, single) in enumerate(zip(results["worker0"]["epochs"],
                                                results["single"]["epochs"])):
        for tag in multi:
            print(f"epoch {epoch}  {tag:28s} multi-worker {multi[tag]:.6f}  single {single[tag]:.6f}")
    print(f"post-hoc: {results['worker0']['posthoc']}  single: {results['single']['posthoc']}")
    print(f"max relative difference, multi-worker vs single worker: "
          f"{results['max_relative_difference']:.2e}")
    if "max_weight_difference" in results:
        print(f"max absolute difference of the final weights: {results['max_weight_difference']:.2e}")


if __name__ == "__main__":
    main()
