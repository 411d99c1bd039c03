"""Logging and reading kerasloss runs with no TensorFlow: a fit with LossMonitor (and a resumed one,
which rewrites its event files), its logs read back.

`make test-without-tensorflow` runs this in a virtualenv where TensorFlow is not installed
(`pip install "kerasloss[jax]"`). In the main virtualenv the same script runs with `import
tensorflow` made to fail, so that any import of it on this path fails the test there too.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SCRIPT = textwrap.dedent("""
    import json, sys

    sys.modules["tensorflow"] = None  # Python's own "not installed": import fails, find_spec gives None
    import keras
    import numpy as np
    import kerasloss
    from kerasloss.callbacks import LossMonitor
    from kerasloss_tensorboard import report, summary
    from kerasloss_tensorboard.snapshot import Snapshot

    log_dir = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.integers(0, 3, size=64)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", loss=loss, metrics=kerasloss.metrics.loss_components(loss))
    for initial_epoch, epochs in ((0, 2), (1, 3)):  # the second fit resumes: epoch 1's values are rewritten
        monitor = LossMonitor(log_dir, validation_data=(x, y), metrics=["accuracy"])
        model.fit(x, y, initial_epoch=initial_epoch, epochs=epochs, batch_size=16, verbose=0,
                  validation_data=(x, y), callbacks=[monitor])
    snapshot = Snapshot(log_dir)
    steps = [step for step, _ in snapshot.get("/group", name="")["metrics"]["metrics/accuracy"]]
    print(json.dumps({"rows": summary.rows(snapshot), "report_bytes": len(report.render(snapshot)), "steps": steps,
                      "tensorflow": sorted(m for m, module in sys.modules.items()
                                        if m.split(".")[0] == "tensorflow" and module is not None)}))
""")


@pytest.mark.backends("jax", "torch")
def test_a_fit_logs_and_its_logs_are_read_back_without_tensorflow(tmp_path):
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path / "run")], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["tensorflow"] == []
    entry, = result["rows"]
    assert entry["last_epoch"] == 2 and result["steps"] == [0, 1, 2]  # one value a step after the resumed fit
    assert set(entry["loss_total"]) == {"train", "validation"}
    assert set(entry["shares"]) == {"cross_entropy", "uniform_cross_entropy"}
    assert set(entry["posthoc"]) == {"metrics/accuracy", "metrics/ece"} and result["report_bytes"] > 0
