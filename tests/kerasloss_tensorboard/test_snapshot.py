"""`Snapshot`: a log directory read once with TensorBoard's ingestion; scalars decoded as TensorBoard decodes them."""

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


def test_every_scalar_the_routes_read_equals_tensorboards_own_provider(logged):  # noqa: F811
    snapshot = Snapshot(logged)
    fast = snapshot.plugin._provider
    own = data_provider.MultiplexerDataProvider(fast._provider._multiplexer, snapshot.logdir)
    kwargs = {"ctx": context.RequestContext(), "experiment_id": "", "plugin_name": "scalars"}
    ours, theirs = fast.read_scalars(**kwargs, downsample=10_000), own.read_scalars(**kwargs, downsample=10_000)
    assert ours.keys() == theirs.keys() and sum(len(tags) for tags in ours.values()) > 10
    for run, tags in theirs.items():
        for tag, points in tags.items():
            assert ours[run][tag] == points
