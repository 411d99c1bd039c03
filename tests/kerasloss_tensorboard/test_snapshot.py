"""`Snapshot`: a log directory read once with TensorBoard's ingestion; scalars decoded as TensorBoard decodes them."""

import os
import shutil

import numpy as np
import pytest
from tensorboard import context
from tensorboard.backend.event_processing import data_provider
from tensorboard.util import tensor_util

from kerasloss_tensorboard.snapshot import Snapshot, scalar_value
from tests.kerasloss_tensorboard.test_report import logged  # noqa: F401  (the fixture)

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.float16])
@pytest.mark.parametrize("value", [0.1, -3.25e-7, 1e30, float("nan"), float("inf")])
def test_scalar_value_is_make_ndarray_item(value, dtype):
    with np.errstate(over="ignore", invalid="ignore"):
        array = np.asarray(value).astype(dtype) if np.isfinite(value) or dtype != np.int64 else np.asarray(7)
    for proto in (tensor_util.make_tensor_proto(array), tensor_util.make_tensor_proto(array.reshape(()))):
        expected = tensor_util.make_ndarray(proto).item()
        got = scalar_value(proto)
        assert type(got) is type(expected)
        assert got == expected or (np.isnan(got) and np.isnan(expected))


def test_scalar_value_reads_tensor_content_and_non_scalars_as_tensorboard_does():
    proto = tensor_util.make_tensor_proto(np.float32(0.3))
    proto.tensor_content, proto.float_val[:] = np.float32(0.3).tobytes(), []
    assert scalar_value(proto) == tensor_util.make_ndarray(proto).item() == float(np.float32(0.3))
    one = tensor_util.make_tensor_proto(np.array([2.5], np.float32))
    assert scalar_value(one) == 2.5


@pytest.fixture
def without_data_server(monkeypatch, tmp_path):
    """TensorBoard's data server made unavailable (TensorBoard's own variable naming its binary)."""
    monkeypatch.setenv("TENSORBOARD_DATA_SERVER_BINARY", str(tmp_path / "no-such-binary"))


def _children():
    """Our child processes' command lines."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid():
            found.append(command)
    return found


def _routes(snapshot):
    names = [group["name"] for group in snapshot.groups]
    return [snapshot.get("/groups"), snapshot.get("/calibration")] + [
        snapshot.get(route, name=name) for name in names for route in ("/group", "/ledger")]


def test_the_data_server_and_the_python_ingester_answer_every_route_alike(logged, monkeypatch, tmp_path):  # noqa: F811
    served = Snapshot(logged)
    assert served.reader == "data server"
    monkeypatch.setenv("TENSORBOARD_DATA_SERVER_BINARY", str(tmp_path / "no-such-binary"))
    ingested = Snapshot(logged)
    assert ingested.reader == "python"
    assert _routes(served) == _routes(ingested)


def test_a_data_server_that_dies_leaves_the_python_ingester_reading(logged, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TENSORBOARD_DATA_SERVER_BINARY", shutil.which("false"))
    snapshot = Snapshot(logged)
    assert snapshot.reader == "python" and snapshot.groups


def test_closing_a_snapshot_stops_its_data_server(logged):  # noqa: F811
    snapshot = Snapshot(logged)
    assert any("--logdir" in command for command in _children())
    snapshot.close()
    assert not any("--logdir" in command for command in _children())


def test_every_scalar_the_routes_read_equals_tensorboards_own_provider(logged, without_data_server):  # noqa: F811
    snapshot = Snapshot(logged)
    fast = snapshot.plugin._provider
    own = data_provider.MultiplexerDataProvider(fast._provider._multiplexer, snapshot.logdir)
    kwargs = {"ctx": context.RequestContext(), "experiment_id": "", "plugin_name": "scalars"}
    ours, theirs = fast.read_scalars(**kwargs, downsample=10_000), own.read_scalars(**kwargs, downsample=10_000)
    assert ours.keys() == theirs.keys() and sum(len(tags) for tags in ours.values()) > 10
    for run, tags in theirs.items():
        for tag, points in tags.items():
            assert ours[run][tag] == points
