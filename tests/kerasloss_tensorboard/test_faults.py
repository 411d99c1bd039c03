"""The tab over logs cut short by real faults: a training process killed with SIGKILL, event files
cut inside a record, a rewrite (a resumed fit) killed half-way. It shows every value written before
the cut, once."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.histogram.summary_v2 import histogram_pb

from kerasloss.callbacks import _files, summaries
from kerasloss_tensorboard import cli
from tests.callbacks.test_faults import ROOT, _finish, _train_until_mid_epoch, diverged_fit
from tests.helpers import tensorboard_reader as tb
from tests.kerasloss_tensorboard.test_plugin import _client, _get

pytestmark = pytest.mark.backend_neutral


def _served(log_dir, run="train", tag="loss/total"):
    """[[step, value]] of `tag` in `run` as the tab's scalars route serves it."""
    client, _ = _client(log_dir)
    return _get(client, f"/scalars?run={run}&tag={tag}")


def _record_offsets(path):
    """The byte offset where each record of the event file `path` starts, and its end."""
    offsets, data = [0], open(path, "rb").read()
    while offsets[-1] < len(data):
        length = int.from_bytes(data[offsets[-1]:offsets[-1] + 8], "little")
        offsets.append(offsets[-1] + 8 + 4 + length + 4)
    assert offsets[-1] == len(data)
    return offsets


def test_a_training_process_killed_by_sigkill_leaves_the_tab_every_epoch_it_logged(tmp_path):
    process, epochs, _ = _train_until_mid_epoch(tmp_path, epochs_done=2)
    assert _finish(process, signal.SIGKILL) == -signal.SIGKILL
    assert [step for step, _ in _served(tmp_path)][: len(epochs)] == epochs
    group = _get(_client(tmp_path)[0], "/group?name=")
    assert group["loss"][0]["runs"]["train"]["steps"][: len(epochs)] == epochs


@pytest.mark.parametrize("record", [-1, -3], ids=["last record", "a middle record"])
@pytest.mark.parametrize("where", [1, 8, 12, 20, -4, -1], ids=lambda w: f"byte {w}")
def test_an_event_file_cut_inside_a_record_shows_every_record_before_the_cut(tmp_path, record, where):
    for step in range(6):
        summaries.write_scalars(tmp_path, summaries.TRAIN, step, {"loss/total": step + 0.5, "loss/ce": 1.0})
    summaries.close(tmp_path)
    path = tmp_path / "train" / tb.event_files(tmp_path, "train")[0]
    offsets = _record_offsets(path)  # record 0 is the file_version event, then one per step
    start, end = offsets[record - 1], offsets[record]
    cut = start + where if where > 0 else end + where
    os.truncate(path, cut)
    kept = [[step, step + 0.5] for step in range(len(offsets) - 2 + record)]
    assert _served(tmp_path) == kept
    assert tb.scalars(tmp_path, "train")["loss/total"] == [tuple(p) for p in kept]
    # our reader: a fit resuming in this log_dir continues after the last whole record
    summaries.close_all()
    assert summaries.open_log_dir(tmp_path).next_epoch == len(kept)


# Rewrites (as a resumed fit's `supersede` does) a log_dir holding one long run, and says when it starts.
REWRITE = textwrap.dedent(
    """
    import sys
    from kerasloss.callbacks import summaries
    log = summaries.open_log_dir(sys.argv[1])
    print("rewriting", flush=True)
    log.supersede(epoch=int(sys.argv[2]), batch=0)
    """
)


def _grown(directory, before):
    """Whether a file not in `before` holds some bytes in `directory` (the rewrite is under way)."""
    new = set(os.listdir(directory)) - before
    return any(os.path.getsize(directory / name) for name in new)


def test_a_process_killed_while_rewriting_its_log_dir_leaves_each_value_once(tmp_path):
    steps = 9_000
    log = summaries.open_log_dir(tmp_path)
    for step in range(steps):  # one event per write: a file long enough to be caught mid-rewrite
        log.write_scalars(summaries.TRAIN, step, {"loss/total": float(step)})
    summaries.close(tmp_path)
    before = set(os.listdir(tmp_path / "train"))
    process = subprocess.Popen([sys.executable, "-c", REWRITE, str(tmp_path), str(steps // 2)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": ROOT})
    try:
        assert process.stdout.readline() == "rewriting\n"
        deadline = time.monotonic() + 60
        while not _grown(tmp_path / "train", before):
            assert process.poll() is None and time.monotonic() < deadline, "the rewrite ended before it was seen"
            time.sleep(0.001)
    finally:
        assert _finish(process, signal.SIGKILL) == -signal.SIGKILL
    served = [step for step, _ in _served(tmp_path)]  # a reservoir sample: increasing, the last kept
    assert served == sorted(set(served)) and served[-1] == steps - 1
    assert [step for step, _ in tb.scalars(tmp_path, "train")["loss/total"]] == list(range(steps))


def test_a_run_that_diverged_to_nan_is_served_summarized_and_reported(tmp_path, capsys):
    diverged_fit(tmp_path / "nan")
    # a histogram of NaN (NaN bucket edges), as written by kerasloss before it left such values out
    event = event_pb2.Event(step=3, summary=histogram_pb("entropy/per_example", np.array([np.nan], np.float32)))
    with open(tmp_path / "nan" / "validation" / "events.out.tfevents.0.nan-histogram", "wb") as f:
        f.write(_files.tf_record(event.SerializeToString()))
    client, _ = _client(tmp_path)
    for path in ["/groups", "/ledger?name=nan", "/calibration?name=nan"]:
        _get(client, path)
    histograms = _get(client, "/group?name=nan")["histograms"]["validation"]["entropy/per_example"]
    # kerasloss' own (no finite entropy: TensorBoard's empty histogram, zeros); the NaN one: no bucket
    assert {h["step"]: len(h["buckets"]) for h in histograms} == {0: 30, 1: 30, 2: 30, 3: 0}
    assert all(np.isfinite(h["buckets"]).all() for h in histograms)
    assert cli.main(["summary", str(tmp_path), "--format", "json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["loss_total"] == {"train": None, "validation": None}
    assert cli.main(["report", str(tmp_path), "-o", str(tmp_path / "report.html")]) == 0
